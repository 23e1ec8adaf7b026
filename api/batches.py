"""`POST /v1/jobs/batch` and `GET /v1/jobs/batch/{id}`: many completion jobs at bulk priority.

Malformed requests are reported per item (index + OpenAI-style error) and the rest
are accepted; all accepted jobs, their queue entries and the batch record are
written in one MULTI/EXEC (`batches.job_batch`), so once the 202 is sent every job is in Redis.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from litellm_claude.api.auth import require_api_key
from litellm_claude.api.body import parse_body
from litellm_claude.api.deps import accepting, check_capacity, redis_of, settings_of
from litellm_claude.api.openapi_bodies import json_body
from litellm_claude.batches import job_batch
from litellm_claude.batches.items import BatchRecord, build_items, item_states, new_batch
from litellm_claude.jobs import errors
from litellm_claude.openai_compat.errors import ApiError
from litellm_claude.openai_compat.request import owner_of

router = APIRouter()


class BatchBody(BaseModel):
    requests: list[Any] = Field(min_length=1)
    metadata: dict[str, str] | None = None


@router.post("/v1/jobs/batch", status_code=202, openapi_extra=json_body(BatchBody))
async def create_batch(request: Request, api_key: str | None = Depends(require_api_key)) -> JSONResponse:
    settings = settings_of(request)
    body = await parse_body(request, BatchBody, max_bytes=settings.max_body_bytes)
    if len(body.requests) > settings.max_batch_size:
        raise ApiError.of(
            errors.BATCH_TOO_LARGE, param="requests", limit=settings.max_batch_size, size=len(body.requests)
        )
    batch_id = f"jbatch_{uuid.uuid4().hex}"
    created, items = build_items(body.requests, settings=settings, api_key=api_key, batch_id=batch_id)
    await check_capacity(request, len(created))
    batch = new_batch(BatchRecord, batch_id, owner_of(api_key), items, body.metadata, settings)
    redis = redis_of(request)
    async with accepting(request) as conn:
        await job_batch.accept(conn, batch, created, settings)
    await job_batch.index(redis, batch, settings)
    return JSONResponse(job_batch.batch_view(batch, await item_states(redis, batch)), status_code=202)


@router.get("/v1/jobs/batch/{batch_id}")
async def get_batch(
    batch_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    redis = redis_of(request)
    batch = await job_batch.load(redis, batch_id, owner_of(api_key))
    if batch is None:
        ttl = settings_of(request).result_ttl_s
        raise ApiError.of(errors.JOB_BATCH_NOT_FOUND, param="batch_id", batch_id=batch_id, ttl=ttl)
    return JSONResponse(job_batch.batch_view(batch, await item_states(redis, batch)))
