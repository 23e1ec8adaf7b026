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
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, field_validator
from redis.asyncio import Redis

from litellm_claude.api.auth import require_api_key
from litellm_claude.api.body import parse_body
from litellm_claude.api.openapi_bodies import json_body
from litellm_claude.config.settings import Settings
from litellm_claude.jobs import errors, event_stream, records
from litellm_claude.jobs.client import JobClient, JobRefused
from litellm_claude.jobs.contract import ErrorEvent, JobError, ResultEvent, encode_event
from litellm_claude.jobs.keys import idempotency
from litellm_claude.jobs.records import JobRecord, JobState
from litellm_claude.jobs.redis_down import is_redis_down, redis_unavailable_error
from litellm_claude.jobs.replicated import ReplicatedWrites
from litellm_claude.openai_compat.errors import ApiError, invalid_request
from litellm_claude.openai_compat.request import ChatCompletionBody, build_job, owner_of
from litellm_claude.openai_compat.response import completion_object

router = APIRouter()
MAX_IDEMPOTENCY_KEY = 255
CANCEL_WAIT_S = 5.0
KEEPALIVE_MS = 15_000


class JobBody(ChatCompletionBody):
    """A chat completion body plus OpenAI-style `metadata` (up to 16 short string pairs)."""

    metadata: dict[str, str] | None = None

    @field_validator("metadata")
    @classmethod
    def _check_metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return value
        if len(value) > 16:
            raise ValueError("at most 16 metadata pairs")
        if any(len(k) > 64 or len(v) > 512 for k, v in value.items()):
            raise ValueError("metadata keys are at most 64 characters, values at most 512")
        return value


class QueueInfo(BaseModel):
    position: int = 0
    depth: int = 0


class Timings(BaseModel):
    queued_at: float
    started_at: float | None = None
    finished_at: float | None = None
    queue_s: float | None = None
    run_s: float | None = None


class JobView(BaseModel):
    id: str
    object: Literal["job"] = "job"
    status: str
    created: int
    expires_at: int
    model: str
    priority: str
    metadata: dict[str, str]
    batch_id: str | None = None
    attempts: int
    answered_by: str | None = None
    queue: QueueInfo | None = None
    timings: Timings
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def job_view(record: JobRecord, state: JobState) -> dict[str, Any]:
    job = record.job
    started = state.started_ms / 1000 if state.started_ms is not None else None
    finished = state.finished_ms / 1000 if state.finished_ms is not None else None
    timings = Timings(
        queued_at=job.created,
        started_at=started,
        finished_at=finished,
        queue_s=round(max(0.0, started - job.created), 3) if started is not None else None,
        run_s=round(finished - started, 3) if started is not None and finished is not None else None,
    )
    queue = None
    if state.status == "queued" and state.position is not None:
        queue = QueueInfo(position=state.position, depth=state.depth or 0)
    view = JobView(
        id=job.id,
        status=state.status,
        created=int(job.created),
        expires_at=int(record.expires_at),
        model=job.model,
        priority=job.priority,
        metadata=record.metadata,
        batch_id=record.batch_id,
        attempts=state.attempts,
        answered_by=state.result.model if state.result else None,
        queue=queue,
        timings=timings,
        result=completion_object(job, state.result) if state.result else None,
        error=error_object(state.error) if state.error else None,
    )
    return view.model_dump(mode="json")


def error_object(error: JobError) -> dict[str, Any]:
    """The inner `{"message", "type", "param", "code"}` of an OpenAI-style error."""
    return errors.error_object(error)


# --- Shared helpers (also used by the batch routes) ----------------------------------------------


def redis_of(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


def accepting(request: Request) -> AbstractAsyncContextManager[Redis]:
    """Where to write work that is answered 202: confirmed on replicas first if so configured."""
    writes: ReplicatedWrites = request.app.state.replicated
    return writes.connection(redis_of(request))


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def owned_record(request: Request, job_id: str, api_key: str | None) -> JobRecord:
    """The caller's job, or 404 (someone else's or unknown) / 410 (expired)."""
    redis = redis_of(request)
    owner = owner_of(api_key)
    record = await records.load(redis, job_id)
    if record is not None and record.job.owner == owner:
        return record
    ttl = settings_of(request).result_ttl_s
    if record is None and await records.expired(redis, job_id, owner):
        raise ApiError.of(errors.JOB_EXPIRED, param="job_id", job_id=job_id, ttl=ttl)
    raise ApiError.of(errors.JOB_NOT_FOUND, param="job_id", job_id=job_id, ttl=ttl)


async def check_capacity(request: Request, adding: int) -> None:
    """503 when `adding` more jobs would take the backlog past MAX_QUEUE_DEPTH."""
    settings = settings_of(request)
    client: JobClient = request.app.state.jobs
    try:
        await client.check_capacity(settings.queue_name, max_depth=settings.max_queue_depth, adding=adding)
    except JobRefused as refused:
        raise ApiError.from_job_error(refused.error) from None


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
        raise ApiError(
            422,
            "This Idempotency-Key was already used with a different request body.",
            param="Idempotency-Key",
            code="idempotency_key_reused",
        )
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
    state = await records.observe(redis, record)
    if state.done:
        raise ApiError(
            409,
            f"Job {job_id} has already finished ({state.status}); there is nothing to cancel.",
            param="job_id",
            code="job_already_finished",
        )
    await records.cancel(redis, request.app.state.jobs, record, state, settings_of(request))
    state = await records.wait_done(redis, record, timeout_s=CANCEL_WAIT_S)
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
        async for frame in _sse_frames(redis, record, after):
            yield frame
    except Exception as exc:
        if not is_redis_down(exc):
            raise
        event = ErrorEvent(error=redis_unavailable_error())
        yield _frame(None, event.type, encode_event(event))


async def _sse_frames(redis: Redis, record: JobRecord, after: str) -> AsyncIterator[bytes]:
    state = await records.observe(redis, record)
    while True:
        if state.terminal_id and records.stream_key(state.terminal_id) <= records.stream_key(after):
            return  # resumed after the end
        lost = state.done and state.terminal_id is None
        batch = await event_stream.read(redis, record.id, after, block_ms=1 if lost else KEEPALIVE_MS)
        if not batch:
            if lost and state.error is not None:
                # arq dropped the job without a terminal event: say so, without an id to resume from
                failed = ErrorEvent(attempt=max(1, state.attempts), error=state.error)
                yield _frame(None, failed.type, encode_event(failed))
                return
            yield b": keepalive\n\n"
            state = await records.observe(redis, record)
            continue
        for entry_id, event in batch:
            after = entry_id
            yield _frame(entry_id, event.type, encode_event(event))
            if isinstance(event, ResultEvent | ErrorEvent):
                return


def _frame(entry_id: str | None, kind: str, data: str) -> bytes:
    head = f"id: {entry_id}\n" if entry_id else ""
    return f"{head}event: {kind}\ndata: {data}\n\n".encode()


async def _view_response(
    redis: Redis, record: JobRecord, status: int, *, replayed: bool = False
) -> JSONResponse:
    state = await records.observe(redis, record)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(job_view(record, state), status_code=status, headers=headers)
