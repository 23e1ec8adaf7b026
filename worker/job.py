"""The arq job function: run one completion job through its model chain and publish its events."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from redis.asyncio import Redis

from config.settings import Settings
from jobs import event_stream, keys
from jobs.contract import (
    CompletionJob,
    DeltaEvent,
    ErrorEvent,
    JobError,
    ResultEvent,
    StartedEvent,
)
from worker import failures
from worker.cli_run import run_cli

log = logging.getLogger(__name__)
WORKER_NAME = socket.gethostname()


class JobPublisher:
    """Appends one attempt's events to the job's stream."""

    def __init__(self, redis: Redis, job: CompletionJob, attempt: int, settings: Settings) -> None:
        self.redis = redis
        self.job = job
        self.attempt = attempt
        self.settings = settings

    async def publish(self, event: StartedEvent | DeltaEvent | ResultEvent | ErrorEvent) -> None:
        event.attempt = self.attempt
        await event_stream.publish(
            self.redis,
            self.job.id,
            event,
            maxlen=self.settings.events_maxlen,
            ttl_s=self.settings.events_ttl_s,
        )

    async def text(self, text: str) -> None:
        await self.publish(DeltaEvent(text=text))


async def run_completion(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """arq entry point. Always ends the job's event stream with a result or an error event."""
    settings: Settings = ctx["settings"]
    redis: Redis = ctx["redis"]
    job = CompletionJob.model_validate(payload)
    publisher = JobPublisher(redis, job, int(ctx.get("job_try") or 1), settings)
    if await redis.exists(keys.cancel(job.id)):
        await publisher.publish(ErrorEvent(error=failures.cancelled()))
        return {"status": "cancelled"}
    try:
        terminal = await _run_chain(job, settings, publisher)
    except asyncio.CancelledError:
        await asyncio.shield(publisher.publish(ErrorEvent(error=failures.cancelled())))
        raise
    except Exception:
        log.exception("job %s failed unexpectedly", job.id)
        terminal = ErrorEvent(
            error=JobError(
                type="api_error",
                code="worker_error",
                message="The worker failed while running this job.",
                status=500,
            )
        )
    await publisher.publish(terminal)
    if isinstance(terminal, ResultEvent):
        return {"status": "succeeded", "model": terminal.model}
    return {"status": "failed", "error": terminal.error.model_dump()}


async def _run_chain(
    job: CompletionJob, settings: Settings, publisher: JobPublisher
) -> ResultEvent | ErrorEvent:
    chain = [job.cli_model, *job.fallback_models]
    last: failures.Failure | None = None
    for index, model in enumerate(chain):
        has_next = index + 1 < len(chain)
        await publisher.publish(StartedEvent(model=model, worker=WORKER_NAME))
        try:
            async with asyncio.timeout(job.timeout_s):
                outcome = await run_cli(job, model, settings, publisher.text, may_fall_back=has_next)
        except TimeoutError:
            return ErrorEvent(error=failures.timeout("The job exceeded its time limit.").error)
        if outcome.result is not None:
            return outcome.result
        last = outcome.failure
        assert last is not None
        if not (has_next and last.fallback_ok and not outcome.emitted_text):
            break
        log.info("job %s: %s on %s, falling back to %s", job.id, last.kind, model, chain[index + 1])
    assert last is not None
    return ErrorEvent(error=last.error)
