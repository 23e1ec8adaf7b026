"""An OpenAI Batch API batch: stored with its jobs, cancelled, and shown as a `batch` object."""

from __future__ import annotations

import re
import time
from typing import Any

from redis.asyncio import Redis

from litellm_claude.batches import owned
from litellm_claude.batches.items import BatchRecord, item_states
from litellm_claude.batches.output import BatchFinal, finalize, outcome
from litellm_claude.config.settings import Settings
from litellm_claude.jobs import cancel, keys, records
from litellm_claude.jobs.records import JobRecord
from litellm_claude.telemetry.activity import index_batch

OBATCH_ID_RE = re.compile(r"^batch_[0-9a-f]{32}$")


class OpenAIBatch(BatchRecord):
    input_file_id: str
    endpoint: str
    completion_window: str


class AlreadyFinished(Exception):
    """The batch completed (not by cancellation); there is nothing to cancel."""


async def accept(conn: Redis, batch: OpenAIBatch, created: list[JobRecord], settings: Settings) -> None:
    """Write the batch with its jobs, their queue entries and wake-ups in one MULTI/EXEC."""
    extra = [(keys.openai_batch(batch.id), batch.model_dump_json(exclude_none=True))]
    await records.commit(conn, created, settings, extra=extra)


async def index(redis: Redis, batch: OpenAIBatch, settings: Settings) -> None:
    """List the accepted batch in its owner's index and for the dashboard."""
    async with redis.pipeline(transaction=False) as pipe:
        owned.index(pipe, batch.owner, "batches", batch.id, batch.created, settings.result_ttl_s)
        await pipe.execute()
    await index_batch(redis, settings.queue_name, batch.id, batch.created, settings.result_ttl_s)


async def load(redis: Redis, batch_id: str, owner: str | None) -> OpenAIBatch | None:
    """The owner's batch, or None (unknown, expired or someone else's)."""
    return await owned.load(redis, keys.openai_batch(batch_id), OpenAIBatch, batch_id, OBATCH_ID_RE, owner)


async def list_owned(redis: Redis, owner: str | None) -> list[OpenAIBatch]:
    """The owner's batches, newest first."""
    found = await owned.live_records(redis, owner, "batches", keys.openai_batch)
    return [OpenAIBatch.model_validate_json(raw) for raw in found]


async def cancel_batch(redis: Redis, batch: OpenAIBatch, settings: Settings) -> None:
    """Mark the batch cancelling and cancel each of its unfinished jobs; AlreadyFinished if it completed."""
    final_raw = await redis.get(keys.openai_batch_final(batch.id))
    if final_raw is not None and not BatchFinal.model_validate_json(final_raw).cancelled:
        raise AlreadyFinished(batch.id)
    await redis.set(
        keys.openai_batch_cancel(batch.id), str(int(time.time())), nx=True, ex=settings.result_ttl_s
    )
    for record, state in (await item_states(redis, batch)).values():
        if not state.done:
            await cancel.cancel(redis, record.job, state, settings)


async def batch_object(redis: Redis, batch: OpenAIBatch, settings: Settings) -> dict[str, Any]:
    """The OpenAI `batch` object; the first read with every request ended writes the output files."""
    final_raw, cancel_raw = await redis.mget(
        keys.openai_batch_final(batch.id), keys.openai_batch_cancel(batch.id)
    )
    cancelling_at = int(cancel_raw) if cancel_raw is not None else None
    obj: dict[str, Any] = {
        "id": batch.id,
        "object": "batch",
        "endpoint": batch.endpoint,
        "errors": None,
        "input_file_id": batch.input_file_id,
        "completion_window": batch.completion_window,
        "created_at": int(batch.created),
        "in_progress_at": int(batch.created),
        "expires_at": int(batch.expires_at),
        "cancelling_at": cancelling_at,
        "metadata": batch.metadata or None,
    }
    if final_raw is None:
        jobs = await item_states(redis, batch)
        outcomes = [outcome(item.error, jobs.get(item.job_id or "")) for item in batch.items]
        if any(o is None for o in outcomes):
            completed = sum(1 for o in outcomes if o is not None and o[0] == 200)
            failed = sum(1 for o in outcomes if o is not None and o[0] != 200)
            counts = {"total": len(outcomes), "completed": completed, "failed": failed}
            status = "cancelling" if cancelling_at else "in_progress"
            return {**obj, "status": status, "request_counts": counts}
        final_raw = await finalize(
            redis, batch, outcomes, cancelled=cancelling_at is not None, ttl=settings.result_ttl_s
        )
    final = BatchFinal.model_validate_json(final_raw)
    ended = {"cancelled_at": final.at} if final.cancelled else {"completed_at": final.at}
    return {
        **obj,
        **ended,
        "status": "cancelled" if final.cancelled else "completed",
        "finalizing_at": final.at,
        "output_file_id": final.output_file_id,
        "error_file_id": final.error_file_id,
        "request_counts": {
            "total": final.completed + final.failed,
            "completed": final.completed,
            "failed": final.failed,
        },
    }
