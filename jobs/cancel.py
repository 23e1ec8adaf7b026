"""Cancel a job: the one way to stop one, queued or running, now or once Redis is back.

A queued job gets its terminal `job_cancelled` event at once and leaves arq's
queue if no worker holds it yet. Otherwise the cancel flag and arq's abort set
have the worker stop it: a worker that has not started it drops it unrun, one
that has kills its CLI and publishes the event itself.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import WatchError

from litellm_claude.config.settings import Settings
from litellm_claude.jobs import arq_adapter, event_stream, keys
from litellm_claude.jobs.contract import CompletionJob, ErrorEvent
from litellm_claude.jobs.redis_down import is_redis_down
from litellm_claude.jobs.status import JobState, cancelled_error

log = logging.getLogger(__name__)
CANCEL_RETRY_S = (0.5, 1.0, 2.0, 5.0)
_background: set[asyncio.Task[None]] = set()


async def stop(redis: Redis, job: CompletionJob) -> None:
    """Stop a job: a queued one never runs, a running one has its CLI process killed."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(keys.cancel(job.id), b"1", ex=int(job.timeout_s) + 60)
        # arq's abort set: the worker cancels the job's task on its next poll.
        pipe.zadd(arq_adapter.ABORT_SET, {job.id: int(time.time() * 1000)})
        await pipe.execute()


async def cancel(redis: Redis, job: CompletionJob, state: JobState, settings: Settings) -> None:
    """Stop a job that has not finished; a queued one is marked cancelled here, at once."""
    if state.status == "queued":
        event = ErrorEvent(attempt=max(1, state.attempts), error=cancelled_error())
        await event_stream.publish(
            redis, job.id, event, maxlen=settings.events_maxlen, ttl_s=settings.events_ttl_s
        )
        if await _dequeue(redis, job):
            return
    await stop(redis, job)


async def _dequeue(redis: Redis, job: CompletionJob) -> bool:
    """Remove a job no worker has taken from arq's queue; False if a worker holds it.

    A worker takes a job by setting its in-progress key (WATCHed here, so a take
    racing this one makes it fail). A worker that read the queue just before the
    removal finds the job's payload gone and drops it without running it.
    """
    in_progress = arq_adapter.in_progress_key(job.id)
    async with redis.pipeline(transaction=True) as pipe:
        await pipe.watch(in_progress)
        if await pipe.exists(in_progress):
            await pipe.reset()
            return False
        pipe.multi()
        pipe.zrem(job.queue, job.id)
        pipe.delete(arq_adapter.job_key(job.id))
        try:
            await pipe.execute()
        except WatchError:
            return False
    return True


def stop_soon(redis: Redis, job: CompletionJob) -> None:
    """Stop from a task of its own: the caller's task may itself be being cancelled."""
    task = asyncio.get_running_loop().create_task(stop_until_done(redis, job))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def stop_until_done(redis: Redis, job: CompletionJob) -> None:
    """Stop; while Redis is away, try again (with backoff) until it is back or the job's time is up."""
    deadline = time.monotonic() + job.timeout_s
    attempt = 0
    while True:
        try:
            await stop(redis, job)
            return
        except Exception as exc:
            if not is_redis_down(exc) or time.monotonic() > deadline:
                log.warning("could not cancel job %s: %s", job.id, type(exc).__name__)
                return
        await asyncio.sleep(CANCEL_RETRY_S[min(attempt, len(CANCEL_RETRY_S) - 1)])
        attempt += 1
