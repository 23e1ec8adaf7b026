"""`POST /v1/jobs/batch` and `GET /v1/jobs/batch/{id}`: many completion jobs at bulk priority.

Malformed requests are reported per item (index + OpenAI-style error) and the rest
are accepted; all accepted jobs, their queue entries and the batch record are
written in one MULTI/EXEC, so once the 202 is sent every job is in Redis.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from litellm_claude.api.auth import require_api_key
from litellm_claude.api.body import parse_body
from litellm_claude.api.jobs import JobBody, accepting, check_capacity, error_object, redis_of, settings_of
from litellm_claude.api.openapi_bodies import json_body
from litellm_claude.config.settings import Settings
from litellm_claude.jobs import errors, keys, records
from litellm_claude.jobs.contract import JobError
from litellm_claude.jobs.records import JobRecord, JobState
from litellm_claude.openai_compat.errors import ApiError, from_validation_errors
from litellm_claude.openai_compat.request import build_job, owner_of
from litellm_claude.openai_compat.response import completion_object
from litellm_claude.telemetry.activity import index_batch

router = APIRouter()
BATCH_ID_RE = re.compile(r"^jbatch_[0-9a-f]{32}$")
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class BatchBody(BaseModel):
    requests: list[Any] = Field(min_length=1)
    metadata: dict[str, str] | None = None


class BatchItem(BaseModel):
    """One request of a batch: the job it became, or why it was rejected."""

    index: int
    custom_id: str | None = None
    job_id: str | None = None
    error: JobError | None = None


class BatchRecord(BaseModel):
    id: str
    owner: str | None
    created: float
    expires_at: float
    metadata: dict[str, str] = Field(default_factory=dict)
    items: list[BatchItem]

    @property
    def job_ids(self) -> list[str]:
        return [item.job_id for item in self.items if item.job_id]


class ItemView(BaseModel):
    index: int
    custom_id: str | None = None
    job_id: str | None = None
    status: str
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class BatchView(BaseModel):
    id: str
    object: Literal["job.batch"] = "job.batch"
    status: Literal["in_progress", "completed"]
    created: int
    expires_at: int
    metadata: dict[str, str]
    total: int
    rejected: int
    counts: dict[str, int]
    progress: float
    items: list[ItemView]


def build_items(
    bodies: Sequence[Any],
    *,
    settings: Settings,
    api_key: str | None,
    batch_id: str,
    custom_ids: Sequence[str | None] | None = None,
) -> tuple[list[JobRecord], list[BatchItem]]:
    """Validate each request body; the valid ones become bulk job records."""
    created: list[JobRecord] = []
    items: list[BatchItem] = []
    for index, raw in enumerate(bodies):
        custom_id = custom_ids[index] if custom_ids else None
        try:
            body = _validate(raw)
            job = build_job(body, settings=settings, api_key=api_key, bulk=True)
        except ApiError as exc:
            items.append(BatchItem(index=index, custom_id=custom_id, error=exc.to_job_error()))
            continue
        record = records.new_record(
            job, settings, metadata=body.metadata, batch_id=batch_id, custom_id=custom_id
        )
        created.append(record)
        items.append(BatchItem(index=index, custom_id=custom_id, job_id=job.id))
    return created, items


def _validate(raw: Any) -> JobBody:
    if not isinstance(raw, dict):
        raise ApiError(400, "Each request must be a JSON object.", code="invalid_json")
    try:
        return JobBody.model_validate(raw)
    except ValidationError as exc:
        raise from_validation_errors(exc.errors()) from None


async def item_states(request: Request, batch: BatchRecord) -> dict[str, tuple[JobRecord, JobState]]:
    """Each accepted job of the batch with its current state (expired records are left out)."""
    redis = redis_of(request)
    loaded = [r for r in await records.load_many(redis, batch.job_ids) if r is not None]
    states = await records.observe_many(redis, loaded)
    return {record.id: (record, state) for record, state in zip(loaded, states, strict=True)}


def batch_view(batch: BatchRecord, jobs: dict[str, tuple[JobRecord, JobState]]) -> dict[str, Any]:
    items: list[ItemView] = []
    for item in batch.items:
        items.append(_item_view(item, jobs.get(item.job_id or "")))
    counts = Counter(i.status for i in items)
    done = sum(counts[s] for s in ("succeeded", "failed", "cancelled"))
    view = BatchView(
        id=batch.id,
        status="completed" if done == len(items) else "in_progress",
        created=int(batch.created),
        expires_at=int(batch.expires_at),
        metadata=batch.metadata,
        total=len(items),
        rejected=sum(1 for i in batch.items if i.error is not None),
        counts={s: counts[s] for s in STATUSES},
        progress=round(done / len(items), 4) if items else 1.0,
        items=items,
    )
    return view.model_dump(mode="json")


def _item_view(item: BatchItem, job: tuple[JobRecord, JobState] | None) -> ItemView:
    base: dict[str, Any] = {"index": item.index, "custom_id": item.custom_id, "job_id": item.job_id}
    if item.error is not None:
        return ItemView(**base, status="failed", error=error_object(item.error))
    if job is None:
        return ItemView(**base, status="failed", error=error_object(errors.BATCH_JOB_EXPIRED.error()))
    record, state = job
    return ItemView(
        **base,
        status=state.status,
        result=completion_object(record.job, state.result) if state.result else None,
        error=error_object(state.error) if state.error else None,
    )


async def load_batch(request: Request, batch_id: str, api_key: str | None) -> BatchRecord:
    if BATCH_ID_RE.match(batch_id):
        raw = await redis_of(request).get(keys.batch(batch_id))
        if raw is not None:
            batch = BatchRecord.model_validate_json(raw)
            if batch.owner == owner_of(api_key):
                return batch
    ttl = settings_of(request).result_ttl_s
    raise ApiError(
        404,
        f"No batch with id {batch_id!r} (batches are kept for {ttl} seconds after submission).",
        param="batch_id",
        code="batch_not_found",
    )


@router.post("/v1/jobs/batch", status_code=202, openapi_extra=json_body(BatchBody))
async def create_batch(request: Request, api_key: str | None = Depends(require_api_key)) -> JSONResponse:
    settings = settings_of(request)
    body = await parse_body(request, BatchBody, max_bytes=settings.max_body_bytes)
    if len(body.requests) > settings.max_batch_size:
        raise ApiError(
            413,
            f"A batch holds at most {settings.max_batch_size} requests; this one has {len(body.requests)}.",
            param="requests",
            code="batch_too_large",
        )
    batch_id = f"jbatch_{uuid.uuid4().hex}"
    created, items = build_items(body.requests, settings=settings, api_key=api_key, batch_id=batch_id)
    await check_capacity(request, len(created))
    now = time.time()
    batch = BatchRecord(
        id=batch_id,
        owner=owner_of(api_key),
        created=now,
        expires_at=now + settings.result_ttl_s,
        metadata=body.metadata or {},
        items=items,
    )
    extra = [(keys.batch(batch_id), batch.model_dump_json(exclude_none=True))]
    async with accepting(request) as conn:
        await records.commit(conn, created, settings, extra=extra)
    await index_batch(redis_of(request), settings.queue_name, batch.id, now, settings.result_ttl_s)
    return JSONResponse(batch_view(batch, await item_states(request, batch)), status_code=202)


@router.get("/v1/jobs/batch/{batch_id}")
async def get_batch(
    batch_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    batch = await load_batch(request, batch_id, api_key)
    return JSONResponse(batch_view(batch, await item_states(request, batch)))
