"""Jobs waiting for a busy warm process (WarmPool._wait_for_busy) leave no bookkeeping behind.

A worker sees many configurations over its life (each system prompt + schema pair is one); the
pool must not keep an entry for every configuration that ever had a waiting job.
"""

from __future__ import annotations

import asyncio

from litellm_claude.config.settings import Settings
from litellm_claude.worker.warm_pool import WarmPool


def pool(wait_s: float) -> WarmPool:
    return WarmPool(Settings(_env_file=None, warm_wait_s=wait_s))  # type: ignore[call-arg]


async def test_woken_waiters_leave_no_entry() -> None:
    p = pool(30.0)
    p._busy["k"] = 1
    first = asyncio.create_task(p._wait_for_busy("k"))
    second = asyncio.create_task(p._wait_for_busy("k"))
    await asyncio.sleep(0)  # both tasks run up to their wait (they were scheduled before this task)
    assert len(p._waiters["k"]) == 2
    del p._busy["k"]  # the busy process failed and was closed: nothing to take
    p._wake("k")
    p._wake("k")
    assert await first is None and await second is None
    assert p._waiters == {} and not p._busy


async def test_a_timed_out_waiter_leaves_no_entry() -> None:
    p = pool(0.01)
    p._busy["k"] = 1
    assert await p._wait_for_busy("k") is None
    assert p._waiters == {}


async def test_no_entry_for_a_configuration_with_nothing_busy() -> None:
    p = pool(30.0)
    assert await p._wait_for_busy("k") is None
    assert p._waiters == {} and not p._busy
