"""One typed picture of the service, read straight from Redis: what `status` and the dashboard show.

`take_snapshot` gathers, in a few pipelined round trips: the queue (waiting vs
running), the live workers with their jobs and CLI processes, the CLI cap in use,
each sign-in's limit windows and cooldowns (jobs/accounts.py), the
failures of the last hour by error code, recent batches with their progress,
and finished jobs per 10 s bucket for throughput and latency charts. It needs
no API process, only the workers' Redis and queue name.

`owner=None` means every caller's work (an admin, or the `status` command);
any other value limits failures and batches to that owner's (an owner hash,
never a key). Queue, workers and cooldowns are the service's, shown to all.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from litellm_claude.jobs import arq_adapter, event_stream, keys
from litellm_claude.jobs.accounts import read_accounts
from litellm_claude.jobs.connection import reply
from litellm_claude.jobs.workers import WorkerReport, live_reports
from litellm_claude.telemetry.activity import BUCKET_S, FailureRecord

ALL = None
FAILURE_WINDOW_S = 3_600
TIMELINE_WINDOW_S = 600
FAILURES_SHOWN = 20
BATCHES_SHOWN = 20


class QueueState(BaseModel):
    name: str
    waiting: int
    running: int
    oldest_waiting_s: float | None = None
    worker_heartbeat: bool = Field(
        description="arq's health-check key is live: some worker polls this queue."
    )


class CliState(BaseModel):
    running: int = Field(description="CLI slots leased across all workers (the global cap's use).")
    cap: int | None = None


class Cooldown(BaseModel):
    account: str = Field(description="The sign-in's name (never a secret).")
    scope: str = Field(description='"account" (every model) or the model family that is limited.')
    window: str
    until: float
    seconds_left: float


class LimitWindow(BaseModel):
    window: str
    status: str
    utilization: float | None
    resets_at: float | None


class AccountState(BaseModel):
    """A sign-in as the pool sees it (jobs/accounts.py): its limit windows and cooldowns."""

    name: str
    kind: str
    windows: list[LimitWindow] = Field(default_factory=list)
    cooldowns: list[Cooldown] = Field(default_factory=list)


class BatchProgress(BaseModel):
    id: str
    kind: Literal["openai", "jobs"]
    owner: str | None
    created: float
    total: int
    succeeded: int
    failed: int
    running: int
    status: Literal["in_progress", "completed", "cancelled"]
    metadata: dict[str, str] = Field(default_factory=dict)

    @property
    def done(self) -> int:
        return self.succeeded + self.failed


class TimelinePoint(BaseModel):
    at: int = Field(description="Start of the bucket, unix seconds.")
    succeeded: int = 0
    failed: int = 0
    avg_duration_s: float | None = None
    avg_wait_s: float | None = None


class Snapshot(BaseModel):
    at: float
    scope: Literal["all", "own"]
    queue: QueueState
    cli: CliState
    workers: list[WorkerReport]
    cooldowns: list[Cooldown]
    accounts: list[AccountState]
    failures_by_code: dict[str, int] = Field(description="Failed jobs of the last hour by error code.")
    recent_failures: list[FailureRecord]
    batches: list[BatchProgress]
    timeline: list[TimelinePoint] = Field(description=f"Jobs ended per {BUCKET_S} s, oldest first.")


async def take_snapshot(
    redis: Redis,
    queue: str,
    *,
    signins: Sequence[tuple[str, str]] = (),
    owner: str | None = ALL,
    all_callers: bool = True,
    cli_cap: int | None = None,
) -> Snapshot:
    """`signins` are the deployment's (name, kind) pairs (config.signins.load_signins)."""
    now = time.time()
    workers = await live_reports(redis, queue)
    accounts = await _accounts(redis, queue, signins, now)
    failures = await _failures(redis, queue, owner if not all_callers else ALL, now)
    recent = [f for f in failures if f.at >= now - FAILURE_WINDOW_S]
    return Snapshot(
        at=now,
        scope="all" if all_callers else "own",
        queue=await _queue(redis, queue, now),
        cli=CliState(running=await redis.zcount(keys.cli_slots(queue), int(now * 1000), "+inf"), cap=cli_cap),
        workers=workers,
        cooldowns=[c for account in accounts for c in account.cooldowns],
        accounts=accounts,
        failures_by_code=dict(Counter(f.code for f in recent).most_common()),
        recent_failures=failures[:FAILURES_SHOWN],
        batches=await _batches(redis, queue, owner, all_callers),
        timeline=await _timeline(redis, queue, now),
    )


async def _queue(redis: Redis, queue: str, now: float) -> QueueState:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrange(queue, 0, -1, withscores=True)
        pipe.exists(arq_adapter.health_key(queue))
        entries, heartbeat = await pipe.execute()
    ids = [member.decode() if isinstance(member, bytes) else str(member) for member, _ in entries]
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.exists(arq_adapter.in_progress_key(job_id))
        held = await pipe.execute() if ids else []
    waiting_scores = [score for (_, score), busy in zip(entries, held, strict=True) if not busy]
    oldest = min(waiting_scores) if waiting_scores else None
    return QueueState(
        name=queue,
        waiting=len(waiting_scores),
        running=sum(1 for busy in held if busy),
        # arq scores by enqueue time (ms); bulk jobs are scored later on purpose, so clamp at 0
        oldest_waiting_s=max(0.0, now - oldest / 1000) if oldest is not None else None,
        worker_heartbeat=bool(heartbeat),
    )


async def _accounts(
    redis: Redis, queue: str, signins: Sequence[tuple[str, str]], now: float
) -> list[AccountState]:
    return [
        AccountState(
            name=state.name,
            kind=state.kind,
            windows=[
                LimitWindow(window=w.window, status=w.status, utilization=w.utilization, resets_at=w.reset_at)
                for w in sorted(state.windows.values(), key=lambda w: w.window)
                if w.current(now)
            ],
            cooldowns=[
                Cooldown(
                    account=state.name,
                    scope=c.scope,
                    window=c.window,
                    until=c.reset_at,
                    seconds_left=round(c.reset_at - now, 1),
                )
                for c in sorted(state.cooldowns.values(), key=lambda c: c.scope)
            ],
        )
        for state in await read_accounts(redis, queue, signins)
    ]


async def _failures(redis: Redis, queue: str, owner: str | None, now: float) -> list[FailureRecord]:
    raws = await reply(redis.lrange(keys.recent_failures(queue), 0, -1))
    failures = [FailureRecord.model_validate_json(raw) for raw in raws]
    return [f for f in failures if owner is ALL or f.owner == owner]


async def _timeline(redis: Redis, queue: str, now: float) -> list[TimelinePoint]:
    last = int(now // BUCKET_S) * BUCKET_S
    starts = list(range(last - TIMELINE_WINDOW_S + BUCKET_S, last + 1, BUCKET_S))
    async with redis.pipeline(transaction=False) as pipe:
        for start in starts:
            pipe.hgetall(keys.timeline(queue, start))
        buckets = await pipe.execute()
    points = []
    for start, raw in zip(starts, buckets, strict=True):
        fields = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in raw.items()}
        ended = fields.get("succeeded", 0) + fields.get("failed", 0) + fields.get("cancelled", 0)
        points.append(
            TimelinePoint(
                at=start,
                succeeded=int(fields.get("succeeded", 0)),
                failed=int(fields.get("failed", 0)),
                avg_duration_s=round(fields["duration_sum"] / ended, 3) if ended else None,
                avg_wait_s=round(fields["wait_sum"] / ended, 3) if ended else None,
            )
        )
    return points


# --- Batches --------------------------------------------------------------------------------------


async def _batches(redis: Redis, queue: str, owner: str | None, all_callers: bool) -> list[BatchProgress]:
    found = await redis.zrevrange(keys.recent_batches(queue), 0, -1)
    ids = [i.decode() if isinstance(i, bytes) else str(i) for i in found]
    if not ids:
        return []
    raws = await redis.mget([_record_key(i) for i in ids])
    out: list[BatchProgress] = []
    for batch_id, raw in zip(ids, raws, strict=True):
        if raw is None:
            continue
        record: dict[str, Any] = json.loads(raw)
        if not all_callers and record.get("owner") != owner:
            continue
        out.append(await _progress(redis, batch_id, record))
        if len(out) >= BATCHES_SHOWN:
            break
    return out


def _record_key(batch_id: str) -> str:
    return keys.batch(batch_id) if batch_id.startswith("jbatch_") else keys.openai_batch(batch_id)


async def _progress(redis: Redis, batch_id: str, record: dict[str, Any]) -> BatchProgress:
    """Counts from each job's last event: a result or an error ends it; a start means running."""
    items: list[dict[str, Any]] = record.get("items", [])
    job_ids = [item["job_id"] for item in items if item.get("job_id")]
    rejected = sum(1 for item in items if not item.get("job_id"))
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.xrevrange(keys.events(job_id), count=1)
        pipe.exists(keys.openai_batch_cancel(batch_id))
        replies = await pipe.execute()
    cancelled = bool(replies.pop())
    succeeded, failed, running = 0, rejected, 0
    for entries in replies:
        kind = _last_event_type(entries)
        if kind == "result":
            succeeded += 1
        elif kind == "error":
            failed += 1
        elif kind is not None:
            running += 1
    total = len(items)
    finished = succeeded + failed >= total
    status: Literal["in_progress", "completed", "cancelled"] = (
        "cancelled" if cancelled and finished else "completed" if finished else "in_progress"
    )
    return BatchProgress(
        id=batch_id,
        kind="jobs" if batch_id.startswith("jbatch_") else "openai",
        owner=record.get("owner"),
        created=float(record.get("created", 0)),
        total=total,
        succeeded=succeeded,
        failed=failed,
        running=running,
        status=status,
        metadata=record.get("metadata") or {},
    )


def _last_event_type(entries: list[Any]) -> str | None:
    if not entries:
        return None
    _, fields = entries[0]
    raw = fields.get(event_stream.FIELD) or fields.get(event_stream.FIELD.decode())
    if raw is None:
        return "unknown"
    try:
        return str(json.loads(raw).get("type", "unknown"))
    except ValueError:
        return "unknown"
