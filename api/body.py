"""Read and validate a JSON request body after authentication, as an OpenAI-style error on failure.

The size limit holds while reading (chunked bodies included): nothing past it is kept, so
memory stays flat whatever a client sends. The JSON is then bounded (`json_guard`) before
any model sees it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from litellm_claude.jobs import errors
from litellm_claude.openai_compat.errors import ApiError, from_validation_errors
from litellm_claude.openai_compat.json_guard import check_json, load_json

M = TypeVar("M", bound=BaseModel)
# After the limit, up to this much more is read and thrown away so the client, still sending,
# can read the 413 on a connection that stays usable; past it the connection is closed.
DRAIN_BYTES = 64 * 1024 * 1024


def body_too_large(max_bytes: int) -> ApiError:
    return ApiError.of(errors.REQUEST_TOO_LARGE, max_bytes=max_bytes)


async def read_body(
    request: Request, max_bytes: int, too_large: Callable[[], ApiError] | None = None
) -> bytes:
    """The raw body, or `too_large()` (default: a 413) as soon as it passes `max_bytes`."""
    declared = request.headers.get("content-length", "")
    over = declared.isdigit() and int(declared) > max_bytes
    stream = aiter(request.stream())
    chunks: list[bytes] = []
    size = 0
    try:
        if not over:
            async for chunk in stream:
                size += len(chunk)
                if size > max_bytes:
                    over = True
                    break
                chunks.append(chunk)
        if not over:
            return b"".join(chunks)
        chunks.clear()
        error = too_large() if too_large else body_too_large(max_bytes)
        error.close_connection = not await _drain(stream, declared)
    except ClientDisconnect:
        raise ApiError.of(errors.BODY_INTERRUPTED) from None
    raise error


async def _drain(stream: AsyncIterator[bytes], declared: str) -> bool:
    """Read and discard the rest of the body; False when it is longer than DRAIN_BYTES."""
    if declared.isdigit() and int(declared) > DRAIN_BYTES:
        return False
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > DRAIN_BYTES:
            return False
    return True


async def parse_body(request: Request, model: type[M], *, max_bytes: int) -> M:
    data = load_json(await read_body(request, max_bytes))
    if not isinstance(data, dict):
        raise ApiError.of(errors.NOT_A_JSON_OBJECT)
    check_json(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_errors(exc.errors()) from None
