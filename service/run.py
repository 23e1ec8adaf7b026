"""Start the API server and arq workers, alone or together in one event loop; stop them gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Coroutine, Iterator
from typing import Any

import uvicorn
from arq import ArqRedis, Worker

from litellm_claude.api.app import create_app
from litellm_claude.config.settings import Settings
from litellm_claude.jobs.connection import async_client, connect
from litellm_claude.jobs.redis_down import is_redis_down
from litellm_claude.service.stop_signals import StopSignals
from litellm_claude.worker.drain import HandBack, drain
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


def make_worker(settings: Settings, redis: ArqRedis, hand_back: HandBack | None = None) -> Worker:
    return OutageSafeWorker(
        **worker_kwargs(settings, None, hand_back), redis_pool=redis, handle_signals=False
    )


class ApiServer(uvicorn.Server):
    """uvicorn without signal handlers of its own: `StopSignals` starts its graceful shutdown.

    (uvicorn's own handlers re-raise SIGTERM once it has stopped, which kills the
    process before anything it started, such as the embedded Redis, is stopped.)
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_api(settings: Settings, redis_url: str, stop: StopSignals) -> None:
    """Serve until a stop signal, then stop accepting and let open requests and streams finish."""
    check_exposure(settings)
    app = create_app(settings, redis_url=redis_url)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=max(1, round(settings.api_drain_grace_s)),
    )
    server = ApiServer(config)
    serving = asyncio.create_task(server.serve())
    if await _first(serving, stop.requested.wait()) is not serving:
        log.info("API: no new connections; open requests get up to %.0f s", settings.api_drain_grace_s)
        server.should_exit = True
        if await _first(serving, stop.forced.wait()) is not serving:
            server.force_exit = True
    await serving


async def run_worker(
    settings: Settings, redis_url: str, stop: StopSignals, *, drain_after: asyncio.Event | None = None
) -> None:
    """Run jobs through Redis outages (worker/supervisor.py) until a stop signal (or `drain_after`),
    then drain (worker/drain.py) and exit."""
    pool = connect(
        redis_url, default_queue=settings.queue_name, max_connections=settings.redis_max_connections
    )
    wakeup_redis = async_client(redis_url)
    hand_back = HandBack()
    worker = make_worker(settings, pool, hand_back)
    main = worker.main_task = asyncio.create_task(run_supervised(worker, RedisHealth()))
    listener = asyncio.create_task(wake_on_submit(worker, wakeup_redis))
    try:
        trigger = drain_after or stop.requested
        if await _first(main, trigger.wait()) is main:
            main.result()  # the worker stopped on its own: surface why
            return
        worker.allow_pick_jobs = False
        listener.cancel()
        elapsed = time.monotonic() - (stop.requested_at or time.monotonic())
        await drain(
            worker, grace_s=settings.worker_drain_grace_s - elapsed, forced=stop.forced, hand_back=hand_back
        )
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        try:
            await worker.close()
        except Exception as exc:
            if not is_redis_down(exc):
                raise
            log.warning("worker closed while Redis was away (%s)", type(exc).__name__)
        with contextlib.suppress(asyncio.CancelledError):
            await main
        if (scratch := worker.ctx.get("scratch")) is not None:
            scratch.close()  # arq skips on_shutdown when a job task or Redis raises in close()
        await wakeup_redis.aclose()
        await pool.aclose()


async def run_all(settings: Settings, redis_url: str, stop: StopSignals) -> None:
    """API and one worker in this process.

    On a stop signal the API drains first while the worker keeps running the
    jobs of its open requests; then the worker drains in what is left of
    WORKER_DRAIN_GRACE_S.
    """
    api_done = asyncio.Event()
    worker_task = asyncio.create_task(run_worker(settings, redis_url, stop, drain_after=api_done))
    worker_task.add_done_callback(_report_worker_end)
    try:
        await run_api(settings, redis_url, stop)
    finally:
        api_done.set()
        await worker_task


async def run_until_stopped(command: str, settings: Settings, redis_url: str) -> None:
    """`serve`, `api` or `worker`, stopping gracefully on SIGTERM or SIGINT."""
    stop = StopSignals()
    stop.install()
    runner = {"serve": run_all, "api": run_api, "worker": run_worker}[command]
    await runner(settings, redis_url, stop)


async def _first(task: asyncio.Task[Any], other: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
    """Wait for `task` or `other`, whichever ends first, and return it; `other` is dropped if late."""
    waiter = asyncio.ensure_future(other)
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        return task
    return waiter


def _report_worker_end(task: asyncio.Task[None]) -> None:
    """In `serve`, the worker must never end unnoticed while the API goes on."""
    if not task.cancelled() and task.exception() is not None:
        log.error("the worker of this process stopped: %r", task.exception())
