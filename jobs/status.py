"""A job's status, derived each time from its event stream and its place in arq's queue.

Nothing about a job's progress is ever written back: status, attempts, the
answering model, timings and the result come from its events, read together
with its queue entry in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

from litellm_claude.jobs import errors, event_stream, keys
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
CANCELLED_CODE = errors.JOB_CANCELLED.code
_READ_CHUNK = 200


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


async def observe(redis: Redis, job: CompletionJob) -> JobState:
    return (await observe_many(redis, [job]))[0]


async def observe_many(redis: Redis, jobs: Sequence[CompletionJob]) -> list[JobState]:
    """Each job's state, its queue place and events read in one transaction per chunk.

    Reading the queue and the events atomically matters: a worker appends the
    terminal event before arq drops the job from the queue, so a snapshot never
    shows a finished job as lost.
    """
    states: list[JobState] = []
    for start in range(0, len(jobs), _READ_CHUNK):
        chunk = jobs[start : start + _READ_CHUNK]
        async with redis.pipeline(transaction=True) as pipe:
            for job in chunk:
                pipe.zrank(job.queue, job.id)
                pipe.zcard(job.queue)
                pipe.xrange(keys.events(job.id))
            replies = await pipe.execute()
        for index in range(len(chunk)):
            rank, depth, entries = replies[3 * index : 3 * index + 3]
            events = event_stream.decode_entries(entries)
            states.append(derive(events, in_queue=rank is not None, position=rank, depth=depth))
    return states
