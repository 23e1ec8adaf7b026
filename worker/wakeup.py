"""Start a queued job at once instead of at the worker's next queue poll.

arq workers find jobs by polling the queue. Each submit also pushes a token to a
Redis list (`jobs.queue`, in the job's own transaction); an idle worker blocks on
that list (BLPOP) and, when woken, runs arq's own `start_jobs` on the jobs now due,
which is safe to call beside the poll loop (arq takes each job under a WATCH on its in-progress key). Polling
stays as the fallback, so a lost token only costs one poll interval.
"""

from __future__ import annotations

import asyncio
import logging
import time

from arq import Worker
from redis.asyncio import Redis
from redis.exceptions import RedisError

from litellm_claude.jobs import arq_adapter, keys
from litellm_claude.jobs.connection import reply
from litellm_claude.jobs.redis_down import is_redis_down

log = logging.getLogger(__name__)
WAIT_S = 5


async def wake_on_submit(worker: Worker, redis: Redis) -> None:
    """Run beside `worker.main()`: start due jobs whenever a submit wakes us.

    `redis` is a client of its own (its BLPOP holds a connection). While Redis is
    away this listener only waits; the worker's supervisor logs the outage.
    """
    key = keys.wakeup(worker.queue_name)
    while True:
        try:
            if not worker.allow_pick_jobs:
                return  # draining: no new job
            if worker.job_counter >= worker.max_jobs or not arq_adapter.connected(worker):
                await asyncio.sleep(0.05)  # busy or not started: the poll loop will take it
                continue
            if not await reply(redis.blpop([key], timeout=WAIT_S)):
                continue
            if not worker.allow_pick_jobs:
                await redis.lpush(key, b"1")  # the token is another worker's now
                return
            due = await worker.pool.zrangebyscore(
                worker.queue_name,
                min=float("-inf"),
                max=int(time.time() * 1000),
                start=0,
                num=worker.queue_read_limit,
            )
            await worker.start_jobs(due)
        except (RedisError, OSError) as exc:
            if not is_redis_down(exc):
                log.warning("wake-up listener: %s", exc)
            await asyncio.sleep(1)
