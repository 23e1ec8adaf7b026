"""The one enqueue path: put jobs on arq's queue (alone or in the caller's MULTI) and wake a worker."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from litellm_claude.jobs import arq_adapter, keys
from litellm_claude.jobs.contract import CompletionJob

INTERACTIVE_LEAD_S = 86_400.0
# arq drops a job still queued after this; a waiting caller cancels its job long before.
QUEUED_JOB_TTL_S = 86_400.0
WAKE_TOKENS_MAX = 64


def queue_position(job: CompletionJob) -> datetime:
    """The job's score in arq's queue (a sorted set read oldest first).

    Interactive jobs are scored a day earlier than their arrival, so any waiting
    interactive request runs before all queued bulk work, in arrival order among
    its own kind.
    """
    lead = INTERACTIVE_LEAD_S if job.priority == "interactive" else 0.0
    return datetime.fromtimestamp(job.created - lead, tz=UTC)


def stage(pipe: Pipeline, job: CompletionJob, *, expires_s: float) -> None:
    """What `ArqRedis.enqueue_job` writes, on the caller's pipeline; the job key lives `expires_s`."""
    data = arq_adapter.payload(keys.WORKER_FUNCTION, (job.model_dump(mode="json"),), int(time.time() * 1000))
    pipe.psetex(arq_adapter.job_key(job.id), int(expires_s * 1000), data)
    pipe.zadd(job.queue, {job.id: round(queue_position(job).timestamp() * 1000)})


def stage_wake(pipe: Pipeline, queue: str, *, count: int = 1) -> None:
    """Tokens for idle workers blocked on the wake-up list (see worker/wakeup.py)."""
    key = keys.wakeup(queue)
    pipe.lpush(key, *[b"1"] * max(1, min(count, WAKE_TOKENS_MAX)))
    pipe.ltrim(key, 0, WAKE_TOKENS_MAX - 1)
    pipe.expire(key, 60)


async def enqueue(redis: Redis, job: CompletionJob, *, expires_s: float = QUEUED_JOB_TTL_S) -> bool:
    """Queue one job and wake a worker; False (nothing written) if a job with its id exists.

    The existence check is WATCHed, as in `ArqRedis.enqueue_job`.
    """
    job_key = arq_adapter.job_key(job.id)
    while True:
        async with redis.pipeline(transaction=True) as pipe:
            await pipe.watch(job_key)
            if await pipe.exists(job_key, arq_adapter.result_key(job.id)):
                await pipe.reset()
                return False
            pipe.multi()
            stage(pipe, job, expires_s=expires_s)
            stage_wake(pipe, job.queue)
            try:
                await pipe.execute()
            except WatchError:
                continue
            return True
