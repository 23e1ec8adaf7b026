"""Bearer API keys. With no keys configured the API is open (and only binds to loopback)."""

from __future__ import annotations

import hmac

from fastapi import Request

from litellm_claude.jobs import errors
from litellm_claude.openai_compat.errors import ApiError


def api_key_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


async def require_api_key(request: Request) -> str | None:
    """FastAPI dependency: the caller's key, or 401 in OpenAI's shape."""
    allowed: frozenset[str] = request.app.state.settings.api_key_set
    key = api_key_from(request)
    if not allowed:
        return key
    if key is None:
        raise ApiError.of(errors.MISSING_API_KEY)
    if not any(hmac.compare_digest(key.encode(), k.encode()) for k in allowed):
        raise ApiError.of(errors.INVALID_API_KEY)
    return key


async def require_ops_access(request: Request) -> None:
    """FastAPI dependency for `/metrics` and the docs: a valid key when PROTECT_OPS_ENDPOINTS is on."""
    if request.app.state.settings.protect_ops_endpoints:
        await require_api_key(request)
