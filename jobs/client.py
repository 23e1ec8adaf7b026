"""Submit completion jobs and follow their events: the one job client of both front doors."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from arq import ArqRedis
from arq.constants import abort_jobs_ss

from litellm_claude.jobs import errors, event_stream, keys
from litellm_claude.jobs.contract import (
    AnyEvent,
    CompletionJob,
    DeltaEvent,
    ErrorEvent,
    JobError,
    ResultEvent,
    StartedEvent,
)
from litellm_claude.jobs.workers import LiveWorkers, no_worker_error

MAX_BLOCK_MS = 15_000
INTERACTIVE_LEAD_S = 86_400.0
# arq drops a job still queued after this; a waiting caller cancels its job long before.
QUEUED_JOB_TTL_S = 86_400.0


class JobRefused(Exception):
    """The queue did not take the job; `error` says why and with which status."""

    def __init__(self, error: JobError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(slots=True)
class JobEvents:
    """A job's events as they arrive; ends after the terminal event.

    Only the latest attempt counts. If a worker died mid-answer and the job was
    run again, the text already delivered is not delivered twice: the new
    attempt's deltas are matched against it and only what is new is yielded
    (or an error, if the new answer differs from what was already sent).
    """

    client: JobClient
    job_id: str
    deadline: float
    start_deadline: float | None = None
    after: str = "0-0"
    attempt: int = 0
    started: bool = False
    _sent: str = ""
    _replay: str = ""

    def __aiter__(self) -> AsyncIterator[AnyEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[AnyEvent]:
        redis = self.client.redis
        while True:
            now = time.monotonic()
            limit = self.deadline if self.started or self.start_deadline is None else self.start_deadline
            remaining_ms = int((min(limit, self.deadline) - now) * 1000)
            if remaining_ms <= 0:
                error = timeout_error() if self.started or limit == self.deadline else queue_timeout_error()
                yield ErrorEvent(attempt=self.attempt, error=error)
                return
            batch = await event_stream.read(
                redis, self.job_id, self.after, block_ms=min(remaining_ms, MAX_BLOCK_MS)
            )
            for entry_id, event in batch:
                self.after = entry_id
                out = self._admit(event)
                if out is None:
                    continue
                yield out
                if isinstance(out, ResultEvent | ErrorEvent):
                    return

    def _admit(self, event: AnyEvent) -> AnyEvent | None:
        if event.attempt < self.attempt:
            return None  # a crashed earlier attempt: never mix its events into this one
        if event.attempt > self.attempt:
            self.attempt = event.attempt
            self._replay = self._sent  # text the caller already has
        if isinstance(event, StartedEvent):
            self.started = True
        if not isinstance(event, DeltaEvent) or not self._replay:
            if isinstance(event, DeltaEvent):
                self._sent += event.text
            return event
        # Re-run after a crash: skip the part of the answer already delivered.
        overlap = min(len(self._replay), len(event.text))
        if event.text[:overlap] != self._replay[:overlap]:
            return ErrorEvent(attempt=event.attempt, error=interrupted_error())
        self._replay = self._replay[overlap:]
        rest = event.text[overlap:]
        if not rest:
            return None
        self._sent += rest
        return DeltaEvent(attempt=event.attempt, text=rest, model=event.model)


class JobClient:
    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis
        self.workers = LiveWorkers(redis)

    async def require_worker(self, queue: str) -> None:
        """Refuse at once (503 + Retry-After) when no live worker consumes `queue`."""
        if not await self.workers.alive(queue):
            raise JobRefused(no_worker_error(queue))

    async def submit(self, job: CompletionJob, *, max_depth: int | None = None) -> CompletionJob:
        """Enqueue `job`; refuse it (503 + Retry-After) when the backlog is past `max_depth`."""
        if max_depth is not None:
            await self.check_capacity(job.queue, max_depth=max_depth)
        enqueued = await self.redis.enqueue_job(
            keys.WORKER_FUNCTION,
            job.model_dump(mode="json"),
            _job_id=job.id,
            _queue_name=job.queue,
            _defer_until=queue_position(job),
            _expires=QUEUED_JOB_TTL_S,
        )
        if enqueued is not None:
            await self._wake_a_worker(job.queue)
        if enqueued is None:
            raise JobRefused(errors.DUPLICATE_JOB.error(job_id=job.id))
        return job

    async def _wake_a_worker(self, queue: str) -> None:
        """One token for an idle worker blocked on the wake-up list (see worker/wakeup.py)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lpush(keys.wakeup(queue), b"1")
            pipe.ltrim(keys.wakeup(queue), 0, 63)
            pipe.expire(keys.wakeup(queue), 60)
            await pipe.execute()

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

    async def cancel(self, job: CompletionJob) -> None:
        """Stop a job: a queued one never runs, a running one has its CLI process killed."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.cancel(job.id), b"1", ex=int(job.timeout_s) + 60)
            # arq's own abort set: the worker cancels the job's task on its next poll.
            pipe.zadd(abort_jobs_ss, {job.id: int(time.time() * 1000)})
            await pipe.execute()


def queue_position(job: CompletionJob) -> datetime:
    """The job's score in arq's queue (a sorted set read oldest first).

    Interactive jobs are scored a day earlier than their arrival, so any waiting
    interactive request runs before all queued bulk work, in arrival order among
    its own kind.
    """
    lead = INTERACTIVE_LEAD_S if job.priority == "interactive" else 0.0
    return datetime.fromtimestamp(job.created - lead, tz=UTC)


def timeout_error() -> JobError:
    return errors.TIMEOUT.error()


def queue_timeout_error() -> JobError:
    return errors.QUEUE_TIMEOUT.error()


def interrupted_error() -> JobError:
    return errors.STREAM_INTERRUPTED.error()
