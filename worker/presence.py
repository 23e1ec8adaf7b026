"""Announce this worker on its queue every few seconds: who it is and how many jobs it runs.

Read by `jobs/workers.py` (fail-fast, `/ready`, the live-worker and running-job
gauges). The entry expires by itself when the worker dies; a worker that stops
cleanly removes it at once, so front doors stop sending it work.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid

from arq import Worker
from redis.asyncio import Redis
from redis.exceptions import RedisError

from litellm_claude.jobs import keys
from litellm_claude.jobs.connection import async_client
from litellm_claude.jobs.redis_down import is_redis_down
from litellm_claude.jobs.workers import health_key

log = logging.getLogger(__name__)
HEARTBEAT_S = 2.0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def announce(worker: Worker, redis_url: str, *, interval_s: float = HEARTBEAT_S) -> None:
    """Run beside `worker.main()`; cancelled when the worker stops."""
    redis = async_client(redis_url)
    queue = worker.queue_name
    me = worker_id()
    try:
        while True:
            try:
                await _beat(redis, worker, queue, me, expiry_s=3 * interval_s)
            except (RedisError, OSError) as exc:
                if not is_redis_down(exc):  # an outage is logged once, by the worker's supervisor
                    log.warning("worker heartbeat: %s", exc)
            await asyncio.sleep(interval_s)
    finally:
        try:
            await asyncio.shield(_leave(redis, queue, me))
        except (RedisError, OSError):
            pass  # the entry expires by itself
        await redis.aclose()


async def _leave(redis: Redis, queue: str, me: str) -> None:
    """Take this worker off the queue; the last one also clears arq's health key (else alive ~11 s more)."""
    now_ms = int(time.time() * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrem(keys.workers(queue), me)
        pipe.hdel(keys.worker_info(queue), me)
        pipe.zcount(keys.workers(queue), now_ms, "+inf")
        *_, others = await pipe.execute()
    if not others:
        await redis.delete(health_key(queue))


async def _beat(redis: Redis, worker: Worker, queue: str, me: str, *, expiry_s: float) -> None:
    now_ms = int(time.time() * 1000)
    info = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "running": worker.job_counter,
        "max_jobs": worker.max_jobs,
        "seen_ms": now_ms,
    }
    stale = await redis.zrangebyscore(keys.workers(queue), "-inf", now_ms)  # workers that died
    async with redis.pipeline(transaction=False) as pipe:
        if stale:
            pipe.zrem(keys.workers(queue), *stale)
            pipe.hdel(keys.worker_info(queue), *stale)
        pipe.zadd(keys.workers(queue), {me: now_ms + int(expiry_s * 1000)})
        pipe.hset(keys.worker_info(queue), me, json.dumps(info))
        pipe.expire(keys.workers(queue), 86_400)
        pipe.expire(keys.worker_info(queue), 86_400)
        await pipe.execute()
