"""The async job resource as `GET /v1/jobs/{id}` shows it: status, queue place, timings, answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from litellm_claude.jobs.errors import error_object
from litellm_claude.jobs.records import JobRecord
from litellm_claude.jobs.status import JobState
from litellm_claude.openai_compat.response import completion_object


class QueueInfo(BaseModel):
    position: int = 0
    depth: int = 0


class Timings(BaseModel):
    queued_at: float
    started_at: float | None = None
    finished_at: float | None = None
    queue_s: float | None = None
    run_s: float | None = None


class JobView(BaseModel):
    id: str
    object: Literal["job"] = "job"
    status: str
    created: int
    expires_at: int
    model: str
    priority: str
    metadata: dict[str, str]
    batch_id: str | None = None
    attempts: int
    answered_by: str | None = None
    queue: QueueInfo | None = None
    timings: Timings
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def job_view(record: JobRecord, state: JobState) -> dict[str, Any]:
    job = record.job
    started = state.started_ms / 1000 if state.started_ms is not None else None
    finished = state.finished_ms / 1000 if state.finished_ms is not None else None
    timings = Timings(
        queued_at=job.created,
        started_at=started,
        finished_at=finished,
        queue_s=round(max(0.0, started - job.created), 3) if started is not None else None,
        run_s=round(finished - started, 3) if started is not None and finished is not None else None,
    )
    queue = None
    if state.status == "queued" and state.position is not None:
        queue = QueueInfo(position=state.position, depth=state.depth or 0)
    view = JobView(
        id=job.id,
        status=state.status,
        created=int(job.created),
        expires_at=int(record.expires_at),
        model=job.model,
        priority=job.priority,
        metadata=record.metadata,
        batch_id=record.batch_id,
        attempts=state.attempts,
        answered_by=state.result.model if state.result else None,
        queue=queue,
        timings=timings,
        result=completion_object(job, state.result) if state.result else None,
        error=error_object(state.error) if state.error else None,
    )
    return view.model_dump(mode="json")
