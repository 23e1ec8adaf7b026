"""A batch's requests: each a bulk job record or the reason it was rejected, and their states."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from redis.asyncio import Redis

from litellm_claude.config.settings import Settings
from litellm_claude.jobs import errors, records, status
from litellm_claude.jobs.contract import JobError
from litellm_claude.jobs.records import JobRecord
from litellm_claude.jobs.status import JobState
from litellm_claude.openai_compat.errors import ApiError, from_validation_errors
from litellm_claude.openai_compat.job_body import JobBody
from litellm_claude.openai_compat.request import build_job

ItemStates = dict[str, tuple[JobRecord, JobState]]


class BatchItem(BaseModel):
    """One request of a batch: the job it became, or why it was rejected."""

    index: int
    custom_id: str | None = None
    job_id: str | None = None
    error: JobError | None = None


B = TypeVar("B", bound="BatchRecord")


class BatchRecord(BaseModel):
    id: str
    owner: str | None
    created: float
    expires_at: float
    metadata: dict[str, str] = Field(default_factory=dict)
    items: list[BatchItem]

    @property
    def job_ids(self) -> list[str]:
        return [item.job_id for item in self.items if item.job_id]


def new_batch(
    kind: type[B],
    batch_id: str,
    owner: str | None,
    items: list[BatchItem],
    metadata: dict[str, str] | None,
    settings: Settings,
    **fields: Any,
) -> B:
    """A batch created now, kept as long as its jobs' results; `fields` for a subclass's own."""
    now = time.time()
    return kind(
        id=batch_id,
        owner=owner,
        created=now,
        expires_at=now + settings.result_ttl_s,
        metadata=metadata or {},
        items=items,
        **fields,
    )


def build_items(
    bodies: Sequence[Any],
    *,
    settings: Settings,
    api_key: str | None,
    batch_id: str,
    custom_ids: Sequence[str | None] | None = None,
) -> tuple[list[JobRecord], list[BatchItem]]:
    """Validate each request body; the valid ones become bulk job records."""
    created: list[JobRecord] = []
    items: list[BatchItem] = []
    for index, raw in enumerate(bodies):
        custom_id = custom_ids[index] if custom_ids else None
        try:
            body = _validate(raw)
            job = build_job(body, settings=settings, api_key=api_key, bulk=True)
        except ApiError as exc:
            items.append(BatchItem(index=index, custom_id=custom_id, error=exc.to_job_error()))
            continue
        record = records.new_record(
            job, settings, metadata=body.metadata, batch_id=batch_id, custom_id=custom_id
        )
        created.append(record)
        items.append(BatchItem(index=index, custom_id=custom_id, job_id=job.id))
    return created, items


def _validate(raw: Any) -> JobBody:
    if not isinstance(raw, dict):
        raise ApiError.of(errors.BATCH_ITEM_NOT_AN_OBJECT)
    try:
        return JobBody.model_validate(raw)
    except ValidationError as exc:
        raise from_validation_errors(exc.errors()) from None


async def item_states(redis: Redis, batch: BatchRecord) -> ItemStates:
    """Each accepted job of the batch with its current state (expired records are left out)."""
    loaded = [r for r in await records.load_many(redis, batch.job_ids) if r is not None]
    states = await status.observe_many(redis, [record.job for record in loaded])
    return {record.id: (record, state) for record, state in zip(loaded, states, strict=True)}
