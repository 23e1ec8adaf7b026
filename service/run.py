"""Start the API server and arq workers, alone or together in one event loop."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

import uvicorn
from arq import Worker

from litellm_claude.api.app import create_app
from litellm_claude.config.settings import Settings
from litellm_claude.worker.settings import redis_settings, worker_kwargs
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


def make_worker(settings: Settings, redis_url: str) -> Worker:
    return Worker(**worker_kwargs(settings, redis_settings(redis_url)), handle_signals=False)


async def run_api(settings: Settings, redis_url: str) -> None:
    check_exposure(settings)
    app = create_app(settings, redis_url=redis_url)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=5
    )
    await uvicorn.Server(config).serve()


async def run_worker(settings: Settings, redis_url: str) -> None:
    worker = make_worker(settings, redis_url)
    listener = asyncio.create_task(wake_on_submit(worker, redis_url))
    try:
        await worker.main()
    finally:
        listener.cancel()
        await worker.close()


async def run_all(settings: Settings, redis_url: str) -> None:
    """API and one worker in this process; stops when the API server stops (Ctrl-C)."""
    worker_task = asyncio.create_task(run_worker(settings, redis_url))
    try:
        await run_api(settings, redis_url)
    finally:
        worker_task.cancel()
        await asyncio.gather(worker_task, return_exceptions=True)
