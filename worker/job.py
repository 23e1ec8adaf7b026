"""The arq job function: run one completion job through its model chain and publish its events."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from litellm_claude.config.settings import Settings
from litellm_claude.jobs import event_stream, keys
from litellm_claude.jobs.contract import (
    CompletionJob,
    DeltaEvent,
    ErrorEvent,
    JobError,
    ResultEvent,
    StartedEvent,
)
from litellm_claude.telemetry import log_context
from litellm_claude.telemetry.store import MetricsRecorder
from litellm_claude.worker import failures
from litellm_claude.worker.cli_run import run_cli
from litellm_claude.worker.cli_slots import CliSlots
from litellm_claude.worker.cooldowns import clear_cooldown, cooldown_until, set_cooldown
from litellm_claude.worker.warm_pool import WarmPool

log = logging.getLogger(__name__)
WORKER_NAME = socket.gethostname()


class JobPublisher:
    """Appends one attempt's events to the job's stream."""

    def __init__(self, redis: Redis, job: CompletionJob, attempt: int, settings: Settings) -> None:
        self.redis = redis
        self.job = job
        self.attempt = attempt
        self.settings = settings
        self.first_text_at: float | None = None
        self.fell_back = False

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
        if self.first_text_at is None:
            self.first_text_at = time.time()
        await self.publish(DeltaEvent(text=text))


async def run_completion(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """arq entry point. Always ends the job's event stream with a result or an error event."""
    settings: Settings = ctx["settings"]
    redis: Redis = ctx["redis"]
    job = CompletionJob.model_validate(payload)
    log_context.job_id.set(job.id)
    started = time.time()
    publisher = JobPublisher(redis, job, int(ctx.get("job_try") or 1), settings)
    if await redis.exists(keys.cancel(job.id)):
        await publisher.publish(ErrorEvent(error=failures.cancelled()))
        return {"status": "cancelled"}
    heartbeat = asyncio.create_task(_hold_in_progress(redis, job.id, settings.in_progress_lease_s))
    try:
        async with asyncio.timeout(job.timeout_s):
            terminal = await _run_chain(job, settings, publisher, ctx["cli_slots"], ctx.get("warm_pool"))
    except TimeoutError:
        terminal = ErrorEvent(error=failures.failure("timeout").error)
    except asyncio.CancelledError:
        cancelled = ErrorEvent(error=failures.cancelled())
        await asyncio.shield(publisher.publish(cancelled))
        await asyncio.shield(_record(redis, job, publisher, cancelled, started))
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
    finally:
        heartbeat.cancel()
    await publisher.publish(terminal)
    await _record(redis, job, publisher, terminal, started)
    if isinstance(terminal, ResultEvent):
        return {"status": "succeeded", "model": terminal.model}
    return {"status": "failed", "error": terminal.error.model_dump()}


async def _record(
    redis: Redis,
    job: CompletionJob,
    publisher: JobPublisher,
    terminal: ResultEvent | ErrorEvent,
    started: float,
) -> None:
    """One job's metrics, in one round trip."""
    metrics = MetricsRecorder(redis, job.queue)
    if isinstance(terminal, ResultEvent):
        metrics.inc("lc_jobs_total", labels={"outcome": "succeeded", "code": ""})
        usage = terminal.usage
        for kind, count in (
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
            ("cache_read", usage.cache_read_input_tokens),
            ("cache_creation", usage.cache_creation_input_tokens),
        ):
            metrics.inc("lc_tokens_total", count, labels={"kind": kind})
        metrics.inc("lc_cost_usd_total", usage.total_cost_usd or 0.0)
        if publisher.fell_back:
            metrics.inc("lc_fallbacks_total")
    else:
        outcome = "cancelled" if terminal.error.code == "job_cancelled" else "failed"
        metrics.inc("lc_jobs_total", labels={"outcome": outcome, "code": terminal.error.code or ""})
    metrics.observe("lc_queue_wait_seconds", max(0.0, started - job.created))
    metrics.observe("lc_job_duration_seconds", time.time() - started)
    if publisher.first_text_at is not None:
        metrics.observe("lc_time_to_first_token_seconds", publisher.first_text_at - job.created)
    await metrics.flush()


async def _hold_in_progress(redis: Redis, job_id: str, lease_s: float) -> None:
    """Keep arq's in-progress marker short-lived while we run.

    arq keeps it for the whole job timeout; if this worker dies, a short lease
    lets another worker pick the job up again within `lease_s` instead.
    """
    key = in_progress_key_prefix + job_id
    while True:
        await redis.pexpire(key, int(lease_s * 1000))
        await asyncio.sleep(lease_s / 3)


async def _run_chain(
    job: CompletionJob,
    settings: Settings,
    publisher: JobPublisher,
    slots: CliSlots,
    warm: WarmPool | None = None,
) -> ResultEvent | ErrorEvent:
    redis = publisher.redis
    chain = [job.cli_model, *job.fallback_models]
    last: failures.Failure | None = None
    limited_until: list[float] = []
    for index, model in enumerate(chain):
        has_next = index + 1 < len(chain)
        reset_at = await cooldown_until(redis, job.queue, model)
        if reset_at is not None:
            log.info("job %s: %s is usage-limited until %s, skipping", job.id, model, int(reset_at))
            limited_until.append(reset_at)
            continue
        async with slots.slot():
            await publisher.publish(StartedEvent(model=model, worker=WORKER_NAME))
            outcome = await run_cli(job, model, settings, publisher.text, may_fall_back=has_next, warm=warm)
        if outcome.result is not None:
            await clear_cooldown(redis, job.queue, model)
            publisher.fell_back = model != job.cli_model
            return outcome.result
        last = outcome.failure
        assert last is not None
        if last.reset_at is not None and last.kind in ("usage_limit", "rate_limit"):
            await set_cooldown(redis, job.queue, model, last.reset_at)
            limited_until.append(last.reset_at)
        if not (has_next and last.fallback_ok and not outcome.emitted_text):
            break
        log.info("job %s: %s on %s, falling back", job.id, last.kind, model)
    if limited_until and (last is None or last.kind == "usage_limit"):
        retry_after = max(1.0, min(limited_until) - time.time())
        return ErrorEvent(error=failures.failure("usage_limit", retry_after=retry_after).error)
    assert last is not None
    return ErrorEvent(error=last.error)
