"""Our OpenAI-style errors as LiteLLM exceptions, so the proxy answers with the same status."""

from __future__ import annotations

import httpx
import litellm

from litellm_claude.jobs import errors
from litellm_claude.jobs.contract import JobError
from litellm_claude.openai_compat.errors import ApiError

PROVIDER = "claude-code"
_REQUEST = httpx.Request("POST", "http://claude-code.invalid/v1/chat/completions")


def retry_after_headers(retry_after: float | None) -> dict[str, str]:
    if retry_after is None:
        return {}
    return {"retry-after": errors.retry_after_value(retry_after)}


def to_litellm_error(error: ApiError | JobError, *, model: str) -> Exception:
    """The LiteLLM exception for an error of ours; it keeps our type, code, param and retry-after."""
    status, message = error.status, error.message
    headers = retry_after_headers(error.retry_after)
    response = httpx.Response(status, headers=headers, request=_REQUEST)
    exc: Exception
    if status == 429:
        exc = litellm.RateLimitError(message, PROVIDER, model, response=response, headers=headers or None)
    elif status == 401:
        exc = litellm.AuthenticationError(message, PROVIDER, model, response=response)
    elif status in (400, 413, 422):
        exc = litellm.BadRequestError(message, model, PROVIDER, response=response)
    elif status == 404:
        exc = litellm.NotFoundError(message, model, PROVIDER, response=response)
    elif status in (408, 504) or error.type == "timeout_error":
        exc = litellm.Timeout(message, model, PROVIDER, headers=headers or None, exception_status_code=408)
    elif status == 503:
        exc = litellm.ServiceUnavailableError(message, PROVIDER, model, response=response)
    elif status == 502:
        exc = litellm.BadGatewayError(message, PROVIDER, model, response=response)
    elif status == 500:
        exc = litellm.InternalServerError(message, PROVIDER, model, response=response)
    else:
        exc = litellm.APIError(status, message, PROVIDER, model, request=_REQUEST)
    if status == 413:
        exc.status_code = 413  # the same status the HTTP API answers
    # The proxy builds its error body and headers from these attributes.
    for name, value in (("type", error.type), ("code", error.code), ("param", error.param)):
        if value is not None:
            setattr(exc, name, value)
    if headers and not getattr(exc, "headers", None):
        exc.headers = headers  # type: ignore[union-attr]  # not every LiteLLM error declares headers
    return exc


def queue_unavailable(detail: str, *, model: str) -> Exception:
    """Redis (the queue) cannot be reached or is not configured."""
    return to_litellm_error(errors.QUEUE_UNAVAILABLE.error(reason=detail), model=model)
