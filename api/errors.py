"""Every failure as `{"error": {"message", "type", "param", "code"}}` with the right status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from litellm_claude.jobs.flow import JobFailed
from litellm_claude.openai_compat.errors import ApiError, error_body, from_validation_errors

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(JobFailed, _job_failed)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())


async def _job_failed(request: Request, exc: JobFailed) -> JSONResponse:
    return await _api_error(request, ApiError.from_job_error(exc.error))


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    error = from_validation_errors(exc.errors())
    return JSONResponse(error.body(), status_code=error.status)


async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
    kind = "invalid_request_error" if exc.status_code < 500 else "api_error"
    code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(exc.status_code)
    return JSONResponse(error_body(str(exc.detail), type=kind, code=code), status_code=exc.status_code)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(
        error_body("The server had an internal error.", type="api_error", code="internal_error"),
        status_code=500,
    )
