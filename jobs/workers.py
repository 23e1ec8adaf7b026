"""Which workers are alive on a queue: what `/ready`, `/metrics` and the fail-fast check ask.

A worker started by `litellm-claude worker` announces itself every few seconds
(`worker/presence.py`) in a sorted set scored by heartbeat expiry, with how many
jobs it runs. A worker started with plain `arq` only refreshes arq's health-check
key, which proves one worker without counting them; either counts as alive.

Front doors ask before every synchronous request, so `LiveWorkers` keeps a
positive answer for a second; a negative one is never cached, so a worker that
appears is used at once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from arq.constants import health_check_key_suffix
from redis.asyncio import Redis

from litellm_claude.jobs import errors, keys
from litellm_claude.jobs.connection import reply
from litellm_claude.jobs.contract import JobError

POSITIVE_CACHE_S = 1.0


@dataclass(frozen=True, slots=True)
class WorkerCount:
    """Live workers on one queue; `arq_only` means arq's health key is the only sign of life."""

    workers: int
    running: int
    arq_only: bool = False

    @property
    def alive(self) -> bool:
        return self.workers > 0 or self.arq_only


def health_key(queue: str) -> str:
    """arq's health-check key: refreshed by any worker on the queue, expiring shortly after."""
    return queue + health_check_key_suffix


async def count(redis: Redis, queue: str) -> WorkerCount:
    """Announced workers whose heartbeat has not expired, and the jobs they run."""
    now_ms = int(time.time() * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrangebyscore(keys.workers(queue), now_ms, "+inf")
        pipe.exists(health_key(queue))
        live, arq_alive = await pipe.execute()
    running = 0
    if live:
        for raw in await reply(redis.hmget(keys.worker_info(queue), live)):
            if raw is not None:
                running += int(json.loads(raw).get("running", 0))
    return WorkerCount(workers=len(live), running=running, arq_only=not live and bool(arq_alive))


def no_worker_error(queue: str) -> JobError:
    """503 for a queue no worker consumes: the fix is almost always a mismatched setting."""
    return errors.NO_WORKER.error(queue=queue)


class LiveWorkers:
    """`alive(queue)` with a one-second memory of good news, per Redis connection."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._seen_until: dict[str, float] = {}

    async def alive(self, queue: str) -> bool:
        now = time.monotonic()
        if self._seen_until.get(queue, 0.0) > now:
            return True
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcount(keys.workers(queue), int(time.time() * 1000), "+inf")
            pipe.exists(health_key(queue))
            announced, arq_alive = await pipe.execute()
        if announced or arq_alive:
            self._seen_until[queue] = now + POSITIVE_CACHE_S
            return True
        self._seen_until.pop(queue, None)
        return False
