"""Keep an arq worker taking jobs through Redis outages, without a process restart.

arq's `Worker.main()` ends with the first Redis error it meets (its own pool
creation retries only at start). We run it under a loop instead: when Redis
goes away, `main()` ends, one line is logged, Redis is pinged with backoff,
one line is logged when it answers again, and `main()` is entered again on the
same Worker (same pool, same running jobs, same counters). Jobs that were
running meanwhile hand themselves back to the queue (worker/job.py), so no
accepted job is lost; arq's own code is not patched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from arq import Worker
from redis.asyncio import Redis

from litellm_claude.jobs.redis_down import is_redis_down

log = logging.getLogger(__name__)
BACKOFF_S = (0.1, 0.2, 0.5, 1.0, 2.0)


class OutageSafeWorker(Worker):
    """arq's Worker, except that a Redis error while taking a job gives the job's slot back.

    arq counts a job slot taken before it marks the job in progress in Redis; if
    that Redis call fails, the slot would stay taken for good (the worker would
    run fewer jobs after each outage).
    """

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        for job_id in job_ids:
            try:
                await super().start_jobs([job_id])
            except Exception:
                # Only the Redis calls after the slot was taken can raise here.
                self.job_counter -= 1
                self.sem.release()
                raise


@dataclass(slots=True)
class RedisHealth:
    """Whether this process can reach Redis now; shared by the worker loop and its helpers."""

    available: bool = True
    lost_at: float = field(default=0.0)

    def lost(self, exc: BaseException, *, what: str) -> None:
        if self.available:
            self.available = False
            self.lost_at = time.monotonic()
            log.error(
                "Redis connection lost (%s: %s): %s paused, reconnecting", type(exc).__name__, exc, what
            )

    def back(self, *, what: str) -> None:
        if not self.available:
            self.available = True
            log.warning(
                "Redis connection back after %.1f s: %s resumed", time.monotonic() - self.lost_at, what
            )


async def wait_for_redis(redis: Redis, health: RedisHealth, *, what: str) -> None:
    """Ping with backoff until Redis answers (a Sentinel URL re-asks for the primary each time)."""
    attempt = 0
    while True:
        try:
            await redis.ping()
        except Exception as exc:
            if not is_redis_down(exc):
                raise
            health.lost(exc, what=what)
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            attempt += 1
            continue
        health.back(what=what)
        return


async def run_supervised(worker: Worker, health: RedisHealth) -> None:
    """`worker.main()`, entered again each time a Redis outage ended it; returns when main() does."""
    while True:
        try:
            await worker.main()
            return
        except Exception as exc:
            if not is_redis_down(exc):
                raise
            health.lost(exc, what="taking jobs")
        await wait_for_redis(worker.pool, health, what="taking jobs")
        _reap_interrupted(worker)


def _reap_interrupted(worker: Worker) -> None:
    """Forget job tasks that ended on the outage (arq re-raises their errors on its next poll).

    Their jobs are still queued; each is picked up again once its in-progress
    lease lapses (IN_PROGRESS_LEASE_S), by this worker or another.
    """
    for job_id, task in list(worker.tasks.items()):
        if not task.done():
            continue
        del worker.tasks[job_id]
        exc = None if task.cancelled() else task.exception()
        if exc is not None and not is_redis_down(exc):
            log.error("job task %s failed: %s: %s", job_id, type(exc).__name__, exc)
        elif exc is not None:
            log.info("job %s was interrupted by the Redis outage; it stays queued", job_id)
