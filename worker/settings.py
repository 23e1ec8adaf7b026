"""arq WorkerSettings built from our Settings: JSON serializer, concurrency, abortable jobs, warm CLIs."""

from __future__ import annotations

from typing import Any

from arq import func
from arq.connections import RedisSettings

from litellm_claude.config.settings import Settings, get_settings
from litellm_claude.config.signins import load_signins, warn_if_signed_out
from litellm_claude.jobs import codec, keys
from litellm_claude.jobs.redis_url import is_sentinel, parse_sentinel
from litellm_claude.worker.cli_parent_death import guarded_cli_path
from litellm_claude.worker.cli_slots import CliSlots
from litellm_claude.worker.drain import HandBack
from litellm_claude.worker.job import run_completion
from litellm_claude.worker.report import WorkerReporter
from litellm_claude.worker.scratch import ScratchRoot, remove_dead_roots
from litellm_claude.worker.warm_pool import WarmPool

HOLD_TRIES = 1_000_000


def redis_settings(url: str) -> RedisSettings:
    """arq's RedisSettings for `arq worker.settings.WorkerSettings` (a Sentinel URL too)."""
    if not is_sentinel(url):
        return RedisSettings.from_dsn(url)
    target = parse_sentinel(url)
    return RedisSettings(
        host=target.sentinels,
        sentinel=True,
        sentinel_master=target.service,
        database=target.db,
        username=target.username,
        password=target.password,
        ssl=target.ssl,
    )


def worker_kwargs(
    settings: Settings, redis: RedisSettings | None, hand_back: HandBack | None = None
) -> dict[str, Any]:
    """Keyword arguments for `arq.Worker` (also usable as a WorkerSettings class body).

    `redis` is None when the caller passes its own pool (`redis_pool=`, service/run.py).
    `hand_back` is the drain's flag (worker/drain.py), shared with the job function.
    """

    signins = load_signins(settings)  # a bad SIGNINS stops the worker at start, with its reason
    warn_if_signed_out(settings)

    async def on_startup(ctx: dict[str, Any]) -> None:
        if "scratch" in ctx:
            return  # main() entered again after a Redis outage (worker/supervisor.py): all set
        remove_dead_roots()
        scratch = ctx["scratch"] = ScratchRoot()
        cli_path = guarded_cli_path(settings.claude_cli_path, scratch.path)
        ctx["settings"] = settings.model_copy(update={"claude_cli_path": cli_path})
        ctx["signins"] = signins
        ctx["cli_slots"] = CliSlots(
            ctx["redis"],
            queue=settings.queue_name,
            cap=settings.global_max_cli,
            lease_s=settings.cli_slot_lease_s,
        )
        ctx["reporter"] = WorkerReporter(
            ctx["redis"], queue=settings.queue_name, max_jobs=settings.worker_max_jobs
        )
        ctx["reporter"].start()
        # ctx["settings"]: its CLI path is the parent-death launcher (worker/cli_parent_death.py)
        ctx["warm_pool"] = WarmPool(
            ctx["settings"], ctx["redis"], settings.queue_name, scratch_root=str(scratch.path)
        )
        ctx["warm_pool"].start()

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        pool: WarmPool | None = ctx.get("warm_pool")
        if pool is not None:
            await pool.close()
        if "reporter" in ctx:
            await ctx["reporter"].stop()
        if "scratch" in ctx:
            ctx["scratch"].close()

    return {
        "functions": [
            func(
                run_completion,
                name=keys.WORKER_FUNCTION,
                # holds of bulk work are arq retries too; run_completion counts real tries itself
                max_tries=HOLD_TRIES,
                timeout=settings.job_timeout_s + 30,
            )
        ],
        "queue_name": settings.queue_name,
        "max_jobs": settings.worker_max_jobs,
        "job_timeout": settings.job_timeout_s + 30,
        "keep_result": 60,
        "allow_abort_jobs": True,
        "job_serializer": codec.dumps,
        "job_deserializer": codec.loads,
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "health_check_interval": 10,
        "poll_delay": settings.worker_poll_delay_s,
        "ctx": {"hand_back": hand_back} if hand_back is not None else None,
        **({"redis_settings": redis} if redis is not None else {}),
    }


def build_worker_settings(settings: Settings | None = None) -> type:
    """An arq WorkerSettings class, so `arq worker.settings.WorkerSettings` also works."""
    settings = settings or get_settings()
    redis = redis_settings(settings.redis_url or "redis://127.0.0.1:6379")
    return type("WorkerSettings", (), worker_kwargs(settings, redis))


def __getattr__(name: str) -> Any:
    if name == "WorkerSettings":
        return build_worker_settings()
    raise AttributeError(name)
