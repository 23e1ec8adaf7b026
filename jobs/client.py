"""The job client of both front doors: refuse early, submit, check capacity, follow or wait."""

from __future__ import annotations

import time

from arq import ArqRedis

from litellm_claude.jobs import errors
from litellm_claude.jobs.contract import CompletionJob, ErrorEvent, JobError, ResultEvent
from litellm_claude.jobs.follow import JobEvents, timeout_error
from litellm_claude.jobs.queue import enqueue
from litellm_claude.jobs.workers import LiveWorkers, no_worker_error


class JobRefused(Exception):
    """The queue did not take the job; `error` says why and with which status."""

    def __init__(self, error: JobError) -> None:
        super().__init__(error.message)
        self.error = error


class JobClient:
    """One Redis connection's view of the queue: submit through `jobs.queue`, follow through `jobs.follow`."""

    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis
        self.workers = LiveWorkers(redis)

    async def require_worker(self, queue: str) -> None:
        """Refuse at once (503 + Retry-After) when no live worker consumes `queue`."""
        if not await self.workers.alive(queue):
            raise JobRefused(no_worker_error(queue))

    async def submit(self, job: CompletionJob, *, max_depth: int | None = None) -> CompletionJob:
        """Enqueue `job` and wake a worker; refuse it (503) when the backlog is past `max_depth`."""
        if max_depth is not None:
            await self.check_capacity(job.queue, max_depth=max_depth)
        if not await enqueue(self.redis, job):
            raise JobRefused(errors.DUPLICATE_JOB.error(job_id=job.id))
        return job

    def events(
        self,
        job_id: str,
        *,
        timeout_s: float,
        start_timeout_s: float | None = None,
        after: str = "0-0",
    ) -> JobEvents:
        now = time.monotonic()
        start_deadline = now + start_timeout_s if start_timeout_s is not None else None
        return JobEvents(self, job_id, deadline=now + timeout_s, start_deadline=start_deadline, after=after)

    async def check_capacity(self, queue: str, *, max_depth: int, adding: int = 1) -> None:
        """Refuse (503 + Retry-After) when `adding` more jobs would take the backlog past `max_depth`."""
        if await self.queue_depth(queue) + adding > max_depth:
            raise JobRefused(errors.QUEUE_FULL.error())

    async def queue_depth(self, queue: str) -> int:
        return int(await self.redis.zcard(queue))

    async def wait(
        self, job_id: str, *, timeout_s: float, start_timeout_s: float | None = None
    ) -> ResultEvent | ErrorEvent:
        """The job's final event; a timeout yields an ErrorEvent (and the caller should cancel)."""
        async for event in self.events(job_id, timeout_s=timeout_s, start_timeout_s=start_timeout_s):
            if isinstance(event, ResultEvent | ErrorEvent):
                return event
        return ErrorEvent(error=timeout_error())  # pragma: no cover - events() always ends terminal
