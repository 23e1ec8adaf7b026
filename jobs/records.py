"""Async job records: what `POST /v1/jobs` and the batch endpoints store about a job besides its events.

A record (`lc:job:{id}`) is written once, at submit, in the same MULTI/EXEC as the
job's arq queue entry (`jobs.queue`), so a job is either fully accepted or not at
all. Its status is derived from its events (`jobs.status`), never written back.

A tombstone (`lc:job:{id}:gone`, value = owner hash) outlives the record by
EXPIRED_TTL_S, so an expired job answers 410 rather than a bare 404.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from litellm_claude.config.settings import Settings
from litellm_claude.jobs import keys, queue, status
from litellm_claude.jobs.contract import CompletionJob
from litellm_claude.jobs.status import JobState

JOB_ID_RE = re.compile(r"^job_[0-9a-f]{32}$")
STREAM_ID_RE = re.compile(r"^\d+-\d+$")
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
    """Queue the record, its tombstone and its arq queue entry on a MULTI pipeline.

    The arq job key lives as long as the record: a bulk job may wait in the queue
    far longer than it may run.
    """
    job = record.job
    ttl = settings.result_ttl_s
    pipe.set(keys.record(job.id), record.model_dump_json(exclude_none=True), ex=ttl)
    pipe.set(keys.tombstone(job.id), job.owner or "", ex=ttl + settings.expired_ttl_s)
    pipe.zadd(keys.owned(job.owner, "jobs"), {job.id: job.created})
    pipe.expire(keys.owned(job.owner, "jobs"), ttl)
    queue.stage(pipe, job, expires_s=ttl)


async def commit(
    redis: Redis,
    records: Iterable[JobRecord],
    settings: Settings,
    *,
    extra: Iterable[tuple[str, str]] = (),
) -> None:
    """Write records, their queue entries, wake-up tokens and `extra` (key, JSON) in one MULTI/EXEC.

    When this returns every job is in Redis and queued; when it raises, none is.
    """
    staged = list(records)
    async with redis.pipeline(transaction=True) as pipe:
        for record in staged:
            stage(pipe, record, settings)
        for key, value in extra:
            pipe.set(key, value, ex=settings.result_ttl_s)
        for name, count in Counter(record.job.queue for record in staged).items():
            queue.stage_wake(pipe, name, count=count)
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
            queue.stage_wake(pipe, record.job.queue)
            try:
                await pipe.execute()
            except WatchError:
                continue
            return None


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
        for record, state in zip(
            live, await status.observe_many(redis, [record.job for record in live]), strict=True
        ):
            if statuses and state.status not in statuses:
                continue
            if len(page) == limit:
                return page, True
            page.append((record, state))
        if gone:
            await redis.zrem(index, *gone)
            start -= len(gone)  # the ranks after the removed entries moved up
        start += len(ids)
