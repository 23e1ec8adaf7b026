"""Every failure as `{"error": {"message", "type", "param", "code"}}` with the right status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from litellm_claude.jobs import errors
from litellm_claude.jobs.flow import JobFailed
from litellm_claude.jobs.redis_down import is_redis_down, redis_unavailable_error
from litellm_claude.jobs.replicated import NotReplicated
from litellm_claude.openai_compat.errors import ApiError, from_validation_errors

log = logging.getLogger(__name__)
# Starlette's own HTTP errors (unknown route, wrong method, body too large): their code by status.
_HTTP_CODES = {
    404: errors.NOT_FOUND.code,
    405: errors.METHOD_NOT_ALLOWED.code,
    413: errors.REQUEST_TOO_LARGE.code,
}


def install_error_handlers(app: FastAPI) -> None:
    # Starlette types a handler as taking any Exception; each of these takes the class it is registered for.
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(JobFailed, _job_failed)  # type: ignore[arg-type]
    app.add_exception_handler(NotReplicated, _job_failed)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RedisError, _redis_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)  # only reached if UnexpectedErrors is not installed


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())


async def _job_failed(request: Request, exc: JobFailed | NotReplicated) -> JSONResponse:
    return await _api_error(request, ApiError.from_job_error(exc.error))


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    error = from_validation_errors(exc.errors())
    return JSONResponse(error.body(), status_code=error.status)


async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
    kind = "invalid_request_error" if exc.status_code < 500 else "api_error"
    error = ApiError(exc.status_code, str(exc.detail), type=kind, code=_HTTP_CODES.get(exc.status_code))
    return JSONResponse(error.body(), status_code=exc.status_code)


async def _redis_error(request: Request, exc: RedisError) -> JSONResponse:
    """Redis away (restart, failover): 503 + Retry-After; any other Redis error is a bug (500)."""
    if is_redis_down(exc):
        log.warning("Redis unavailable for %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return await _api_error(request, ApiError.from_job_error(redis_unavailable_error()))
    return _unexpected(request, exc)


def _unexpected(_: Request | None, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    error = errors.INTERNAL_ERROR.error()
    return JSONResponse(errors.error_body(error), status_code=error.status)


class UnexpectedErrors:
    """Answer an unhandled exception with a 500 OpenAI error as an ordinary response.

    Starlette's own last-resort handler re-raises after answering, and the server then drops
    the connection: a keep-alive client's next request on it would fail. Here the 500 is a
    normal response (unless the response had already started), so the connection stays usable.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            await _unexpected(None, exc)(scope, receive, send)
