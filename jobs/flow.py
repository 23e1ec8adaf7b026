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
from collections.abc import AsyncGenerator, Awaitable
from dataclasses import dataclass

from litellm_claude.jobs import errors
from litellm_claude.jobs.cancel import stop, stop_soon, stop_until_done
from litellm_claude.jobs.client import JobClient, JobRefused
from litellm_claude.jobs.contract import AnyEvent, CompletionJob, ErrorEvent, JobError, ResultEvent
from litellm_claude.jobs.redis_down import is_redis_down, redis_unavailable_error

# Errors after which the job may still be running and must be stopped.
ABANDONED_CODES = frozenset({errors.TIMEOUT.code, errors.QUEUE_TIMEOUT.code, errors.REDIS_UNAVAILABLE.code})


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
        stop_soon(client.redis, job)  # the submit may have reached Redis before it went away
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
        stop_soon(client.redis, job)
        raise
    finally:
        if watcher is not None:
            watcher.cancel()
    if not waiting.done():
        waiting.cancel()
        await stop(client.redis, job)
        raise JobFailed(client_gone_error())
    try:
        final = waiting.result()
    except Exception as exc:
        if not is_redis_down(exc):
            raise
        final = ErrorEvent(error=redis_unavailable_error())
    if isinstance(final, ErrorEvent):
        if final.error.code == errors.REDIS_UNAVAILABLE.code:
            stop_soon(client.redis, job)  # retried in the background until Redis is back
        elif final.error.code in ABANDONED_CODES:
            await stop(client.redis, job)  # before the caller hears of it: the job must never start now
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
            stop_soon(client.redis, job)


async def _cancel_when(gone: Awaitable[object], client: JobClient, job: CompletionJob) -> None:
    await gone
    await stop_until_done(client.redis, job)
