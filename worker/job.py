"""The arq job function: run one completion job through its model chain and publish its events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from typing import Any

from arq import Retry
from redis.asyncio import Redis

from litellm_claude.config.settings import Settings
from litellm_claude.config.signins import SignIn
from litellm_claude.jobs import arq_adapter, errors, event_stream, keys
from litellm_claude.jobs.accounts import clear_cooldown, read_accounts, record_readings, set_cooldown
from litellm_claude.jobs.contract import (
    CompletionJob,
    DeltaEvent,
    ErrorEvent,
    JobError,
    ResultEvent,
    StartedEvent,
)
from litellm_claude.jobs.queue import QUEUED_JOB_TTL_S
from litellm_claude.jobs.redis_down import is_redis_down
from litellm_claude.jobs.windows import family
from litellm_claude.telemetry import activity, log_context
from litellm_claude.telemetry.labels import job_labels
from litellm_claude.telemetry.store import MetricsRecorder
from litellm_claude.worker import failures, limits, routing
from litellm_claude.worker.cli_run import run_cli
from litellm_claude.worker.drain import HandBack
from litellm_claude.worker.limits import LimitHit
from litellm_claude.worker.scratch import ScratchRoot

log = logging.getLogger(__name__)
QUEUED_JOB_TTL_S_INT = int(QUEUED_JOB_TTL_S)
WORKER_NAME = socket.gethostname()
REDIS_RETRY_DEFER_S = 1.0


class JobPublisher:
    """Appends one attempt's events to the job's stream.

    A job nobody follows (`CompletionJob.followed` false: its caller waits for the whole
    answer) has its first delta published at once and the rest of its text held, then
    published as one delta in the same round trip as the terminal event.
    """

    def __init__(self, redis: Redis, job: CompletionJob, attempt: int, settings: Settings) -> None:
        self.redis = redis
        self.job = job
        self.attempt = attempt
        self.settings = settings
        self.first_text_at: float | None = None
        self.fell_back = False
        self._announced: str | None = None
        self._held: DeltaEvent | None = None  # text of an unfollowed job, not yet published

    async def publish(self, event: StartedEvent | DeltaEvent | ResultEvent | ErrorEvent) -> None:
        """Publish `event` (after any held text, in the same round trip)."""
        held, self._held = self._held, None
        events = [e for e in (held, event) if e is not None]
        for each in events:
            each.attempt = self.attempt
        await event_stream.publish_many(
            self.redis,
            self.job.id,
            events,
            maxlen=self.settings.events_maxlen,
            ttl_s=self.settings.events_ttl_s,
        )

    async def text(self, text: str, model: str | None = None) -> None:
        """A delta; the answering model rides on the first one that knows it (streamed chunks name it)."""
        first = self.first_text_at is None
        if first:
            self.first_text_at = time.time()
        announce = model if model is not None and model != self._announced else None
        self._announced = model or self._announced
        if self.job.followed or first:
            await self.publish(DeltaEvent(text=text, model=announce))
        elif self._held is None:
            self._held = DeltaEvent(text=text, model=announce)
        else:
            self._held.text += text
            self._held.model = self._held.model or announce


async def run_completion(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """arq entry point. Always ends the job's event stream with a result or an error event.

    If Redis goes away mid-job the attempt is abandoned (its CLI killed) and the
    job handed back to the queue, never finished as failed: the next attempt runs
    once Redis is back (at once, or when the in-progress lease lapses), and a
    follower gets only the text it has not seen yet.
    """
    try:
        return await _run_completion(ctx, payload)
    except Exception as exc:
        if not is_redis_down(exc):
            raise
        log.warning(
            "job %s: Redis unavailable mid-job (%s); handing it back", payload.get("id"), type(exc).__name__
        )
        raise Retry(defer=REDIS_RETRY_DEFER_S) from exc


async def _run_completion(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    settings: Settings = ctx["settings"]
    redis: Redis = ctx["redis"]
    job = CompletionJob.model_validate(payload)
    log_context.job_id.set(job.id)
    started = time.time()
    publisher = JobPublisher(redis, job, int(ctx.get("job_try") or 1), settings)
    async with redis.pipeline(transaction=False) as pipe:  # one round trip
        pipe.exists(keys.cancel(job.id))
        pipe.get(keys.held(job.id))
        cancelled, held = await pipe.execute()
    if cancelled:
        await publisher.publish(ErrorEvent(error=failures.cancelled()))
        return {"status": "cancelled"}
    holds = int(held or 0)
    if publisher.attempt - holds > settings.worker_max_tries:
        # arq counts holds as tries; only real attempts (crashed workers) count against the limit
        error = failures.failure(
            "cli_crash", f"the job was interrupted {settings.worker_max_tries} times"
        ).error
        await publisher.publish(ErrorEvent(error=error))
        return {"status": "failed", "error": error.model_dump()}
    heartbeat = asyncio.create_task(_hold_in_progress(redis, job.id, settings.in_progress_lease_s))
    reporter = ctx.get("reporter")
    try:
        async with asyncio.timeout(job.timeout_s):
            with reporter.running(job) if reporter else contextlib.nullcontext():
                terminal = await _run_chain(job, settings, publisher, ctx)
    except Held as held:
        heartbeat.cancel()
        await _hold(redis, job, held.until)
        raise Retry(defer=max(0.1, held.until - time.time())) from None
    except TimeoutError:
        terminal = ErrorEvent(error=failures.failure("timeout").error)
    except asyncio.CancelledError:
        if await _handed_back(ctx, redis, job):
            log.info("job %s handed back to the queue: this worker is stopping", job.id)
            raise
        cancelled = ErrorEvent(error=failures.cancelled())
        await asyncio.shield(publisher.publish(cancelled))
        await asyncio.shield(_record(redis, job, publisher, cancelled, started))
        raise
    except Exception as exc:
        if is_redis_down(exc):
            raise
        log.exception("job %s failed unexpectedly", job.id)
        terminal = ErrorEvent(error=errors.WORKER_ERROR.error())
    finally:
        heartbeat.cancel()
    if isinstance(terminal, ErrorEvent):  # the caller gets the code; the operator sees why here
        error = terminal.error
        level = logging.WARNING if error.status >= 500 else logging.INFO
        log.log(level, "job %s failed: %s, %s (%s)", job.id, error.code, error.status, error.message)
    await publisher.publish(terminal)
    await _record(redis, job, publisher, terminal, started)
    if isinstance(terminal, ResultEvent):
        return {"status": "succeeded", "model": terminal.model}
    return {"status": "failed", "error": terminal.error.model_dump()}


async def _handed_back(ctx: dict[str, Any], redis: Redis, job: CompletionJob) -> bool:
    """Cancelled by this worker's drain (not by the caller): the job goes back, its stream stays open."""
    hand_back: HandBack | None = ctx.get("hand_back")
    if hand_back is None or not hand_back.active:
        return False
    return not await asyncio.shield(redis.exists(keys.cancel(job.id)))


async def _record(
    redis: Redis,
    job: CompletionJob,
    publisher: JobPublisher,
    terminal: ResultEvent | ErrorEvent,
    started: float,
) -> None:
    """One job's metrics, in one round trip, by model, priority and caller."""
    metrics = MetricsRecorder(redis, job.queue)
    labels = job_labels(job)
    if isinstance(terminal, ResultEvent):
        metrics.inc("lc_jobs_total", labels={**labels, "outcome": "succeeded", "code": ""})
        usage = terminal.usage
        for kind, count in (
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
            ("cache_read", usage.cache_read_input_tokens),
            ("cache_creation", usage.cache_creation_input_tokens),
        ):
            metrics.inc("lc_tokens_total", count, labels={**labels, "kind": kind})
        metrics.inc("lc_cost_usd_total", usage.total_cost_usd or 0.0, labels=labels)
        if publisher.fell_back:
            metrics.inc("lc_fallbacks_total", labels=labels)
    else:
        outcome = "cancelled" if errors.is_cancelled(terminal.error) else "failed"
        metrics.inc("lc_jobs_total", labels={**labels, "outcome": outcome, "code": terminal.error.code or ""})
    wait_s, duration_s = max(0.0, started - job.created), time.time() - started
    metrics.observe("lc_queue_wait_seconds", wait_s, labels)
    metrics.observe("lc_job_duration_seconds", duration_s, labels)
    activity.stage_outcome(metrics.pipe, job, terminal, duration_s=duration_s, wait_s=wait_s)
    if publisher.first_text_at is not None:
        metrics.observe("lc_time_to_first_token_seconds", publisher.first_text_at - job.created, labels)
    await metrics.flush()


async def _hold(redis: Redis, job: CompletionJob, until: float) -> None:
    """Count the hold (so it is not taken for a crash) and say so once in the log."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(keys.held(job.id))
        pipe.expire(keys.held(job.id), int(job.timeout_s) + QUEUED_JOB_TTL_S_INT)
        await pipe.execute()
    metrics = MetricsRecorder(redis, job.queue)
    metrics.inc("lc_bulk_holds_total")
    await metrics.flush()
    log.info("job %s: bulk work held until %s (sign-ins above BULK_PAUSE_AT_UTILIZATION)", job.id, int(until))


async def _hold_in_progress(redis: Redis, job_id: str, lease_s: float) -> None:
    """Keep arq's in-progress marker short-lived while we run.

    arq keeps it for the whole job timeout; if this worker dies, a short lease
    lets another worker pick the job up again within `lease_s` instead.
    """
    key = arq_adapter.in_progress_key(job_id)
    while True:
        try:
            await redis.pexpire(key, int(lease_s * 1000))
        except Exception as exc:  # Redis away: keep trying; the job itself notices on its next write
            if not is_redis_down(exc):
                raise
        await asyncio.sleep(lease_s / 3)


class Held(Exception):
    """Bulk work put back in the queue until `until` (the sign-ins are above the pause threshold)."""

    def __init__(self, until: float) -> None:
        super().__init__(until)
        self.until = until


async def _run_chain(
    job: CompletionJob, settings: Settings, publisher: JobPublisher, ctx: dict[str, Any]
) -> ResultEvent | ErrorEvent:
    """Try (model, sign-in) pairs as `routing.plan` orders them; refuse or hold when none is left."""
    redis = publisher.redis
    signins: list[SignIn] = ctx["signins"]
    scratch: ScratchRoot | None = ctx.get("scratch")
    chain = [job.cli_model, *job.fallback_models]
    states = {s.name: s for s in await read_accounts(redis, job.queue, [(x.name, x.kind) for x in signins])}
    route = routing.plan(
        chain,
        signins,
        states,
        now=time.time(),
        bulk=job.priority == "bulk",
        pause_at=settings.bulk_pause_at_utilization,
        overflow=settings.api_key_overflow,
        recheck_s=settings.bulk_pause_recheck_s,
    )
    if route.hold_until is not None:
        raise Held(route.hold_until)
    last: failures.Failure | None = None
    limited: list[tuple[str, failures.Failure]] = []
    blocked: set[tuple[str, str]] = set()  # (sign-in, scope) limited during this job
    subscriptions_tried = False
    for index, attempt in enumerate(route.attempts):
        model, signin = attempt.model, attempt.signin
        if (signin.name, "account") in blocked or (signin.name, family(model)) in blocked:
            continue
        if not signin.subscription and subscriptions_tried and (last is None or last.kind != "usage_limit"):
            break  # API keys are an overflow for limited subscriptions only
        has_next = index + 1 < len(route.attempts)
        events: list[dict[str, Any]] = []
        async with ctx["cli_slots"].slot():
            await publisher.publish(StartedEvent(model=model, worker=WORKER_NAME))
            log.info("job %s: running the CLI on %s (attempt %d)", job.id, model, publisher.attempt)
            outcome = await run_cli(
                job,
                model,
                settings,
                publisher.text,
                may_fall_back=has_next,
                signin=signin,
                limit_events=events,
                scratch_root=str(scratch.path) if scratch else None,
                warm=ctx.get("warm_pool"),
            )
        subscriptions_tried = subscriptions_tried or signin.subscription
        await record_readings(
            redis, job.queue, signin.name, [r for raw in events for r in limits.readings(raw)]
        )
        if outcome.result is not None:
            if family(model) in states[signin.name].cooldowns:  # set by a job that raced this one
                await clear_cooldown(redis, job.queue, signin.name, family(model))
            publisher.fell_back = model != job.cli_model
            return outcome.result
        last = outcome.failure
        assert last is not None
        if last.limit is not None:
            scope = last.limit.scope(model)
            await set_cooldown(redis, job.queue, signin.name, scope, last.limit.window, last.limit.reset_at)
            blocked.add((signin.name, scope))
            limited.append((signin.name, last))
            log.info(
                "job %s: sign-in %s hit its %s (%s) on %s until %s",
                job.id,
                signin.name,
                last.limit.window,
                scope,
                model,
                int(last.limit.reset_at),
            )
        if not (has_next and last.fallback_ok and not outcome.emitted_text):
            break
        log.info("job %s: %s on %s (sign-in %s), trying the next", job.id, last.kind, model, signin.name)
    if last is not None and last.kind != "usage_limit":
        return ErrorEvent(error=last.error)
    return ErrorEvent(error=_limited_error(route, limited, len(signins) > 1))


def _limited_error(
    route: routing.Route, limited: list[tuple[str, failures.Failure]], named: bool
) -> JobError:
    """429 for a job no sign-in could take: the earliest reset, its window and (with several) its sign-in."""
    options = [(f.limit, name) for name, f in limited if f.limit is not None]
    options += [
        (LimitHit(b.cooldown.window, b.cooldown.reset_at, "cooldown"), b.signin) for b in route.blockers
    ]
    if not options:
        return failures.limit_failure(LimitHit("unknown", time.time() + limits.DEFAULT_WAIT_S, "none")).error
    hit, name = min(options, key=lambda o: o[0].reset_at)
    return failures.limit_failure(hit, signin=name if named else None).error
