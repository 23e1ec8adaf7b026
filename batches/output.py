"""A finished OpenAI batch's output and error files, generated once from its requests' outcomes."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis

from litellm_claude.batches import files
from litellm_claude.batches.files import FileRecord
from litellm_claude.batches.items import BatchRecord
from litellm_claude.jobs import errors, keys
from litellm_claude.jobs.contract import JobError
from litellm_claude.jobs.errors import error_object
from litellm_claude.jobs.records import JobRecord
from litellm_claude.jobs.status import JobState
from litellm_claude.openai_compat.batch_files import output_line, to_jsonl
from litellm_claude.openai_compat.response import completion_object

Outcome = tuple[int, str | None, dict[str, Any]]


class BatchFinal(BaseModel):
    """How a batch ended; written once, with its output files."""

    at: int
    cancelled: bool
    completed: int
    failed: int
    output_file_id: str | None = None
    error_file_id: str | None = None


def outcome(rejected: JobError | None, job: tuple[JobRecord, JobState] | None) -> Outcome | None:
    """(status code, request id, response body) of a finished request; None while it runs."""
    if rejected is not None:
        return rejected.status, None, {"error": error_object(rejected)}
    if job is None:
        gone = errors.BATCH_JOB_EXPIRED.error()
        return gone.status, None, {"error": error_object(gone)}
    record, state = job
    if not state.done:
        return None
    if state.result is not None:
        return 200, record.id, completion_object(record.job, state.result)
    assert state.error is not None
    return state.error.status, record.id, {"error": error_object(state.error)}


async def finalize(
    redis: Redis, batch: BatchRecord, outcomes: list[Outcome | None], *, cancelled: bool, ttl: int
) -> bytes:
    """Write the output and error files and the final record, once; return the final record."""
    hex_id = batch.id.removeprefix("batch_")
    ok: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for item, done in zip(batch.items, outcomes, strict=True):
        assert done is not None
        status_code, request_id, body = done
        line = output_line(
            item.custom_id or str(item.index),
            request_id,
            status_code,
            body,
            line_id=f"batch_req_{hex_id}_{item.index}",
        )
        (ok if status_code == 200 else bad).append(line)
    now = int(time.time())
    final = BatchFinal(at=now, cancelled=cancelled, completed=len(ok), failed=len(bad))
    async with redis.pipeline(transaction=True) as pipe:
        for suffix, lines in (("out", ok), ("err", bad)):
            if not lines:
                continue
            content = to_jsonl(lines)
            file = FileRecord(
                id=f"file-{hex_id}-{suffix}",
                owner=batch.owner,
                bytes=len(content),
                created_at=now,
                expires_at=now + ttl,
                filename=f"{batch.id}_{'output' if suffix == 'out' else 'error'}.jsonl",
                purpose="batch_output",
            )
            if suffix == "out":
                final.output_file_id = file.id
            else:
                final.error_file_id = file.id
            files.stage(pipe, file, content, ttl, once=True)
        pipe.set(keys.openai_batch_final(batch.id), final.model_dump_json(), ex=ttl, nx=True)
        pipe.get(keys.openai_batch_final(batch.id))
        replies = await pipe.execute()
    winner: bytes = replies[-1]
    return winner
