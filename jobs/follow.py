"""Follow a job's events: one cursor over its stream, and the followers built on it.

`Cursor` is the one reader of a job's stream. On it: `JobEvents` for a caller
waiting for an answer (chat and Responses, the provider: deadlines, only the
latest attempt counts); `recorded_events` for `GET /v1/jobs/{id}/events` (every
event with its stream id, resumable); `wait_done` for a job's final state.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from litellm_claude.jobs import errors, event_stream
from litellm_claude.jobs.contract import (
    AnyEvent,
    CompletionJob,
    DeltaEvent,
    ErrorEvent,
    JobError,
    ResultEvent,
    StartedEvent,
)
from litellm_claude.jobs.status import JobState, observe, stream_key

if TYPE_CHECKING:
    from litellm_claude.jobs.client import JobClient

MAX_BLOCK_MS = 15_000


@dataclass(slots=True)
class Cursor:
    """A job's events in stream order from `after`; `ended` once the first terminal event is read."""

    redis: Redis
    job_id: str
    after: str = "0-0"
    ended: bool = False

    async def read(self, block_ms: int) -> list[tuple[str, AnyEvent]]:
        """The next events (up to the terminal one), waiting up to `block_ms`; [] if none came."""
        out: list[tuple[str, AnyEvent]] = []
        if self.ended:
            return out
        for entry_id, event in await event_stream.read(
            self.redis, self.job_id, self.after, block_ms=block_ms
        ):
            self.after = entry_id
            out.append((entry_id, event))
            if isinstance(event, ResultEvent | ErrorEvent):
                self.ended = True
                break
        return out


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
        cursor = Cursor(self.client.redis, self.job_id, self.after)
        while True:
            now = time.monotonic()
            limit = self.deadline if self.started or self.start_deadline is None else self.start_deadline
            remaining_ms = int((min(limit, self.deadline) - now) * 1000)
            if remaining_ms <= 0:
                error = timeout_error() if self.started or limit == self.deadline else queue_timeout_error()
                yield ErrorEvent(attempt=self.attempt, error=error)
                return
            for entry_id, event in await cursor.read(min(remaining_ms, MAX_BLOCK_MS)):
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


async def recorded_events(
    redis: Redis, job: CompletionJob, after: str, *, idle_ms: int
) -> AsyncIterator[tuple[str | None, AnyEvent] | None]:
    """Every event after stream id `after` with its id, up to the terminal one; None after each
    `idle_ms` without any. A job arq dropped without a terminal event ends with its error, id None."""
    cursor = Cursor(redis, job.id, after)
    state = await observe(redis, job)
    while not cursor.ended:
        if state.terminal_id and stream_key(state.terminal_id) <= stream_key(cursor.after):
            return  # resumed after the end
        lost = state.done and state.terminal_id is None
        batch = await cursor.read(1 if lost else idle_ms)
        if not batch:
            if lost and state.error is not None:
                yield None, ErrorEvent(attempt=max(1, state.attempts), error=state.error)
                return
            yield None
            state = await observe(redis, job)
        for entry in batch:
            yield entry


async def wait_done(redis: Redis, job: CompletionJob, *, timeout_s: float) -> JobState:
    """The job's state once it is terminal, or as it is when `timeout_s` runs out."""
    deadline = time.monotonic() + timeout_s
    cursor = Cursor(redis, job.id)
    while True:
        state = await observe(redis, job)
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if state.done or remaining_ms <= 0:
            return state
        await cursor.read(min(remaining_ms, 1000))


def timeout_error() -> JobError:
    return errors.TIMEOUT.error()


def queue_timeout_error() -> JobError:
    return errors.QUEUE_TIMEOUT.error()


def interrupted_error() -> JobError:
    return errors.STREAM_INTERRUPTED.error()
