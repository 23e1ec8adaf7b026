"""Async job records: what `POST /v1/jobs` stores, and a job's status derived from its events.

A record (`lc:job:{id}`) is written once, at submit, in the same MULTI/EXEC as the
job's arq queue entry, so a job is either fully accepted or not at all. Nothing
about its progress is ever written back: status, attempts, the answering model,
timings and the result are derived from the job's event stream (and its place
in arq's queue) each time they are asked for.

A tombstone (`lc:job:{id}:gone`, value = owner hash) outlives the record by
EXPIRED_TTL_S, so an expired job answers 410 rather than a bare 404.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.jobs import serialize_job
from arq.utils import to_unix_ms
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from litellm_claude.config.settings import Settings
from litellm_claude.jobs import codec, errors, event_stream, keys
from litellm_claude.jobs.client import JobClient, queue_position
from litellm_claude.jobs.contract import (
    AnyEvent,
    CompletionJob,
    ErrorEvent,
    JobError,
    ResultEvent,
    StartedEvent,
)

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
JOB_ID_RE = re.compile(r"^job_[0-9a-f]{32}$")
STREAM_ID_RE = re.compile(r"^\d+-\d+$")
CANCELLED_CODE = errors.JOB_CANCELLED.code
_READ_CHUNK = 200


class JobRecord(BaseModel):
    """Everything stored about an async job besides its events."""

    job: CompletionJob
    expires_at: float
    metadata: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str | None = None
    request_hash: str | None = None
    batch_id: str | None = None
    custom_id: str | None = None

    @property
    def id(self) -> str:
        return self.job.id


@dataclass(frozen=True, slots=True)
class JobState:
    """What a job's events (and the queue) say about it right now."""

    status: JobStatus
    attempts: int = 0
    model: str | None = None
    started_ms: int | None = None
    finished_ms: int | None = None
    terminal_id: str | None = None
    result: ResultEvent | None = None
    error: JobError | None = None
    position: int | None = None
    depth: int | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


# --- Pure derivation --------------------------------------------------------------------------


def stream_ms(entry_id: str) -> int:
    """Milliseconds since the epoch at which Redis appended a stream entry."""
    return int(entry_id.split("-", 1)[0])


def stream_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def derive(
    events: Sequence[tuple[str, AnyEvent]],
    *,
    in_queue: bool,
    position: int | None = None,
    depth: int | None = None,
) -> JobState:
    """A job's state from its events; the first terminal event decides how it ended.

    `in_queue` says whether arq still holds the job (queued, running or awaiting a
    retry). A job arq has let go of without any terminal event was dropped (its
    worker died more often than the retry limit allows, or it expired unstarted).
    """
    attempts = 0
    model: str | None = None
    started_ms: int | None = None
    for entry_id, event in events:
        attempts = max(attempts, event.attempt)
        if isinstance(event, StartedEvent):
            model = event.model
            started_ms = started_ms if started_ms is not None else stream_ms(entry_id)
        elif isinstance(event, ResultEvent | ErrorEvent):
            return _ended(entry_id, event, attempts, model, started_ms)
    if not in_queue:
        return JobState(
            status="failed",
            attempts=attempts,
            model=model,
            started_ms=started_ms,
            error=lost_error(),
        )
    if started_ms is not None:
        return JobState(status="running", attempts=attempts, model=model, started_ms=started_ms)
    return JobState(status="queued", attempts=attempts, position=position, depth=depth)


def _ended(
    entry_id: str,
    event: ResultEvent | ErrorEvent,
    attempts: int,
    model: str | None,
    started_ms: int | None,
) -> JobState:
    common: dict[str, Any] = {
        "attempts": attempts,
        "started_ms": started_ms,
        "finished_ms": stream_ms(entry_id),
        "terminal_id": entry_id,
    }
    if isinstance(event, ResultEvent):
        return JobState(status="succeeded", model=event.model, result=event, **common)
    status: JobStatus = "cancelled" if event.error.code == CANCELLED_CODE else "failed"
    return JobState(status=status, model=model, error=event.error, **common)


def lost_error() -> JobError:
    return errors.JOB_LOST.error()


def cancelled_error() -> JobError:
    """The same error the worker publishes when it stops a cancelled job."""
    return errors.JOB_CANCELLED.error()


# --- Writing ------------------------------------------------------------------------------------


def new_record(
    job: CompletionJob,
    settings: Settings,
    *,
    metadata: dict[str, str] | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    batch_id: str | None = None,
    custom_id: str | None = None,
) -> JobRecord:
    return JobRecord(
        job=job,
        expires_at=job.created + settings.result_ttl_s,
        metadata=metadata or {},
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        batch_id=batch_id,
        custom_id=custom_id,
    )


def stage(pipe: Pipeline, record: JobRecord, settings: Settings) -> None:
    """Queue the record, its tombstone and its arq queue entry on a MULTI pipeline."""
    job = record.job
    ttl = settings.result_ttl_s
    pipe.set(keys.record(job.id), record.model_dump_json(exclude_none=True), ex=ttl)
    pipe.set(keys.tombstone(job.id), job.owner or "", ex=ttl + settings.expired_ttl_s)
    pipe.zadd(keys.owned(job.owner, "jobs"), {job.id: job.created})
    pipe.expire(keys.owned(job.owner, "jobs"), ttl)
    stage_enqueue(pipe, job, expires_ms=ttl * 1000)


def stage_enqueue(pipe: Pipeline, job: CompletionJob, *, expires_ms: int) -> None:
    """What `ArqRedis.enqueue_job` writes, as part of the caller's transaction.

    Same payload and score as `JobClient.submit`, but the arq job key lives as long
    as the record: a bulk job may wait in the queue far longer than it may run.
    """
    payload = serialize_job(
        keys.WORKER_FUNCTION,
        (job.model_dump(mode="json"),),
        {},
        None,
        int(time.time() * 1000),
        serializer=codec.dumps,
    )
    pipe.psetex(job_key_prefix + job.id, expires_ms, payload)
    pipe.zadd(job.queue, {job.id: to_unix_ms(queue_position(job))})


async def commit(
    redis: Redis,
    records: Iterable[JobRecord],
    settings: Settings,
    *,
    extra: Iterable[tuple[str, str]] = (),
) -> None:
    """Write records, their queue entries and `extra` (key, JSON) in one MULTI/EXEC.

    When this returns every job is in Redis and queued; when it raises, none is.
    """
    async with redis.pipeline(transaction=True) as pipe:
        for record in records:
            stage(pipe, record, settings)
        for key, value in extra:
            pipe.set(key, value, ex=settings.result_ttl_s)
        await pipe.execute()


async def commit_once(redis: Redis, record: JobRecord, settings: Settings, *, claim_key: str) -> str | None:
    """Commit `record` unless `claim_key` already names a job; return that job's id if it does.

    WATCH makes the check and the write one step: two concurrent requests with
    the same claim never both create a job, and the claim never exists without its job.
    """
    while True:
        async with redis.pipeline(transaction=True) as pipe:
            await pipe.watch(claim_key)
            existing = await pipe.get(claim_key)
            if existing is not None:
                await pipe.reset()
                return existing.decode() if isinstance(existing, bytes) else str(existing)
            pipe.multi()
            pipe.set(claim_key, record.id, ex=settings.result_ttl_s)
            stage(pipe, record, settings)
            try:
                await pipe.execute()
            except WatchError:
                continue
            return None


# --- Reading ------------------------------------------------------------------------------------


async def load(redis: Redis, job_id: str) -> JobRecord | None:
    if not JOB_ID_RE.match(job_id):
        return None
    raw = await redis.get(keys.record(job_id))
    return JobRecord.model_validate_json(raw) if raw is not None else None


async def load_many(redis: Redis, job_ids: Sequence[str]) -> list[JobRecord | None]:
    out: list[JobRecord | None] = []
    for start in range(0, len(job_ids), _READ_CHUNK):
        chunk = job_ids[start : start + _READ_CHUNK]
        raws = await redis.mget([keys.record(i) for i in chunk]) if chunk else []
        out.extend(JobRecord.model_validate_json(r) if r is not None else None for r in raws)
    return out


async def expired(redis: Redis, job_id: str, owner: str | None) -> bool:
    """Whether `job_id` belonged to `owner` and its record has expired."""
    if not JOB_ID_RE.match(job_id):
        return False
    value = await redis.get(keys.tombstone(job_id))
    if value is None:
        return False
    stored = value.decode() if isinstance(value, bytes) else str(value)
    return stored == (owner or "")


async def observe(redis: Redis, record: JobRecord) -> JobState:
    return (await observe_many(redis, [record]))[0]


async def observe_many(redis: Redis, records: Sequence[JobRecord]) -> list[JobState]:
    """Each job's state, its queue place and events read in one transaction per chunk.

    Reading the queue and the events atomically matters: a worker appends the
    terminal event before arq drops the job from the queue, so a snapshot never
    shows a finished job as lost.
    """
    states: list[JobState] = []
    for start in range(0, len(records), _READ_CHUNK):
        chunk = records[start : start + _READ_CHUNK]
        async with redis.pipeline(transaction=True) as pipe:
            for record in chunk:
                pipe.zrank(record.job.queue, record.id)
                pipe.zcard(record.job.queue)
                pipe.xrange(keys.events(record.id))
            replies = await pipe.execute()
        for index in range(len(chunk)):
            rank, depth, entries = replies[3 * index : 3 * index + 3]
            events = _decode_entries(entries)
            states.append(derive(events, in_queue=rank is not None, position=rank, depth=depth))
    return states


def _decode_entries(entries: list[tuple[Any, dict[Any, Any]]]) -> list[tuple[str, AnyEvent]]:
    out: list[tuple[str, AnyEvent]] = []
    for entry_id, fields in entries or []:
        raw = fields.get(event_stream.FIELD) or fields.get(event_stream.FIELD.decode())
        if raw is None:
            continue
        eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        out.append((eid, event_stream.decode_event(raw)))
    return out


class UnknownCursor(LookupError):
    """`after` names no job of this owner that is still listed."""


async def list_owned(
    redis: Redis,
    owner: str | None,
    *,
    statuses: frozenset[str] = frozenset(),
    after: str | None = None,
    limit: int = 20,
) -> tuple[list[tuple[JobRecord, JobState]], bool]:
    """One page of the owner's jobs, newest first, optionally only those in `statuses`.

    Returns the page and whether more follow. Status is derived per job, so a
    filtered page reads on past non-matching jobs, a chunk at a time, until it is
    full. Jobs whose record has expired leave the owner's index as they are met.
    """
    index = keys.owned(owner, "jobs")
    start = 0
    if after is not None:
        rank = await redis.zrevrank(index, after)
        if rank is None:
            raise UnknownCursor(after)
        start = rank + 1
    page: list[tuple[JobRecord, JobState]] = []
    chunk = max(limit + 1, 50) if statuses else limit + 1
    while True:
        ids = [
            i.decode() if isinstance(i, bytes) else str(i)
            for i in await redis.zrevrange(index, start, start + chunk - 1)
        ]
        if not ids:
            return page, False
        found = await load_many(redis, ids)
        gone = [i for i, record in zip(ids, found, strict=True) if record is None]
        live = [record for record in found if record is not None]
        for record, state in zip(live, await observe_many(redis, live), strict=True):
            if statuses and state.status not in statuses:
                continue
            if len(page) == limit:
                return page, True
            page.append((record, state))
        if gone:
            await redis.zrem(index, *gone)
            start -= len(gone)  # the ranks after the removed entries moved up
        start += len(ids)


# --- Cancelling ---------------------------------------------------------------------------------


async def cancel(
    redis: Redis, client: JobClient, record: JobRecord, state: JobState, settings: Settings
) -> None:
    """Stop a job that has not finished.

    A queued job gets its terminal `job_cancelled` event here, at once, and is
    taken out of arq's queue if no worker holds it yet. Otherwise (running, or
    picked up a moment ago) JobClient.cancel has the worker stop it: a worker
    that has not started it drops it unrun, one that has kills its CLI and
    publishes the event itself.
    """
    if state.status == "queued":
        event = ErrorEvent(attempt=max(1, state.attempts), error=cancelled_error())
        await event_stream.publish(
            redis, record.id, event, maxlen=settings.events_maxlen, ttl_s=settings.events_ttl_s
        )
        if await _dequeue(redis, record.job):
            return
    await client.cancel(record.job)


async def _dequeue(redis: Redis, job: CompletionJob) -> bool:
    """Remove a job no worker has taken from arq's queue; False if a worker holds it.

    A worker takes a job by setting its in-progress key (WATCHed here, so a take
    racing this one makes it fail). A worker that read the queue just before the
    removal finds the job's payload gone and drops it without running it.
    """
    in_progress = in_progress_key_prefix + job.id
    async with redis.pipeline(transaction=True) as pipe:
        await pipe.watch(in_progress)
        if await pipe.exists(in_progress):
            await pipe.reset()
            return False
        pipe.multi()
        pipe.zrem(job.queue, job.id)
        pipe.delete(job_key_prefix + job.id)
        try:
            await pipe.execute()
        except WatchError:
            return False
    return True


async def wait_done(redis: Redis, record: JobRecord, *, timeout_s: float) -> JobState:
    """The job's state once it is terminal, or as it is when `timeout_s` runs out."""
    deadline = time.monotonic() + timeout_s
    after = "0-0"
    while True:
        state = await observe(redis, record)
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if state.done or remaining_ms <= 0:
            return state
        batch = await event_stream.read(redis, record.id, after, block_ms=min(remaining_ms, 1000))
        if batch:
            after = batch[-1][0]
