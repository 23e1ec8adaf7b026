"""Parse a JSON request body and bound what it may hold, before any model or validator sees it.

Refused with a 400 naming the parameter: nesting deeper than `MAX_JSON_DEPTH`,
`NaN`/`Infinity` (not JSON), lone UTF-16 surrogates (not Unicode: nothing
downstream can encode them) and NUL characters (a CLI argument cannot hold one).
The walk is iterative, so no body can exhaust the interpreter's recursion limit.
"""

from __future__ import annotations

import json
import re
from typing import Any

from litellm_claude.jobs import errors
from litellm_claude.openai_compat.errors import ApiError, invalid_request

MAX_JSON_DEPTH = 100
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")
_MAX_KEY_IN_PARAM = 64
_MAX_PARAM = 120
_TOP = re.compile(r"[.\[]")


def load_json(raw: bytes | str) -> Any:
    """The parsed body; a 400 `invalid_json` for anything that is not strict JSON."""
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise too_deep(None, MAX_JSON_DEPTH) from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError.of(errors.INVALID_JSON) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def check_json(
    data: Any, *, max_depth: int = MAX_JSON_DEPTH, prefix: str | None = None, what: str = "The request"
) -> None:
    """Raise a 400 for nesting past `max_depth` or a string holding NUL or a lone surrogate.

    `prefix` is the parameter `data` sits at; `what` names it in the depth error.
    """
    stack: list[tuple[Any, str | None, int]] = [(data, prefix, 1)]
    while stack:
        node, param, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node, param)
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > max_depth:
            raise too_deep(param, max_depth, what=what)
        if isinstance(node, list):
            stack.extend((value, f"{param or ''}[{i}]", depth + 1) for i, value in enumerate(node))
            continue
        for key, value in node.items():
            _check_text(key, param, key=True)
            child = key if len(key) <= _MAX_KEY_IN_PARAM else key[:_MAX_KEY_IN_PARAM] + "..."
            stack.append((value, f"{param}.{child}" if param else child, depth + 1))


def too_deep(path: str | None, limit: int, *, what: str = "The request") -> ApiError:
    """The depth error: `param` is the top-level parameter, the message shows where it went deep."""
    where = ""
    if path:
        shown = path if len(path) <= _MAX_PARAM else path[:_MAX_PARAM] + "..."
        where = f" at '{shown}'"
    return invalid_request(
        f"{what} nests JSON more than {limit} levels deep{where}; at most {limit} levels are accepted.",
        param=_TOP.split(path, 1)[0] if path else None,
        code="json_too_deep",
    )


def _check_text(text: str, param: str | None, *, key: bool = False) -> None:
    match = _BAD_CHAR.search(text)
    if match is None:
        return
    what = "a NUL character" if match.group() == "\x00" else "a lone UTF-16 surrogate (not valid Unicode)"
    name = f"a key of '{param}'" if key and param else ("a key" if key else f"'{param}'")
    raise invalid_request(
        f"Invalid value for {name}: the text contains {what}.", param=param, code="invalid_characters"
    )
