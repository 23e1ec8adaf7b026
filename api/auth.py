"""Bearer API keys. With no keys configured the API is open (and only binds to loopback)."""

from __future__ import annotations

import hmac

from fastapi import Request

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
        raise ApiError(
            401,
            "You didn't provide an API key. Send it as `Authorization: Bearer <key>`.",
            type="invalid_request_error",
            code="missing_api_key",
        )
    if not any(hmac.compare_digest(key.encode(), k.encode()) for k in allowed):
        raise ApiError(
            401, "Incorrect API key provided.", type="invalid_request_error", code="invalid_api_key"
        )
    return key
