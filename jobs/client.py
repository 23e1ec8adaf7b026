"""Submit completion jobs and follow their events: the one job client of both front doors."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from arq import ArqRedis
from arq.constants import abort_jobs_ss

from jobs import event_stream, keys
from jobs.contract import (
    CompletionJob,
    DeltaEvent,
    ErrorEvent,
    JobError,
    ResultEvent,
    StartedEvent,
)

AnyEvent = StartedEvent | DeltaEvent | ResultEvent | ErrorEvent
MAX_BLOCK_MS = 15_000


class JobRejected(Exception):
    """The queue refused the job (for example a duplicate id)."""


@dataclass(slots=True)
class JobEvents:
    """Events of one job as they arrive, current attempt only; ends after the terminal event."""

    client: JobClient
    job_id: str
    deadline: float
    after: str = "0-0"
    attempt: int = 0

    def __aiter__(self) -> AsyncIterator[AnyEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[AnyEvent]:
        redis = self.client.redis
        while True:
            remaining_ms = int((self.deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                yield ErrorEvent(attempt=self.attempt, error=timeout_error())
                return
            batch = await event_stream.read(
                redis, self.job_id, self.after, block_ms=min(remaining_ms, MAX_BLOCK_MS)
            )
            for entry_id, event in batch:
                self.after = entry_id
                if event.attempt < self.attempt:
                    continue  # a crashed earlier attempt: never mix its events into this one
                self.attempt = event.attempt
                yield event
                if isinstance(event, ResultEvent | ErrorEvent):
                    return


class JobClient:
    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis

    async def submit(self, job: CompletionJob) -> CompletionJob:
        enqueued = await self.redis.enqueue_job(
            keys.WORKER_FUNCTION,
            job.model_dump(mode="json"),
            _job_id=job.id,
            _queue_name=job.queue,
            _expires=job.timeout_s,
        )
        if enqueued is None:
            raise JobRejected(f"job {job.id} already exists")
        return job

    def events(self, job_id: str, *, timeout_s: float, after: str = "0-0") -> JobEvents:
        return JobEvents(self, job_id, deadline=time.monotonic() + timeout_s, after=after)

    async def wait(self, job_id: str, *, timeout_s: float) -> ResultEvent | ErrorEvent:
        """The job's final event; a timeout yields an ErrorEvent (and the caller should cancel)."""
        async for event in self.events(job_id, timeout_s=timeout_s):
            if isinstance(event, ResultEvent | ErrorEvent):
                return event
        return ErrorEvent(error=timeout_error())  # pragma: no cover - events() always ends terminal

    async def cancel(self, job: CompletionJob) -> None:
        """Stop a job: a queued one never runs, a running one has its CLI process killed."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.cancel(job.id), b"1", ex=int(job.timeout_s) + 60)
            # arq's own abort set: the worker cancels the job's task on its next poll.
            pipe.zadd(abort_jobs_ss, {job.id: int(time.time() * 1000)})
            await pipe.execute()


def timeout_error() -> JobError:
    return JobError(
        type="timeout_error",
        code="timeout",
        message="The completion did not finish within the request timeout.",
        status=504,
    )
