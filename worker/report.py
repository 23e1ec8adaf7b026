"""This worker's periodic report (jobs/workers.py): alive, its running jobs and its CLI processes.

`WorkerReporter` keeps the jobs this worker runs (the job function adds and removes
them) and publishes them with the CLI processes found under this process in /proc,
every REPORT_EVERY_S and soon after a job starts or ends. The one record is what the
front doors' fail-fast check, `/ready`, the gauges, `status` and the dashboard read.
A worker that stops withdraws its report; one that dies drops out when it expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from litellm_claude.jobs import workers
from litellm_claude.jobs.contract import CompletionJob
from litellm_claude.jobs.redis_down import is_redis_down
from litellm_claude.jobs.workers import REPORT_EVERY_S, REPORT_MIN_GAP_S, CliProcess, RunningJob, WorkerReport
from litellm_claude.worker.process_tree import cli_processes_under

log = logging.getLogger(__name__)
SCAN_EVERY_S = 5.0  # /proc is scanned for CLI processes at most this often


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class WorkerReporter:
    def __init__(self, redis: Redis, *, queue: str, max_jobs: int) -> None:
        self.redis = redis
        self.queue = queue
        self.max_jobs = max_jobs
        self.id = worker_id()
        self.started = time.time()
        self.jobs: dict[str, RunningJob] = {}
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._processes: list[CliProcess] = []
        self._scanned = -SCAN_EVERY_S

    @contextlib.contextmanager
    def running(self, job: CompletionJob) -> Iterator[None]:
        self.jobs[job.id] = RunningJob(
            id=job.id, alias=job.alias, priority=job.priority, started=time.time(), owner=job.owner
        )
        self._changed.set()
        try:
            yield
        finally:
            self.jobs.pop(job.id, None)
            self._changed.set()

    async def report(self) -> WorkerReport:
        if time.monotonic() - self._scanned >= SCAN_EVERY_S:
            found = await asyncio.to_thread(cli_processes_under, os.getpid())
            self._processes = [CliProcess(pid=pid, rss_mb=rss) for pid, rss in found]
            self._scanned = time.monotonic()
        return WorkerReport(
            id=self.id,
            host=socket.gethostname(),
            pid=os.getpid(),
            started=self.started,
            reported=time.time(),
            max_jobs=self.max_jobs,
            jobs=list(self.jobs.values()),
            cli_processes=self._processes,
        )

    async def _loop(self) -> None:
        while True:
            try:
                await workers.publish(self.redis, self.queue, await self.report())
            except (RedisError, OSError) as exc:
                if not is_redis_down(exc):  # an outage is logged once, by the worker's supervisor
                    log.warning("worker report not published: %s", type(exc).__name__)
            # at least every REPORT_EVERY_S, and soon after a job starts or ends
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), REPORT_EVERY_S)
            self._changed.clear()
            await asyncio.sleep(REPORT_MIN_GAP_S)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop reporting and withdraw the report, so front doors stop counting this worker at once."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await workers.withdraw(self.redis, self.queue, self.id)
