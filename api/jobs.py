"""Async jobs: `POST /v1/jobs`, `GET /v1/jobs` (the caller's, newest first), `GET /v1/jobs/{id}`,
its event stream, `DELETE /v1/jobs/{id}`.

The body of `POST /v1/jobs` is a chat completion body (plus optional `metadata`),
run at bulk priority; the caller polls or streams the job's events instead of
holding a connection open. A job belongs to the API key that created it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from redis.asyncio import Redis

from litellm_claude.api.auth import require_api_key
from litellm_claude.api.body import parse_body
from litellm_claude.api.deps import accepting, check_capacity, owned_record, redis_of, settings_of
from litellm_claude.api.openapi_bodies import json_body
from litellm_claude.api.sse import KEEPALIVE, frame
from litellm_claude.jobs import cancel, errors, follow, records
from litellm_claude.jobs.contract import ErrorEvent, encode_event
from litellm_claude.jobs.keys import idempotency
from litellm_claude.jobs.records import JobRecord
from litellm_claude.jobs.redis_down import is_redis_down, redis_unavailable_error
from litellm_claude.jobs.status import observe
from litellm_claude.openai_compat.errors import ApiError, invalid_request
from litellm_claude.openai_compat.job_body import JobBody
from litellm_claude.openai_compat.job_view import job_view
from litellm_claude.openai_compat.request import build_job, owner_of

router = APIRouter()
MAX_IDEMPOTENCY_KEY = 255
CANCEL_WAIT_S = 5.0
KEEPALIVE_MS = 15_000


def request_hash(body: BaseModel) -> str:
    canonical = json.dumps(body.model_dump(mode="json", exclude_unset=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- Routes ---------------------------------------------------------------------------------------


@router.post("/v1/jobs", status_code=202, openapi_extra=json_body(JobBody))
async def create_job(request: Request, api_key: str | None = Depends(require_api_key)) -> JSONResponse:
    settings = settings_of(request)
    body = await parse_body(request, JobBody, max_bytes=settings.max_body_bytes)
    job = build_job(body, settings=settings, api_key=api_key, bulk=True)
    idem = request.headers.get("idempotency-key")
    if idem is not None and not 0 < len(idem) <= MAX_IDEMPOTENCY_KEY:
        raise invalid_request(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.",
            param="Idempotency-Key",
            code="invalid_idempotency_key",
        )
    record = records.new_record(
        job, settings, metadata=body.metadata, idempotency_key=idem, request_hash=request_hash(body)
    )
    redis = redis_of(request)
    if idem is None:
        await check_capacity(request, 1)
        async with accepting(request) as conn:
            await records.commit(conn, [record], settings)
        return await _view_response(redis, record, 202)
    claim = idempotency(job.owner or "anonymous", hashlib.sha256(idem.encode()).hexdigest()[:32])
    existing: bytes | str | None = await redis.get(claim)
    if existing is None:
        await check_capacity(request, 1)
        async with accepting(request) as conn:
            existing = await records.commit_once(conn, record, settings, claim_key=claim)
        if existing is None:
            return await _view_response(redis, record, 202)
    job_id = existing.decode() if isinstance(existing, bytes) else str(existing)
    return await _replay(request, job_id, record, api_key)


async def _replay(request: Request, job_id: str, record: JobRecord, api_key: str | None) -> JSONResponse:
    """The job an earlier request with the same Idempotency-Key created."""
    previous = await owned_record(request, job_id, api_key)
    if previous.request_hash != record.request_hash:
        raise ApiError.of(errors.IDEMPOTENCY_KEY_REUSED, param="Idempotency-Key")
    return await _view_response(redis_of(request), previous, 202, replayed=True)


STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


@router.get("/v1/jobs")
async def list_jobs(
    request: Request,
    limit: int = 20,
    after: str | None = None,
    status: Annotated[list[str] | None, Query()] = None,
    api_key: str | None = Depends(require_api_key),
) -> JSONResponse:
    """The caller's jobs, newest first. `status` may repeat or list several, comma-separated;
    `after` is the `last_id` of the previous page."""
    if not 1 <= limit <= 100:
        raise invalid_request("limit must be between 1 and 100.", param="limit", code="invalid_value")
    wanted = frozenset(s.strip() for value in status or [] for s in value.split(",") if s.strip())
    unknown = sorted(wanted - set(STATUSES))
    if unknown:
        raise invalid_request(
            f"Unknown status {unknown[0]!r}: use one or more of {', '.join(STATUSES)}.",
            param="status",
            code="invalid_value",
        )
    try:
        page, has_more = await records.list_owned(
            redis_of(request), owner_of(api_key), statuses=wanted, after=after, limit=limit
        )
    except records.UnknownCursor:
        raise invalid_request(
            f"No job {after!r} in your list to page after (it may have expired).",
            param="after",
            code="invalid_value",
        ) from None
    data = [job_view(record, state) for record, state in page]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": has_more,
        }
    )


@router.get("/v1/jobs/{job_id}")
async def get_job(
    job_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    record = await owned_record(request, job_id, api_key)
    return await _view_response(redis_of(request), record, 200)


@router.delete("/v1/jobs/{job_id}")
async def cancel_job(
    job_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    record = await owned_record(request, job_id, api_key)
    redis = redis_of(request)
    state = await observe(redis, record.job)
    if state.done:
        raise ApiError.of(errors.JOB_ALREADY_FINISHED, param="job_id", job_id=job_id, status=state.status)
    await cancel.cancel(redis, record.job, state, settings_of(request))
    state = await follow.wait_done(redis, record.job, timeout_s=CANCEL_WAIT_S)
    return JSONResponse(job_view(record, state))


@router.get("/v1/jobs/{job_id}/events", response_model=None)
async def job_events(
    job_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> StreamingResponse:
    """SSE of every event of the job from the start (or after `Last-Event-ID`), ending after the first
    terminal event. Each event carries its Redis stream id as its SSE id."""
    record = await owned_record(request, job_id, api_key)
    after = request.headers.get("last-event-id") or "0-0"
    if not records.STREAM_ID_RE.match(after):
        raise invalid_request(
            "Last-Event-ID must be an event id from this stream.", param="Last-Event-ID", code="invalid_value"
        )
    return StreamingResponse(
        _sse(redis_of(request), record, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "X-Job-Id": job_id},
    )


async def _sse(redis: Redis, record: JobRecord, after: str) -> AsyncIterator[bytes]:
    """The job's events; if Redis goes away meanwhile, an error event (resume later with Last-Event-ID)."""
    try:
        async for entry in follow.recorded_events(redis, record.job, after, idle_ms=KEEPALIVE_MS):
            if entry is None:
                yield KEEPALIVE
                continue
            entry_id, event = entry
            yield frame(encode_event(event), event=event.type, event_id=entry_id)
    except Exception as exc:
        if not is_redis_down(exc):
            raise
        failed = ErrorEvent(error=redis_unavailable_error())
        yield frame(encode_event(failed), event=failed.type)


async def _view_response(
    redis: Redis, record: JobRecord, status: int, *, replayed: bool = False
) -> JSONResponse:
    state = await observe(redis, record.job)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(job_view(record, state), status_code=status, headers=headers)
