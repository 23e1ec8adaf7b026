"""A global cap on CLI processes across all workers, held in Redis with expiring leases.

A lease is a member of a sorted set scored by its expiry; a worker renews its
leases while the CLI runs, so a worker that dies loses its slots within one
lease period. Waiters block on a Redis list that each release pushes to (no
sleep loop); the lease expiry bounds the wait when a holder dies silently.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from litellm_claude.jobs import keys
from litellm_claude.jobs.connection import reply
from litellm_claude.jobs.redis_down import is_redis_down

_ACQUIRE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
  return 1
end
return 0
"""


class CliSlots:
    def __init__(self, redis: Redis, *, queue: str, cap: int, lease_s: float) -> None:
        self.redis = redis
        self.key = keys.cli_slots(queue)
        self.freed_key = keys.cli_slots_freed(queue)
        self.cap = cap
        self.lease_s = lease_s
        self._acquire = redis.register_script(_ACQUIRE)

    async def try_acquire(self, lease: str) -> bool:
        now_ms = int(time.time() * 1000)
        ok = await self._acquire(keys=[self.key], args=[now_ms, self.cap, int(self.lease_s * 1000), lease])
        return bool(ok)

    async def release(self, lease: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.key, lease)
            pipe.lpush(self.freed_key, b"1")
            pipe.ltrim(self.freed_key, 0, self.cap * 4)
            pipe.expire(self.freed_key, int(self.lease_s) + 5)
            await pipe.execute()

    async def _renew(self, lease: str) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            expiry = int((time.time() + self.lease_s) * 1000)
            try:
                await self.redis.zadd(self.key, {lease: expiry}, xx=True)
            except Exception as exc:  # Redis away: the job notices on its next write
                if not is_redis_down(exc):
                    raise

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the `cap` slots for the duration of the block."""
        lease = uuid.uuid4().hex
        while not await self.try_acquire(lease):
            # Woken by a release; the timeout covers holders that died without releasing.
            await reply(self.redis.blpop([self.freed_key], timeout=max(1, int(self.lease_s / 3))))
        renew = asyncio.create_task(self._renew(lease))
        try:
            yield
        finally:
            renew.cancel()
            await asyncio.shield(self.release(lease))
