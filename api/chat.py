"""`POST /v1/chat/completions`: one request, one job; the answer whole or streamed as it arrives."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from api.auth import require_api_key
from api.body import parse_body
from api.sse import DONE, sse_data
from config.settings import Settings
from jobs.client import JobClient, JobRefused
from jobs.contract import CompletionJob, DeltaEvent, ErrorEvent, ResultEvent, StartedEvent
from openai_compat.errors import ApiError
from openai_compat.request import ChatCompletionBody, build_job
from openai_compat.response import chunk_object, completion_object

log = logging.getLogger(__name__)
router = APIRouter()
_background: set[asyncio.Task[None]] = set()


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(
    request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse | StreamingResponse:
    settings = request.app.state.settings
    body = await parse_body(request, ChatCompletionBody, max_bytes=settings.max_body_bytes)
    client: JobClient = request.app.state.jobs
    job = build_job(body, settings=settings, api_key=api_key)
    try:
        await client.submit(job, max_depth=settings.max_queue_depth)
    except JobRefused as refused:
        raise ApiError.from_job_error(refused.error) from None
    if job.stream:
        include_usage = bool((body.stream_options or {}).get("include_usage"))
        return StreamingResponse(
            _stream(client, job, settings, include_usage, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Job-Id": job.id},
        )
    try:
        final = await client.wait(
            job.id, timeout_s=settings.request_timeout_s, start_timeout_s=settings.queue_wait_timeout_s
        )
    except asyncio.CancelledError:
        _cancel_later(client, job)
        raise
    if isinstance(final, ErrorEvent):
        if final.error.code in ("timeout", "queue_timeout"):
            _cancel_later(client, job)
        raise ApiError.from_job_error(final.error)
    return JSONResponse(completion_object(job, final), headers={"X-Job-Id": job.id})


async def _stream(
    client: JobClient, job: CompletionJob, settings: Settings, include_usage: bool, request: Request
) -> AsyncIterator[bytes]:
    model = job.cli_model
    finished = False
    watcher = asyncio.create_task(_cancel_on_disconnect(request, client, job))
    try:
        yield sse_data(chunk_object(job, model, {"role": "assistant", "content": ""}))
        events = client.events(
            job.id, timeout_s=settings.request_timeout_s, start_timeout_s=settings.queue_wait_timeout_s
        )
        async for event in events:
            if isinstance(event, StartedEvent):
                model = event.model
            elif isinstance(event, DeltaEvent):
                yield sse_data(chunk_object(job, model, {"content": event.text}))
            elif isinstance(event, ResultEvent):
                finished = True
                yield sse_data(_final_chunk(job, event))
                if include_usage:
                    yield sse_data(chunk_object(job, event.model, {}, usage=event.usage, with_choice=False))
            else:
                finished = event.error.code not in ("timeout", "queue_timeout")
                yield sse_data(ApiError.from_job_error(event.error).body())
        yield DONE
    finally:
        watcher.cancel()
        if not finished:
            _cancel_later(client, job)


async def _cancel_on_disconnect(request: Request, client: JobClient, job: CompletionJob) -> None:
    """Cancel the job as soon as the client goes away, not at the next event we try to send."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            await client.cancel(job)
            return


def _final_chunk(job: CompletionJob, result: ResultEvent) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if result.tool_calls:
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(result.tool_calls)]
    return chunk_object(job, result.model, delta, finish_reason=result.finish_reason)


def _cancel_later(client: JobClient, job: CompletionJob) -> None:
    """Cancel a job from a task of its own: the caller's task may itself be cancelled."""
    task = asyncio.get_running_loop().create_task(client.cancel(job))
    _background.add(task)
    task.add_done_callback(_background.discard)
