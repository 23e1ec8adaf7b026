"""This worker's report for `status` and the dashboard: its running jobs and CLI processes.

`WorkerReporter` keeps the jobs this worker runs (the job function adds and removes
them) and publishes them with the CLI processes found under this process in
/proc (telemetry.activity), every few seconds and soon after a job starts or
ends. A worker that stops withdraws its report; one that dies vanishes when the
report's TTL runs out.
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

from litellm_claude.jobs.contract import CompletionJob
from litellm_claude.telemetry.activity import (
    REPORT_EVERY_S,
    REPORT_MIN_GAP_S,
    CliProcess,
    RunningJob,
    WorkerReport,
    publish_report,
    withdraw_report,
)
from litellm_claude.worker.process_tree import cli_processes_under

log = logging.getLogger(__name__)


class WorkerReporter:
    def __init__(self, redis: Redis, *, queue: str, max_jobs: int) -> None:
        self.redis = redis
        self.queue = queue
        self.max_jobs = max_jobs
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.started = time.time()
        self.jobs: dict[str, RunningJob] = {}
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._processes: list[CliProcess] = []
        self._scanned = -REPORT_EVERY_S

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
        if time.monotonic() - self._scanned >= REPORT_EVERY_S:  # /proc is scanned at most this often
            found = await asyncio.to_thread(cli_processes_under, os.getpid())
            self._processes = [CliProcess(pid=pid, rss_mb=rss) for pid, rss in found]
            self._scanned = time.monotonic()
        processes = self._processes
        return WorkerReport(
            id=self.id,
            host=socket.gethostname(),
            pid=os.getpid(),
            started=self.started,
            reported=time.time(),
            max_jobs=self.max_jobs,
            jobs=list(self.jobs.values()),
            cli_processes=processes,
        )

    async def _loop(self) -> None:
        while True:
            try:
                await publish_report(self.redis, self.queue, await self.report())
            except (RedisError, OSError) as exc:
                log.warning("worker report not published: %s", type(exc).__name__)
            # at least every REPORT_EVERY_S, and soon after a job starts or ends
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), REPORT_EVERY_S)
            self._changed.clear()
            await asyncio.sleep(REPORT_MIN_GAP_S)  # a burst of starts makes one report

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await withdraw_report(self.redis, self.queue, self.id)
