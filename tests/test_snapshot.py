"""telemetry.snapshot on fakeredis: the Redis-side records (telemetry.activity) read back as one picture."""

from __future__ import annotations

import json
import time

import fakeredis
import pytest
from arq.constants import in_progress_key_prefix

from litellm_claude.jobs import event_stream, keys, workers
from litellm_claude.jobs.accounts import set_cooldown
from litellm_claude.jobs.contract import (
    CompletionJob,
    ErrorEvent,
    JobError,
    JobMessage,
    ResultEvent,
    StartedEvent,
)
from litellm_claude.jobs.workers import WorkerReport
from litellm_claude.telemetry import activity
from litellm_claude.telemetry.snapshot import take_snapshot

QUEUE = "lc:test:snapshot"


def job(owner: str | None = "owner-a") -> CompletionJob:
    return CompletionJob(
        model="sonnet",
        alias="sonnet",
        cli_model="sonnet",
        messages=[JobMessage(role="user", content="hi")],
        owner=owner,
        queue=QUEUE,
    )


async def test_snapshot_reads_what_workers_and_front_doors_write() -> None:
    redis = fakeredis.FakeAsyncRedis()
    now = time.time()
    ok, bad, cancelled, waiting, running = job(), job("owner-b"), job(), job(), job()
    async with redis.pipeline(transaction=False) as pipe:
        activity.stage_outcome(pipe, ok, ResultEvent(text="x", model="sonnet"), duration_s=2, wait_s=1)
        error = JobError(type="api_error", code="cli_failed", message="boom", status=502)
        activity.stage_outcome(pipe, bad, ErrorEvent(error=error), duration_s=4, wait_s=3)
        gone = JobError(type="cancelled", code="job_cancelled", message="stop", status=499)
        activity.stage_outcome(pipe, cancelled, ErrorEvent(error=gone), duration_s=0, wait_s=0)
        await pipe.execute()
    await redis.zadd(QUEUE, {waiting.id: now * 1000 - 5000, running.id: now * 1000})
    await redis.set(in_progress_key_prefix + running.id, b"1")
    await redis.zadd(keys.cli_slots(QUEUE), {"lease": (now + 30) * 1000})
    await set_cooldown(redis, QUEUE, "default", "opus", "seven_day_opus", now + 600)
    report = WorkerReport(id="w1", host="h", pid=1, started=now - 60, reported=now, max_jobs=4)
    await workers.publish(redis, QUEUE, report)
    stale = WorkerReport(id="w0", host="h", pid=2, started=now - 600, reported=now - 120, max_jobs=4)
    await redis.zadd(keys.worker_reports(QUEUE), {stale.id: int(stale.reported * 1000)})

    batch_id = "batch_" + "0" * 32
    items = [{"index": 0, "job_id": ok.id}, {"index": 1, "job_id": running.id}, {"index": 2, "error": {}}]
    await redis.set(
        keys.openai_batch(batch_id), json.dumps({"id": batch_id, "owner": "owner-a", "items": items})
    )
    await activity.index_batch(redis, QUEUE, batch_id, now, 3600)
    for job_id, event in (
        (ok.id, ResultEvent(text="x", model="sonnet")),
        (running.id, StartedEvent(model="s")),
    ):
        await event_stream.publish(redis, job_id, event, maxlen=100, ttl_s=60)

    snap = await take_snapshot(redis, QUEUE, signins=[("default", "oauth")], cli_cap=4)
    assert (snap.queue.waiting, snap.queue.running) == (1, 1)
    assert snap.queue.oldest_waiting_s == pytest.approx(5, abs=1)
    assert (snap.cli.running, snap.cli.cap) == (1, 4)
    assert [w.id for w in snap.workers] == ["w1"]  # the stale one is not listed
    assert [c.scope for c in snap.cooldowns] == ["opus"] and snap.accounts[0].cooldowns == snap.cooldowns
    assert snap.failures_by_code == {"cli_failed": 1}  # a cancelled job is not a failure
    (batch,) = snap.batches
    assert (batch.total, batch.succeeded, batch.failed, batch.running, batch.status) == (
        3,
        1,
        1,
        1,
        "in_progress",
    )
    assert sum(p.succeeded for p in snap.timeline) == 1 and sum(p.failed for p in snap.timeline) == 1
    (point,) = [p for p in snap.timeline if p.succeeded or p.failed]
    assert point.avg_duration_s == pytest.approx(2.0)  # (2 + 4 + 0) / 3 jobs ended

    own = await take_snapshot(redis, QUEUE, owner="owner-b", all_callers=False)
    assert own.scope == "own" and own.batches == [] and own.failures_by_code == {"cli_failed": 1}
    other = await take_snapshot(redis, QUEUE, owner="owner-c", all_callers=False)
    assert other.recent_failures == [] and other.batches == []
