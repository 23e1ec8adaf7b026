"""Start the API server and arq workers, alone or together in one event loop."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

import uvicorn
from arq import ArqRedis, Worker

from litellm_claude.api.app import create_app
from litellm_claude.config.settings import Settings
from litellm_claude.jobs.connection import async_client, connect
from litellm_claude.jobs.redis_down import is_redis_down
from litellm_claude.worker.settings import worker_kwargs
from litellm_claude.worker.supervisor import OutageSafeWorker, RedisHealth, run_supervised
from litellm_claude.worker.wakeup import wake_on_submit

log = logging.getLogger(__name__)


class ConfigError(SystemExit):
    pass


def check_exposure(settings: Settings) -> None:
    """Refuse to serve without API keys on anything but loopback."""
    if settings.api_key_set:
        return
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    if not loopback:
        raise ConfigError(
            f"API_KEYS is empty: refusing to listen on {settings.host}. "
            "Set API_KEYS (comma-separated) or bind HOST=127.0.0.1."
        )
    log.warning("API_KEYS is empty: the API accepts unauthenticated requests on %s", settings.host)


def make_worker(settings: Settings, redis: ArqRedis) -> Worker:
    return OutageSafeWorker(**worker_kwargs(settings, None), redis_pool=redis, handle_signals=False)


async def run_api(settings: Settings, redis_url: str) -> None:
    check_exposure(settings)
    app = create_app(settings, redis_url=redis_url)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=5
    )
    await uvicorn.Server(config).serve()


async def run_worker(settings: Settings, redis_url: str) -> None:
    """One arq worker that rides out Redis outages (worker/supervisor.py)."""
    pool = connect(
        redis_url, default_queue=settings.queue_name, max_connections=settings.redis_max_connections
    )
    wakeup_redis = async_client(redis_url)
    worker = make_worker(settings, pool)
    listener = asyncio.create_task(wake_on_submit(worker, wakeup_redis))
    try:
        await run_supervised(worker, RedisHealth())
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        try:
            await worker.close()
        except Exception as exc:
            if not is_redis_down(exc):
                raise
            log.warning("worker closed while Redis was away (%s)", type(exc).__name__)
        await wakeup_redis.aclose()
        await pool.aclose()


async def run_all(settings: Settings, redis_url: str) -> None:
    """API and one worker in this process; stops when the API server stops (Ctrl-C)."""
    worker_task = asyncio.create_task(run_worker(settings, redis_url))
    worker_task.add_done_callback(_report_worker_end)
    try:
        await run_api(settings, redis_url)
    finally:
        worker_task.cancel()
        await asyncio.gather(worker_task, return_exceptions=True)


def _report_worker_end(task: asyncio.Task[None]) -> None:
    """In `serve`, the worker must never end unnoticed while the API goes on."""
    if not task.cancelled() and task.exception() is not None:
        log.error("the worker of this process stopped: %r", task.exception())
