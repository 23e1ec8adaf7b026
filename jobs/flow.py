"""The path every front door follows for one job: submit, then wait for or follow its events.

A caller that goes away (disconnects, times out, is cancelled) takes its job
with it: the job is cancelled so its CLI process does not run on for nobody.
Failures surface as `JobFailed` carrying the OpenAI-style `JobError`; each
front door renders that in its own way (HTTP error, LiteLLM exception).
Redis going away is one of them (503 `redis_unavailable` with Retry-After; a
followed stream ends with that error event), and the job the caller leaves
behind is cancelled once Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable
from dataclasses import dataclass

from litellm_claude.jobs import errors
from litellm_claude.jobs.client import AnyEvent, JobClient, JobRefused
from litellm_claude.jobs.contract import CompletionJob, ErrorEvent, JobError, ResultEvent
from litellm_claude.jobs.redis_down import is_redis_down, redis_unavailable_error

log = logging.getLogger(__name__)
# Errors after which the job may still be running and must be stopped.
ABANDONED_CODES = frozenset({errors.TIMEOUT.code, errors.QUEUE_TIMEOUT.code, errors.REDIS_UNAVAILABLE.code})
CANCEL_RETRY_S = (0.5, 1.0, 2.0, 5.0)
_background: set[asyncio.Task[None]] = set()


class JobFailed(Exception):
    def __init__(self, error: JobError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int | None
    timeout_s: float
    start_timeout_s: float | None
    require_worker: bool = False  # a waiting caller is refused at once when no worker would answer


async def submit(client: JobClient, job: CompletionJob, limits: Limits) -> None:
    try:
        if limits.require_worker:
            await client.require_worker(job.queue)
        await client.submit(job, max_depth=limits.max_depth)
    except JobRefused as refused:
        raise JobFailed(refused.error) from None
    except Exception as exc:
        if not is_redis_down(exc):
            raise
        cancel_soon(client, job)  # the submit may have reached Redis before it went away
        raise JobFailed(redis_unavailable_error()) from exc


async def result(
    client: JobClient, job: CompletionJob, limits: Limits, *, gone: Awaitable[object] | None = None
) -> ResultEvent:
    """Wait for the job's answer; raise JobFailed with its error otherwise.

    `gone` completes when the caller has gone away: the job is cancelled at once
    (its CLI killed) and JobFailed says `client_disconnected` to nobody.
    """
    waiting = asyncio.ensure_future(
        client.wait(job.id, timeout_s=limits.timeout_s, start_timeout_s=limits.start_timeout_s)
    )
    watcher = asyncio.ensure_future(gone) if gone is not None else None
    try:
        racing = {waiting} if watcher is None else {waiting, watcher}
        await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        waiting.cancel()
        cancel_soon(client, job)
        raise
    finally:
        if watcher is not None:
            watcher.cancel()
    if not waiting.done():
        waiting.cancel()
        await client.cancel(job)
        raise JobFailed(client_gone_error())
    try:
        final = waiting.result()
    except Exception as exc:
        if not is_redis_down(exc):
            raise
        final = ErrorEvent(error=redis_unavailable_error())
    if isinstance(final, ErrorEvent):
        if final.error.code == errors.REDIS_UNAVAILABLE.code:
            cancel_soon(client, job)  # retried in the background until Redis is back
        elif final.error.code in ABANDONED_CODES:
            await client.cancel(job)  # before the caller hears of it: the job must never start now
        raise JobFailed(final.error)
    return final


def client_gone_error() -> JobError:
    return errors.CLIENT_DISCONNECTED.error()


async def follow(
    client: JobClient, job: CompletionJob, limits: Limits, *, gone: Awaitable[object] | None = None
) -> AsyncGenerator[AnyEvent, None]:
    """The job's events up to its terminal one; cancels the job if the caller leaves early.

    `gone` completes when the caller has gone away (for HTTP: the disconnect
    message), so the job is cancelled at once, not at the next event.
    """
    watcher = asyncio.ensure_future(_cancel_when(gone, client, job)) if gone is not None else None
    finished = False
    events = client.events(job.id, timeout_s=limits.timeout_s, start_timeout_s=limits.start_timeout_s)
    try:
        try:
            async for event in events:
                if isinstance(event, ResultEvent):
                    finished = True
                elif isinstance(event, ErrorEvent):
                    finished = event.error.code not in ABANDONED_CODES
                yield event
        except Exception as exc:
            if not is_redis_down(exc):
                raise
            yield ErrorEvent(attempt=events.attempt, error=redis_unavailable_error())
    finally:
        if watcher is not None:
            watcher.cancel()
        if not finished:
            cancel_soon(client, job)


async def _cancel_when(gone: Awaitable[object], client: JobClient, job: CompletionJob) -> None:
    await gone
    await _cancel_until_done(client, job)


def cancel_soon(client: JobClient, job: CompletionJob) -> None:
    """Cancel from a task of its own: the caller's task may itself be being cancelled."""
    task = asyncio.get_running_loop().create_task(_cancel_until_done(client, job))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _cancel_until_done(client: JobClient, job: CompletionJob) -> None:
    """Cancel; while Redis is away, try again (with backoff) until it is back or the job's time is up."""
    deadline = time.monotonic() + job.timeout_s
    attempt = 0
    while True:
        try:
            await client.cancel(job)
            return
        except Exception as exc:
            if not is_redis_down(exc) or time.monotonic() > deadline:
                log.warning("could not cancel job %s: %s", job.id, type(exc).__name__)
                return
        await asyncio.sleep(CANCEL_RETRY_S[min(attempt, len(CANCEL_RETRY_S) - 1)])
        attempt += 1
