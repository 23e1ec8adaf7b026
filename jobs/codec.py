"""JSON serializer for arq. Never pickle: whoever can write to Redis could run code in a worker."""

from __future__ import annotations

import json
from typing import Any


def dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=_default).encode()


def loads(data: bytes) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("arq payload is not a JSON object")
    return value


def _default(obj: object) -> Any:
    # arq stores exceptions as job results; keep them readable, not executable.
    if isinstance(obj, BaseException):
        return {"exception": type(obj).__name__, "message": str(obj)}
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")
