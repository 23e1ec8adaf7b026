"""The OpenAI Batch API subset the `openai` SDK's batch flow needs.

`POST /v1/files` (purpose `batch`, JSONL), `GET /v1/files/{id}`, `GET /v1/files/{id}/content`,
`DELETE /v1/files/{id}`, `POST /v1/batches`, `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`.

A batch is a set of bulk job records (see `api.batches`). Its output and error
files are generated lazily, the first time the batch is read with every job
finished, and written once (SET NX): later reads return the same files.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from litellm_claude.api.auth import require_api_key
from litellm_claude.api.batches import BatchRecord, build_items, item_states
from litellm_claude.api.body import parse_body, read_body
from litellm_claude.api.jobs import accepting, check_capacity, error_object, redis_of, settings_of
from litellm_claude.api.openapi_bodies import json_body, multipart_body
from litellm_claude.jobs import errors, keys, records
from litellm_claude.jobs.contract import JobError
from litellm_claude.jobs.records import JobRecord, JobState
from litellm_claude.openai_compat.batch_files import (
    CHAT_COMPLETIONS,
    output_line,
    parse_input,
    parse_multipart,
    to_jsonl,
)
from litellm_claude.openai_compat.errors import ApiError, invalid_request
from litellm_claude.openai_compat.request import owner_of
from litellm_claude.openai_compat.response import completion_object
from litellm_claude.telemetry.activity import index_batch

router = APIRouter()
FILE_ID_RE = re.compile(r"^file-[0-9a-f]{32}(-out|-err)?$")
OBATCH_ID_RE = re.compile(r"^batch_[0-9a-f]{32}$")
MULTIPART_OVERHEAD = 64 * 1024
FILE_UPLOAD = multipart_body(
    {"file": {"type": "string", "format": "binary"}, "purpose": {"type": "string", "enum": ["batch"]}},
    ["file", "purpose"],
)


class FileRecord(BaseModel):
    id: str
    owner: str | None
    bytes: int
    created_at: int
    expires_at: int
    filename: str
    purpose: Literal["batch", "batch_output"]

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


class CreateBatchBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None


class OpenAIBatch(BatchRecord):
    input_file_id: str
    endpoint: str
    completion_window: str


class BatchFinal(BaseModel):
    """How a batch ended; written once, with its output files."""

    at: int
    cancelled: bool
    completed: int
    failed: int
    output_file_id: str | None = None
    error_file_id: str | None = None


# --- Files ----------------------------------------------------------------------------------------


@router.post("/v1/files", openapi_extra=FILE_UPLOAD)
async def create_file(request: Request, api_key: str | None = Depends(require_api_key)) -> JSONResponse:
    settings = settings_of(request)
    raw = await _read_capped(request, settings.max_file_bytes + MULTIPART_OVERHEAD)
    parts = parse_multipart(request.headers.get("content-type", ""), raw)
    purpose = parts["purpose"].data.decode("utf-8", "replace") if "purpose" in parts else None
    if purpose != "batch":
        raise invalid_request("Only purpose `batch` is supported.", param="purpose", code="invalid_purpose")
    upload = parts.get("file")
    if upload is None:
        raise invalid_request(
            "Missing required parameter: 'file'.", param="file", code="missing_required_parameter"
        )
    if len(upload.data) > settings.max_file_bytes:
        raise _file_too_large(settings.max_file_bytes)
    parse_input(upload.data, max_lines=settings.max_batch_size)
    now = int(time.time())
    record = FileRecord(
        id=f"file-{uuid.uuid4().hex}",
        owner=owner_of(api_key),
        bytes=len(upload.data),
        created_at=now,
        expires_at=now + settings.result_ttl_s,
        filename=upload.filename or "batch.jsonl",
        purpose="batch",
    )
    async with redis_of(request).pipeline(transaction=True) as pipe:
        pipe.set(keys.file(record.id), record.model_dump_json(), ex=settings.result_ttl_s)
        pipe.set(keys.file_content(record.id), upload.data, ex=settings.result_ttl_s)
        _index(pipe, record.owner, "files", record.id, now, settings.result_ttl_s)
        await pipe.execute()
    return JSONResponse(record.view())


@router.get("/v1/files")
async def list_files(
    request: Request, purpose: str | None = None, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    found = await _owned_records(request, owner_of(api_key), "files", keys.file)
    files = [FileRecord.model_validate_json(raw) for raw in found]
    data = [f.view() for f in files if purpose is None or f.purpose == purpose]
    return JSONResponse({"object": "list", "data": data, "has_more": False})


@router.get("/v1/files/{file_id}")
async def get_file(
    file_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    return JSONResponse((await _owned_file(request, file_id, api_key)).view())


@router.get("/v1/files/{file_id}/content")
async def get_file_content(
    file_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> Response:
    record = await _owned_file(request, file_id, api_key)
    content = await redis_of(request).get(keys.file_content(record.id))
    if content is None:
        raise _no_file(file_id)
    return Response(content, media_type="application/octet-stream")


@router.delete("/v1/files/{file_id}")
async def delete_file(
    file_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    record = await _owned_file(request, file_id, api_key)
    await redis_of(request).delete(keys.file(record.id), keys.file_content(record.id))
    return JSONResponse({"id": record.id, "object": "file", "deleted": True})


async def _read_capped(request: Request, limit: int) -> bytes:
    return await read_body(request, limit, lambda: _file_too_large(limit - MULTIPART_OVERHEAD))


async def _owned_file(request: Request, file_id: str, api_key: str | None) -> FileRecord:
    if FILE_ID_RE.match(file_id):
        raw = await redis_of(request).get(keys.file(file_id))
        if raw is not None:
            record = FileRecord.model_validate_json(raw)
            if record.owner == owner_of(api_key):
                return record
    raise _no_file(file_id)


def _no_file(file_id: str) -> ApiError:
    return ApiError(404, f"No file with id {file_id!r}.", param="file_id", code="file_not_found")


def _file_too_large(limit: int) -> ApiError:
    return ApiError(413, f"Files are limited to {limit} bytes.", param="file", code="file_too_large")


# --- Batches --------------------------------------------------------------------------------------


@router.post("/v1/batches", openapi_extra=json_body(CreateBatchBody))
async def create_openai_batch(
    request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    settings = settings_of(request)
    body = await parse_body(request, CreateBatchBody, max_bytes=settings.max_body_bytes)
    if body.endpoint != CHAT_COMPLETIONS:
        raise invalid_request(
            f"Only endpoint {CHAT_COMPLETIONS} is supported.", param="endpoint", code="unsupported_endpoint"
        )
    if body.completion_window != "24h":
        raise invalid_request(
            "completion_window must be `24h`.", param="completion_window", code="invalid_value"
        )
    source = await _owned_file(request, body.input_file_id, api_key)
    content = await redis_of(request).get(keys.file_content(source.id))
    if source.purpose != "batch" or content is None:
        raise _no_file(body.input_file_id)
    lines = parse_input(content, max_lines=settings.max_batch_size)
    batch_id = f"batch_{uuid.uuid4().hex}"
    created, items = build_items(
        [line.body for line in lines],
        settings=settings,
        api_key=api_key,
        batch_id=batch_id,
        custom_ids=[line.custom_id for line in lines],
    )
    await check_capacity(request, len(created))
    now = time.time()
    batch = OpenAIBatch(
        id=batch_id,
        owner=owner_of(api_key),
        created=now,
        expires_at=now + settings.result_ttl_s,
        metadata=body.metadata or {},
        items=items,
        input_file_id=source.id,
        endpoint=body.endpoint,
        completion_window=body.completion_window,
    )
    extra = [(keys.openai_batch(batch_id), batch.model_dump_json(exclude_none=True))]
    async with accepting(request) as conn:
        await records.commit(conn, created, settings, extra=extra)
    async with redis_of(request).pipeline(transaction=False) as pipe:
        _index(pipe, batch.owner, "batches", batch.id, now, settings.result_ttl_s)
        await pipe.execute()
    await index_batch(redis_of(request), settings.queue_name, batch.id, now, settings.result_ttl_s)
    return JSONResponse(await _batch_object(request, batch))


@router.get("/v1/batches")
async def list_openai_batches(
    request: Request,
    limit: int = 20,
    after: str | None = None,
    api_key: str | None = Depends(require_api_key),
) -> JSONResponse:
    """Newest first; `after` is the last id of the previous page."""
    if not 1 <= limit <= 100:
        raise invalid_request("limit must be between 1 and 100.", param="limit")
    found = await _owned_records(request, owner_of(api_key), "batches", keys.openai_batch)
    batches = [OpenAIBatch.model_validate_json(raw) for raw in found]
    ids = [b.id for b in batches]
    start = ids.index(after) + 1 if after in ids else 0
    page = batches[start : start + limit]
    data = [await _batch_object(request, b) for b in page]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
            "has_more": start + limit < len(batches),
        }
    )


def _index(pipe: Any, owner: str | None, kind: str, item_id: str, created: float, ttl: int) -> None:
    pipe.zadd(keys.owned(owner, kind), {item_id: created})
    pipe.expire(keys.owned(owner, kind), ttl)


async def _owned_records(
    request: Request, owner: str | None, kind: str, key_of: Callable[[str], str]
) -> list[bytes]:
    """The owner's live records of `kind`, newest first; expired ones leave the index."""
    redis = redis_of(request)
    ids = [i.decode() for i in await redis.zrevrange(keys.owned(owner, kind), 0, -1)]
    if not ids:
        return []
    raws = await redis.mget([key_of(i) for i in ids])
    gone = [i for i, raw in zip(ids, raws, strict=True) if raw is None]
    if gone:
        await redis.zrem(keys.owned(owner, kind), *gone)
    return [raw for raw in raws if raw is not None]


@router.get("/v1/batches/{batch_id}")
async def get_openai_batch(
    batch_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    batch = await _owned_batch(request, batch_id, api_key)
    return JSONResponse(await _batch_object(request, batch))


@router.post("/v1/batches/{batch_id}/cancel")
async def cancel_openai_batch(
    batch_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    batch = await _owned_batch(request, batch_id, api_key)
    redis = redis_of(request)
    final_raw = await redis.get(keys.openai_batch_final(batch.id))
    if final_raw is not None and not BatchFinal.model_validate_json(final_raw).cancelled:
        raise ApiError(
            409,
            "This batch has already completed; there is nothing to cancel.",
            code="batch_already_finished",
        )
    settings = settings_of(request)
    await redis.set(
        keys.openai_batch_cancel(batch.id), str(int(time.time())), nx=True, ex=settings.result_ttl_s
    )
    for record, state in (await item_states(request, batch)).values():
        if not state.done:
            await records.cancel(redis, request.app.state.jobs, record, state, settings)
    return JSONResponse(await _batch_object(request, batch))


async def _owned_batch(request: Request, batch_id: str, api_key: str | None) -> OpenAIBatch:
    if OBATCH_ID_RE.match(batch_id):
        raw = await redis_of(request).get(keys.openai_batch(batch_id))
        if raw is not None:
            batch = OpenAIBatch.model_validate_json(raw)
            if batch.owner == owner_of(api_key):
                return batch
    raise ApiError(404, f"No batch with id {batch_id!r}.", param="batch_id", code="batch_not_found")


async def _batch_object(request: Request, batch: OpenAIBatch) -> dict[str, Any]:
    redis = redis_of(request)
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
        jobs = await item_states(request, batch)
        outcomes = [_outcome(item.error, jobs.get(item.job_id or "")) for item in batch.items]
        if any(o is None for o in outcomes):
            completed = sum(1 for o in outcomes if o is not None and o[0] == 200)
            failed = sum(1 for o in outcomes if o is not None and o[0] != 200)
            counts = {"total": len(outcomes), "completed": completed, "failed": failed}
            status = "cancelling" if cancelling_at else "in_progress"
            return {**obj, "status": status, "request_counts": counts}
        final_raw = await _finalize(request, batch, outcomes, cancelled=cancelling_at is not None)
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


Outcome = tuple[int, str | None, dict[str, Any]]


def _outcome(rejected: JobError | None, job: tuple[JobRecord, JobState] | None) -> Outcome | None:
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


async def _finalize(
    request: Request, batch: OpenAIBatch, outcomes: list[Outcome | None], *, cancelled: bool
) -> bytes:
    """Write the output and error files and the final record, once; return the final record."""
    hex_id = batch.id.removeprefix("batch_")
    ok: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for item, outcome in zip(batch.items, outcomes, strict=True):
        assert outcome is not None
        status_code, request_id, body = outcome
        line = output_line(
            item.custom_id or str(item.index),
            request_id,
            status_code,
            body,
            line_id=f"batch_req_{hex_id}_{item.index}",
        )
        (ok if status_code == 200 else bad).append(line)
    settings = settings_of(request)
    ttl = settings.result_ttl_s
    now = int(time.time())
    final = BatchFinal(at=now, cancelled=cancelled, completed=len(ok), failed=len(bad))
    redis = redis_of(request)
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
            pipe.set(keys.file(file.id), file.model_dump_json(), ex=ttl, nx=True)
            pipe.set(keys.file_content(file.id), content, ex=ttl, nx=True)
            _index(pipe, file.owner, "files", file.id, now, ttl)
        pipe.set(keys.openai_batch_final(batch.id), final.model_dump_json(), ex=ttl, nx=True)
        pipe.get(keys.openai_batch_final(batch.id))
        replies = await pipe.execute()
    winner: bytes = replies[-1]
    return winner
