"""A `/v1/jobs/batch` batch: accepted with its jobs in one MULTI/EXEC, shown as a `job.batch` object."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel
from redis.asyncio import Redis

from litellm_claude.batches import owned
from litellm_claude.batches.items import BatchItem, BatchRecord, ItemStates
from litellm_claude.config.settings import Settings
from litellm_claude.jobs import errors, keys, records
from litellm_claude.jobs.errors import error_object
from litellm_claude.jobs.records import JobRecord
from litellm_claude.jobs.status import JobState
from litellm_claude.openai_compat.response import completion_object
from litellm_claude.telemetry.activity import index_batch

BATCH_ID_RE = re.compile(r"^jbatch_[0-9a-f]{32}$")
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class ItemView(BaseModel):
    index: int
    custom_id: str | None = None
    job_id: str | None = None
    status: str
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class BatchView(BaseModel):
    id: str
    object: Literal["job.batch"] = "job.batch"
    status: Literal["in_progress", "completed"]
    created: int
    expires_at: int
    metadata: dict[str, str]
    total: int
    rejected: int
    counts: dict[str, int]
    progress: float
    items: list[ItemView]


async def accept(conn: Redis, batch: BatchRecord, created: list[JobRecord], settings: Settings) -> None:
    """Write the batch with its jobs, their queue entries and wake-ups in one MULTI/EXEC."""
    extra = [(keys.batch(batch.id), batch.model_dump_json(exclude_none=True))]
    await records.commit(conn, created, settings, extra=extra)


async def index(redis: Redis, batch: BatchRecord, settings: Settings) -> None:
    """List the accepted batch for the dashboard."""
    await index_batch(redis, settings.queue_name, batch.id, batch.created, settings.result_ttl_s)


async def load(redis: Redis, batch_id: str, owner: str | None) -> BatchRecord | None:
    """The owner's batch, or None (unknown, expired or someone else's)."""
    return await owned.load(redis, keys.batch(batch_id), BatchRecord, batch_id, BATCH_ID_RE, owner)


def batch_view(batch: BatchRecord, jobs: ItemStates) -> dict[str, Any]:
    items: list[ItemView] = []
    for item in batch.items:
        items.append(_item_view(item, jobs.get(item.job_id or "")))
    counts = Counter(i.status for i in items)
    done = sum(counts[s] for s in ("succeeded", "failed", "cancelled"))
    view = BatchView(
        id=batch.id,
        status="completed" if done == len(items) else "in_progress",
        created=int(batch.created),
        expires_at=int(batch.expires_at),
        metadata=batch.metadata,
        total=len(items),
        rejected=sum(1 for i in batch.items if i.error is not None),
        counts={s: counts[s] for s in STATUSES},
        progress=round(done / len(items), 4) if items else 1.0,
        items=items,
    )
    return view.model_dump(mode="json")


def _item_view(item: BatchItem, job: tuple[JobRecord, JobState] | None) -> ItemView:
    base: dict[str, Any] = {"index": item.index, "custom_id": item.custom_id, "job_id": item.job_id}
    if item.error is not None:
        return ItemView(**base, status="failed", error=error_object(item.error))
    if job is None:
        return ItemView(**base, status="failed", error=error_object(errors.BATCH_JOB_EXPIRED.error()))
    record, state = job
    return ItemView(
        **base,
        status=state.status,
        result=completion_object(record.job, state.result) if state.result else None,
        error=error_object(state.error) if state.error else None,
    )
