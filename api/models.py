"""`GET /v1/models`: the aliases and the dated names mapped onto them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from litellm_claude.api.auth import require_api_key
from litellm_claude.config.models import list_model_ids, resolve_model
from litellm_claude.jobs import errors
from litellm_claude.openai_compat.errors import ApiError

router = APIRouter(dependencies=[Depends(require_api_key)])
CREATED = 1_700_000_000


def _model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": CREATED, "owned_by": "anthropic"}


@router.get("/v1/models")
async def list_models() -> dict[str, Any]:
    return {"object": "list", "data": [_model_object(m) for m in list_model_ids()]}


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str) -> dict[str, Any]:
    try:
        resolve_model(model_id)
    except LookupError:
        raise ApiError.of(errors.MODEL_NOT_FOUND, param="model", model=model_id) from None
    return _model_object(model_id)
