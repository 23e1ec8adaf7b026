"""Small expiring records of what the pool is doing, written for `status` and the dashboard.

Front doors index every batch they create (`index_batch`). Workers write two
kinds (keys in jobs/keys.py): the last failed jobs with their error codes, and
per-10-second counts of finished jobs with their duration and queue-wait sums.
`telemetry.snapshot` reads them back, with each worker's report (jobs/workers.py).
Every record expires, so nothing here needs cleaning up.
"""

from __future__ import annotations

import time

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from litellm_claude.jobs import keys
from litellm_claude.jobs.contract import CompletionJob, ErrorEvent, ResultEvent
from litellm_claude.jobs.status import CANCELLED_CODE

FAILURES_KEPT = 200
FAILURES_TTL_S = 86_400
BUCKET_S = 10
BATCHES_KEPT = 500
TIMELINE_TTL_S = 3_600


class FailureRecord(BaseModel):
    """A failed job, as shown in the list of recent failures (no prompt, no key)."""

    job_id: str
    code: str
    type: str
    status: int
    message: str
    model: str
    owner: str | None = None
    priority: str = "interactive"
    at: float


def stage_outcome(
    pipe: Pipeline,
    job: CompletionJob,
    terminal: ResultEvent | ErrorEvent,
    *,
    duration_s: float,
    wait_s: float,
    now: float | None = None,
) -> None:
    """Add one finished job to its timeline bucket (and to the failures list if it failed)."""
    now = now or time.time()
    bucket = keys.timeline(job.queue, int(now // BUCKET_S) * BUCKET_S)
    cancelled = isinstance(terminal, ErrorEvent) and terminal.error.code == CANCELLED_CODE
    outcome = "succeeded" if isinstance(terminal, ResultEvent) else "cancelled" if cancelled else "failed"
    pipe.hincrby(bucket, outcome, 1)
    pipe.hincrbyfloat(bucket, "duration_sum", duration_s)
    pipe.hincrbyfloat(bucket, "wait_sum", wait_s)
    pipe.expire(bucket, TIMELINE_TTL_S)
    if isinstance(terminal, ErrorEvent) and not cancelled:
        error = terminal.error
        record = FailureRecord(
            job_id=job.id,
            code=error.code or error.type,
            type=error.type,
            status=error.status,
            message=error.message[:300],
            model=job.model,
            owner=job.owner,
            priority=job.priority,
            at=now,
        )
        key = keys.recent_failures(job.queue)
        pipe.lpush(key, record.model_dump_json())
        pipe.ltrim(key, 0, FAILURES_KEPT - 1)
        pipe.expire(key, FAILURES_TTL_S)


async def index_batch(redis: Redis, queue: str, batch_id: str, created: float, ttl_s: int) -> None:
    """List a new batch (of any owner) among the recent ones of its queue; the oldest fall off."""
    key = keys.recent_batches(queue)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(key, {batch_id: created})
        pipe.zremrangebyrank(key, 0, -BATCHES_KEPT - 1)
        pipe.expire(key, ttl_s)
        await pipe.execute()
