"""Read and validate a JSON request body after authentication, as an OpenAI-style 400 on failure."""

from __future__ import annotations

import json
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from litellm_claude.openai_compat.errors import ApiError, from_validation_errors, invalid_request

M = TypeVar("M", bound=BaseModel)


async def parse_body(request: Request, model: type[M], *, max_bytes: int) -> M:
    raw = await request.body()
    if len(raw) > max_bytes:
        raise ApiError(413, "The request body is too large.", code="request_too_large")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid_request("The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(data, dict):
        raise invalid_request("The request body must be a JSON object.", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_errors(exc.errors()) from None
