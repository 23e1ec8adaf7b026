"""Server-sent events framing: the one framer of chat, Responses and job event streams."""

from __future__ import annotations

import json
from typing import Any

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keepalive\n\n"


def sse_data(obj: dict[str, Any], *, event: str | None = None) -> bytes:
    """A frame of `obj` as compact JSON (chat chunks; Responses events name their `event:`)."""
    return frame(json.dumps(obj, separators=(",", ":")), event=event)


def frame(data: str, *, event: str | None = None, event_id: str | None = None) -> bytes:
    """One SSE frame: optional `id:` and `event:` lines, then the (single-line) data."""
    head = f"id: {event_id}\n" if event_id else ""
    if event is not None:
        head += f"event: {event}\n"
    return f"{head}data: {data}\n\n".encode()
