"""The OpenAI Batch API subset the `openai` SDK's batch flow needs.

`POST /v1/files` (purpose `batch`, JSONL), `GET /v1/files/{id}`, `GET /v1/files/{id}/content`,
`DELETE /v1/files/{id}`, `POST /v1/batches`, `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`.

Routes only: storage, cancellation and output files are `batches.files`,
`batches.openai_batch` and `batches.output`.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from litellm_claude.api.auth import require_api_key
from litellm_claude.api.body import parse_body, read_body
from litellm_claude.api.deps import accepting, check_capacity, redis_of, settings_of
from litellm_claude.api.openapi_bodies import json_body, multipart_body
from litellm_claude.batches import files, openai_batch
from litellm_claude.batches.files import FileRecord
from litellm_claude.batches.items import build_items, new_batch
from litellm_claude.batches.openai_batch import OpenAIBatch
from litellm_claude.jobs import errors
from litellm_claude.openai_compat.batch_files import CHAT_COMPLETIONS, parse_input, parse_multipart
from litellm_claude.openai_compat.errors import ApiError, invalid_request
from litellm_claude.openai_compat.request import owner_of

router = APIRouter()
MULTIPART_OVERHEAD = 64 * 1024
FILE_UPLOAD = multipart_body(
    {"file": {"type": "string", "format": "binary"}, "purpose": {"type": "string", "enum": ["batch"]}},
    ["file", "purpose"],
)


class CreateBatchBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None


# --- Files ----------------------------------------------------------------------------------------


@router.post("/v1/files", openapi_extra=FILE_UPLOAD)
async def create_file(request: Request, api_key: str | None = Depends(require_api_key)) -> JSONResponse:
    settings = settings_of(request)
    limit = settings.max_file_bytes + MULTIPART_OVERHEAD
    raw = await read_body(request, limit, lambda: _file_too_large(settings.max_file_bytes))
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
    record = await files.upload(
        redis_of(request),
        owner_of(api_key),
        upload.filename or "batch.jsonl",
        upload.data,
        settings.result_ttl_s,
    )
    return JSONResponse(record.view())


@router.get("/v1/files")
async def list_files(
    request: Request, purpose: str | None = None, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    found = await files.list_owned(redis_of(request), owner_of(api_key), purpose)
    return JSONResponse({"object": "list", "data": [f.view() for f in found], "has_more": False})


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
    content = await files.content(redis_of(request), record.id)
    if content is None:
        raise _no_file(file_id)
    return Response(content, media_type="application/octet-stream")


@router.delete("/v1/files/{file_id}")
async def delete_file(
    file_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    record = await _owned_file(request, file_id, api_key)
    await files.delete(redis_of(request), record.id)
    return JSONResponse({"id": record.id, "object": "file", "deleted": True})


async def _owned_file(request: Request, file_id: str, api_key: str | None) -> FileRecord:
    record = await files.load(redis_of(request), file_id, owner_of(api_key))
    if record is None:
        raise _no_file(file_id)
    return record


def _no_file(file_id: str) -> ApiError:
    return ApiError.of(errors.FILE_NOT_FOUND, param="file_id", file_id=file_id)


def _file_too_large(limit: int) -> ApiError:
    return ApiError.of(errors.FILE_TOO_LARGE, param="file", limit=limit)


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
    redis = redis_of(request)
    source = await _owned_file(request, body.input_file_id, api_key)
    content = await files.content(redis, source.id)
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
    batch = new_batch(
        OpenAIBatch,
        batch_id,
        owner_of(api_key),
        items,
        body.metadata,
        settings,
        input_file_id=source.id,
        endpoint=body.endpoint,
        completion_window=body.completion_window,
    )
    async with accepting(request) as conn:
        await openai_batch.accept(conn, batch, created, settings)
    await openai_batch.index(redis, batch, settings)
    return JSONResponse(await openai_batch.batch_object(redis, batch, settings))


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
    redis, settings = redis_of(request), settings_of(request)
    batches = await openai_batch.list_owned(redis, owner_of(api_key))
    ids = [b.id for b in batches]
    start = ids.index(after) + 1 if after in ids else 0
    page = batches[start : start + limit]
    data = [await openai_batch.batch_object(redis, b, settings) for b in page]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
            "has_more": start + limit < len(batches),
        }
    )


@router.get("/v1/batches/{batch_id}")
async def get_openai_batch(
    batch_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    batch = await _owned_batch(request, batch_id, api_key)
    return JSONResponse(await openai_batch.batch_object(redis_of(request), batch, settings_of(request)))


@router.post("/v1/batches/{batch_id}/cancel")
async def cancel_openai_batch(
    batch_id: str, request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse:
    batch = await _owned_batch(request, batch_id, api_key)
    redis, settings = redis_of(request), settings_of(request)
    try:
        await openai_batch.cancel_batch(redis, batch, settings)
    except openai_batch.AlreadyFinished:
        raise ApiError.of(errors.BATCH_ALREADY_FINISHED) from None
    return JSONResponse(await openai_batch.batch_object(redis, batch, settings))


async def _owned_batch(request: Request, batch_id: str, api_key: str | None) -> OpenAIBatch:
    batch = await openai_batch.load(redis_of(request), batch_id, owner_of(api_key))
    if batch is None:
        raise ApiError.of(errors.BATCH_NOT_FOUND, param="batch_id", batch_id=batch_id)
    return batch
