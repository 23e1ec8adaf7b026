"""arq WorkerSettings built from our Settings: JSON serializer, concurrency, abortable jobs, warm CLIs."""

from __future__ import annotations

from typing import Any

from arq import func
from arq.connections import RedisSettings

from litellm_claude.config.settings import Settings, get_settings
from litellm_claude.jobs import codec, keys
from litellm_claude.worker.cli_slots import CliSlots
from litellm_claude.worker.job import run_completion
from litellm_claude.worker.warm_pool import WarmPool


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


def worker_kwargs(settings: Settings, redis: RedisSettings) -> dict[str, Any]:
    """Keyword arguments for `arq.Worker` (also usable as a WorkerSettings class body)."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        ctx["cli_slots"] = CliSlots(
            ctx["redis"],
            queue=settings.queue_name,
            cap=settings.global_max_cli,
            lease_s=settings.cli_slot_lease_s,
        )
        ctx["warm_pool"] = WarmPool(settings, ctx["redis"], settings.queue_name)
        ctx["warm_pool"].start()

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        pool: WarmPool | None = ctx.get("warm_pool")
        if pool is not None:
            await pool.close()

    return {
        "functions": [
            func(
                run_completion,
                name=keys.WORKER_FUNCTION,
                max_tries=settings.worker_max_tries,
                timeout=settings.job_timeout_s + 30,
            )
        ],
        "redis_settings": redis,
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
