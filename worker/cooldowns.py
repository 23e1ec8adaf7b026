"""Shared model cooldowns: when the account hits a usage limit, every worker skips that model.

The reset time is stored in Redis with a TTL ending at the reset; a success on
that model clears it early.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from litellm_claude.jobs import keys


async def set_cooldown(redis: Redis, queue: str, model: str, reset_at: float) -> None:
    ttl_ms = int((reset_at - time.time()) * 1000)
    if ttl_ms > 0:
        await redis.set(keys.cooldown(queue, model), str(reset_at), px=ttl_ms)


async def cooldown_until(redis: Redis, queue: str, model: str) -> float | None:
    raw = await redis.get(keys.cooldown(queue, model))
    if raw is None:
        return None
    reset_at = float(raw)
    return reset_at if reset_at > time.time() else None


async def clear_cooldown(redis: Redis, queue: str, model: str) -> None:
    await redis.delete(keys.cooldown(queue, model))
