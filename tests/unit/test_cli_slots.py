"""worker.cli_slots on fakeredis (with Lua): the global CLI cap, lease expiry, release wake-ups."""

from __future__ import annotations

import asyncio
import time

import fakeredis

from litellm_claude.jobs import keys
from litellm_claude.worker.cli_slots import CliSlots


def _slots(redis: fakeredis.FakeAsyncRedis, cap: int = 2, lease_s: float = 30.0) -> CliSlots:
    return CliSlots(redis, queue="q", cap=cap, lease_s=lease_s)


async def test_no_more_leases_than_the_cap() -> None:
    slots = _slots(fakeredis.FakeAsyncRedis(), cap=2)
    assert await slots.try_acquire("a") and await slots.try_acquire("b")
    assert not await slots.try_acquire("c")
    await slots.release("a")
    assert await slots.try_acquire("c")


async def test_a_lease_left_by_a_dead_holder_expires() -> None:
    redis = fakeredis.FakeAsyncRedis()
    slots = _slots(redis, cap=1)
    # A holder that died: its lease expired a second ago and was never released.
    await redis.zadd(keys.cli_slots("q"), {"dead": int((time.time() - 1) * 1000)})
    assert await slots.try_acquire("alive")
    assert await redis.zrange(keys.cli_slots("q"), 0, -1) == [b"alive"]


async def test_a_release_wakes_a_waiter_and_every_slot_is_given_back() -> None:
    redis = fakeredis.FakeAsyncRedis()
    slots = _slots(redis, cap=1)
    order: list[str] = []
    first_in = asyncio.Event()
    let_go = asyncio.Event()

    async def holder() -> None:
        async with slots.slot():
            order.append("first")
            first_in.set()
            await let_go.wait()

    async def waiter() -> None:
        await first_in.wait()
        async with slots.slot():
            order.append("second")

    tasks = [asyncio.create_task(holder()), asyncio.create_task(waiter())]
    await first_in.wait()
    assert await redis.zcard(keys.cli_slots("q")) == 1
    let_go.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert order == ["first", "second"]
    assert await redis.zcard(keys.cli_slots("q")) == 0
