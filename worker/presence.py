"""This worker's report for `status` and the dashboard: its running jobs and CLI processes.

`Presence` keeps the jobs this worker runs (the job function adds and removes
them) and, every few seconds, publishes them with the CLI processes found under
this process in /proc (telemetry.activity). A worker that stops withdraws its
report; one that dies vanishes when the report's TTL runs out.
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

from jobs.contract import CompletionJob
from telemetry.activity import (
    REPORT_EVERY_S,
    CliProcess,
    RunningJob,
    WorkerReport,
    publish_report,
    withdraw_report,
)
from worker.process_tree import cli_processes_under

log = logging.getLogger(__name__)


class Presence:
    def __init__(self, redis: Redis, *, queue: str, max_jobs: int) -> None:
        self.redis = redis
        self.queue = queue
        self.max_jobs = max_jobs
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.started = time.time()
        self.jobs: dict[str, RunningJob] = {}
        self._task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def running(self, job: CompletionJob) -> Iterator[None]:
        self.jobs[job.id] = RunningJob(
            id=job.id, alias=job.alias, priority=job.priority, started=time.time(), owner=job.owner
        )
        try:
            yield
        finally:
            self.jobs.pop(job.id, None)

    def report(self) -> WorkerReport:
        processes = [CliProcess(pid=pid, rss_mb=rss) for pid, rss in cli_processes_under(os.getpid())]
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
                await publish_report(self.redis, self.queue, self.report())
            except (RedisError, OSError) as exc:
                log.warning("worker report not published: %s", type(exc).__name__)
            await asyncio.sleep(REPORT_EVERY_S)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await withdraw_report(self.redis, self.queue, self.id)
