"""The path every front door follows for one job: submit, then wait for or follow its events.

A caller that goes away (disconnects, times out, is cancelled) takes its job
with it: the job is cancelled so its CLI process does not run on for nobody.
Failures surface as `JobFailed` carrying the OpenAI-style `JobError`; each
front door renders that in its own way (HTTP error, LiteLLM exception).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass

from litellm_claude.jobs.client import AnyEvent, JobClient, JobRefused
from litellm_claude.jobs.contract import CompletionJob, ErrorEvent, JobError, ResultEvent

# Errors after which the job may still be running and must be stopped.
ABANDONED_CODES = frozenset({"timeout", "queue_timeout"})
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


async def submit(client: JobClient, job: CompletionJob, limits: Limits) -> None:
    try:
        await client.submit(job, max_depth=limits.max_depth)
    except JobRefused as refused:
        raise JobFailed(refused.error) from None


async def result(client: JobClient, job: CompletionJob, limits: Limits) -> ResultEvent:
    """Wait for the job's answer; raise JobFailed with its error otherwise."""
    try:
        final = await client.wait(job.id, timeout_s=limits.timeout_s, start_timeout_s=limits.start_timeout_s)
    except asyncio.CancelledError:
        cancel_soon(client, job)
        raise
    if isinstance(final, ErrorEvent):
        if final.error.code in ABANDONED_CODES:
            cancel_soon(client, job)
        raise JobFailed(final.error)
    return final


async def follow(
    client: JobClient, job: CompletionJob, limits: Limits, *, gone: Awaitable[object] | None = None
) -> AsyncIterator[AnyEvent]:
    """The job's events up to its terminal one; cancels the job if the caller leaves early.

    `gone` completes when the caller has gone away (for HTTP: the disconnect
    message), so the job is cancelled at once, not at the next event.
    """
    watcher = asyncio.ensure_future(_cancel_when(gone, client, job)) if gone is not None else None
    finished = False
    try:
        async for event in client.events(
            job.id, timeout_s=limits.timeout_s, start_timeout_s=limits.start_timeout_s
        ):
            if isinstance(event, ResultEvent):
                finished = True
            elif isinstance(event, ErrorEvent):
                finished = event.error.code not in ABANDONED_CODES
            yield event
    finally:
        if watcher is not None:
            watcher.cancel()
        if not finished:
            cancel_soon(client, job)


async def _cancel_when(gone: Awaitable[object], client: JobClient, job: CompletionJob) -> None:
    await gone
    await client.cancel(job)


def cancel_soon(client: JobClient, job: CompletionJob) -> None:
    """Cancel from a task of its own: the caller's task may itself be being cancelled."""
    task = asyncio.get_running_loop().create_task(client.cancel(job))
    _background.add(task)
    task.add_done_callback(_background.discard)
