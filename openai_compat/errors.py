"""OpenAI-style errors: `{"error": {"message", "type", "param", "code"}}` with an HTTP status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litellm_claude.jobs.contract import JobError


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retry_after = retry_after

    @classmethod
    def from_job_error(cls, error: JobError) -> ApiError:
        return cls(
            error.status,
            error.message,
            type=error.type,
            param=error.param,
            code=error.code,
            retry_after=error.retry_after,
        )

    def body(self) -> dict[str, Any]:
        return error_body(self.message, type=self.type, param=self.param, code=self.code)

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, round(self.retry_after)))}


def invalid_request(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def error_body(
    message: str, *, type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def from_validation_errors(errors: Sequence[Any]) -> ApiError:
    """A 400 naming the first offending parameter of a pydantic validation failure."""
    first = dict(errors[0]) if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = _param_path(loc)
    if first.get("type") == "json_invalid":
        return invalid_request("The request body is not valid JSON.", code="invalid_json")
    if not loc and first.get("type") in ("model_type", "model_attributes_type", "dict_type"):
        return invalid_request("The request body must be a JSON object.", code="invalid_json")
    if first.get("type") == "missing":
        return invalid_request(
            f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    detail = str(first.get("msg", "invalid value"))
    message = f"Invalid value for '{param}': {detail}." if param else f"{detail}."
    return invalid_request(message, param=param, code="invalid_value")


def _param_path(loc: list[str]) -> str | None:
    if not loc:
        return None
    out = loc[0]
    for part in loc[1:]:
        out += f"[{part}]" if part.isdigit() else f".{part}"
    return out
