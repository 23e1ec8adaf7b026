"""OpenAI-style errors: `{"error": {"message", "type", "param", "code"}}` with an HTTP status."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from litellm_claude.jobs import errors
from litellm_claude.jobs.contract import JobError

# Pydantic names the member of a union a value failed as (`str`, `list[dict[str,any]]`): not a parameter.
_UNION_TAG = re.compile(r"^(str|int|float|bool|none|list\[.*\]|dict\[.*\]|function-\w+\[.*\])$")


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
        self.close_connection = False  # set when the rest of the request was left unread

    @classmethod
    def of(cls, entry: errors.ErrorCode, *, param: str | None = None, **fields: Any) -> ApiError:
        """The catalogue's error for `entry`, to raise."""
        return cls.from_job_error(entry.error(param=param, **fields))

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

    def to_job_error(self) -> JobError:
        return JobError(
            type=self.type,
            message=self.message,
            status=self.status,
            code=self.code,
            param=self.param,
            retry_after=self.retry_after,
        )

    def body(self) -> dict[str, Any]:
        return errors.error_body(self.to_job_error())

    def headers(self) -> dict[str, str]:
        headers = {"Connection": "close"} if self.close_connection else {}
        if self.retry_after is not None:
            headers["Retry-After"] = errors.retry_after_value(self.retry_after)
        return headers


def unsupported_endpoint(kind: str, *, status: int = 404) -> ApiError:
    """A kind of request (embeddings, images, audio, ...) this gateway does not serve, said plainly."""
    return ApiError(
        status,
        f"This gateway does not serve {kind}: it serves Claude chat completions (also as the Responses, "
        "Batch and async jobs APIs) through the Claude Code CLI. Send {kind} requests to a provider "
        "that offers them.".replace("{kind}", kind),
        code="unsupported_endpoint",
    )


def invalid_request(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def from_validation_errors(problems: Sequence[Any]) -> ApiError:
    """A 400 naming the first offending parameter of a pydantic validation failure."""
    first = dict(problems[0]) if problems else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body" and not _UNION_TAG.match(str(p))]
    param = _param_path(loc)
    if first.get("type") == "json_invalid":
        return ApiError.of(errors.INVALID_JSON)
    if not loc and first.get("type") in ("model_type", "model_attributes_type", "dict_type"):
        return ApiError.of(errors.NOT_A_JSON_OBJECT)
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
