"""`POST /v1/chat/completions`: one request, one job; the answer whole or streamed as it arrives."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from litellm_claude.api.auth import require_api_key
from litellm_claude.api.body import parse_body
from litellm_claude.api.job_flow import disconnected, limits, wants_bulk
from litellm_claude.api.openapi_bodies import json_body
from litellm_claude.api.sse import DONE, sse_data
from litellm_claude.jobs import errors, flow
from litellm_claude.jobs.client import JobClient
from litellm_claude.jobs.contract import CompletionJob, DeltaEvent, ResultEvent, StartedEvent
from litellm_claude.openai_compat.request import ChatCompletionBody, build_job
from litellm_claude.openai_compat.response import chunk_object, completion_object
from litellm_claude.telemetry import log_context

log = logging.getLogger(__name__)
router = APIRouter()


@router.post("/v1/chat/completions", response_model=None, openapi_extra=json_body(ChatCompletionBody))
async def chat_completions(
    request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse | StreamingResponse:
    settings = request.app.state.settings
    body = await parse_body(request, ChatCompletionBody, max_bytes=settings.max_body_bytes)
    client: JobClient = request.app.state.jobs
    job = build_job(body, settings=settings, api_key=api_key, bulk=wants_bulk(request, api_key, settings))
    job.followed = job.stream  # a caller waiting for the whole answer reads no deltas
    log_context.job_id.set(job.id)
    log.info("chat completion job submitted: model=%s stream=%s", job.model, job.stream)
    job_limits = limits(settings)
    await flow.submit(client, job, job_limits)
    if job.stream:
        include_usage = bool((body.stream_options or {}).get("include_usage"))
        events = flow.follow(client, job, job_limits, gone=disconnected(request))
        return StreamingResponse(
            _chunks(job, events, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Job-Id": job.id},
        )
    result = await flow.result(client, job, job_limits, gone=disconnected(request))
    return JSONResponse(completion_object(job, result), headers={"X-Job-Id": job.id})


async def _chunks(
    job: CompletionJob, events: AsyncGenerator[Any, None], include_usage: bool
) -> AsyncIterator[bytes]:
    """OpenAI chunks. The role chunk goes out at once (a stream is open before its job starts) and
    names the alias; every later chunk names the model answering, from the attempt's first delta."""
    model = job.cli_model
    yield sse_data(chunk_object(job, model, {"role": "assistant", "content": ""}))
    async with aclosing(events):
        async for event in events:
            if isinstance(event, StartedEvent):
                model = event.model
            elif isinstance(event, DeltaEvent):
                model = event.model or model
                yield sse_data(chunk_object(job, model, {"content": event.text}))
            elif isinstance(event, ResultEvent):
                yield sse_data(_final_chunk(job, event))
                if include_usage:
                    yield sse_data(chunk_object(job, event.model, {}, usage=event.usage, with_choice=False))
            else:
                yield sse_data(errors.error_body(event.error))
    yield DONE


def _final_chunk(job: CompletionJob, result: ResultEvent) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if result.tool_calls:
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(result.tool_calls)]
        delta["content"] = None
    return chunk_object(job, result.model, delta, finish_reason=result.finish_reason)
