"""The workers on a queue: each one's periodic report, and which of them are alive.

Every worker this package configures (`litellm-claude worker`, `serve`, or arq with
`worker.settings`) writes one report every REPORT_EVERY_S (worker/report.py): who it is,
the jobs it runs and its CLI processes. One record serves every reader: the fail-fast
check, `/ready` and the live-worker and running-job gauges (`LiveWorkers`, `count`), and
`litellm-claude status` and the dashboard (`live_reports`, via telemetry/snapshot.py).
A worker that stops withdraws its report at once; one that dies drops out when the
report expires (REPORT_TTL_S). A worker of another make that only refreshes arq's
health-check key proves one worker without counting them; either counts as alive.

Front doors ask before every synchronous request, so `LiveWorkers` keeps a
positive answer for a second; a negative one is never cached, so a worker that
appears is used at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from litellm_claude.jobs import arq_adapter, errors, keys
from litellm_claude.jobs.contract import JobError

REPORT_EVERY_S = 2.0
REPORT_MIN_GAP_S = 0.5  # a burst of job starts and ends makes one report
REPORT_TTL_S = 6  # three reports missed: the worker is gone
POSITIVE_CACHE_S = 1.0


class CliProcess(BaseModel):
    pid: int
    rss_mb: float | None = None


class RunningJob(BaseModel):
    id: str
    alias: str
    priority: str
    started: float
    owner: str | None = None


class WorkerReport(BaseModel):
    """One worker as it last described itself."""

    id: str
    host: str
    pid: int
    started: float
    reported: float
    max_jobs: int
    jobs: list[RunningJob] = Field(default_factory=list)
    cli_processes: list[CliProcess] = Field(default_factory=list)


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
    return arq_adapter.health_key(queue)


def _now_ms() -> int:
    return int(time.time() * 1000)


async def publish(redis: Redis, queue: str, report: WorkerReport) -> None:
    """Write `report`, live until REPORT_TTL_S after it was made; drop the reports of dead workers."""
    expiry_ms = int((report.reported + REPORT_TTL_S) * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(keys.worker_report(queue, report.id), report.model_dump_json(), ex=REPORT_TTL_S)
        pipe.zadd(keys.worker_reports(queue), {report.id: expiry_ms})
        pipe.zremrangebyscore(keys.worker_reports(queue), "-inf", _now_ms())
        pipe.expire(keys.worker_reports(queue), REPORT_TTL_S * 4)
        await pipe.execute()


async def withdraw(redis: Redis, queue: str, worker_id: str) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.delete(keys.worker_report(queue, worker_id))
        pipe.zrem(keys.worker_reports(queue), worker_id)
        await pipe.execute()


async def live_reports(redis: Redis, queue: str) -> list[WorkerReport]:
    """The reports of the workers alive on `queue`, oldest worker first."""
    ids = await redis.zrangebyscore(keys.worker_reports(queue), _now_ms(), "+inf")
    if not ids:
        return []
    names = [i.decode() if isinstance(i, bytes) else str(i) for i in ids]
    raws = await redis.mget([keys.worker_report(queue, name) for name in names])
    reports = [WorkerReport.model_validate_json(raw) for raw in raws if raw is not None]
    return sorted(reports, key=lambda r: r.started)


async def count(redis: Redis, queue: str) -> WorkerCount:
    """Workers whose report has not expired, and the jobs they run."""
    reports = await live_reports(redis, queue)
    arq_alive = not reports and bool(await redis.exists(health_key(queue)))
    return WorkerCount(workers=len(reports), running=sum(len(r.jobs) for r in reports), arq_only=arq_alive)


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
            pipe.zcount(keys.worker_reports(queue), _now_ms(), "+inf")
            pipe.exists(health_key(queue))
            announced, arq_alive = await pipe.execute()
        if announced or arq_alive:
            self._seen_until[queue] = now + POSITIVE_CACHE_S
            return True
        self._seen_until.pop(queue, None)
        return False
