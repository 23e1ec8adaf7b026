"""`POST /v1/responses`: the Responses API subset, on the same job flow as chat completions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from litellm_claude.api.auth import require_api_key
from litellm_claude.api.body import parse_body
from litellm_claude.api.job_flow import disconnected, limits, wants_bulk
from litellm_claude.api.openapi_bodies import json_body
from litellm_claude.api.sse import sse_data
from litellm_claude.config.settings import Settings
from litellm_claude.jobs import flow
from litellm_claude.jobs.client import JobClient
from litellm_claude.jobs.contract import CompletionJob, DeltaEvent, JobError, ResultEvent, StartedEvent
from litellm_claude.openai_compat.responses_api import (
    ResponsesBody,
    build_response_job,
    failed_response,
    finished_response,
    message_id,
    message_item,
    output_text_part,
    response_object,
)

router = APIRouter()


@router.post("/v1/responses", response_model=None, openapi_extra=json_body(ResponsesBody))
async def create_response(
    request: Request, api_key: str | None = Depends(require_api_key)
) -> JSONResponse | StreamingResponse:
    settings: Settings = request.app.state.settings
    body = await parse_body(request, ResponsesBody, max_bytes=settings.max_body_bytes)
    client: JobClient = request.app.state.jobs
    job = build_response_job(
        body, settings=settings, api_key=api_key, bulk=wants_bulk(request, api_key, settings)
    )
    job.followed = job.stream  # a caller waiting for the whole answer reads no deltas
    job_limits = limits(settings)
    await flow.submit(client, job, job_limits)
    if job.stream:
        events = flow.follow(client, job, job_limits, gone=disconnected(request))
        return StreamingResponse(
            _stream(job, body, events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Job-Id": job.id},
        )
    final = await flow.result(client, job, job_limits, gone=disconnected(request))
    return JSONResponse(finished_response(job, body, final), headers={"X-Job-Id": job.id})


class _Events:
    """Numbered Responses stream events, framed as SSE with their `event:` line."""

    def __init__(self, job: CompletionJob, body: ResponsesBody) -> None:
        self.job = job
        self.body = body
        self.sequence = 0
        self.where = {"item_id": message_id(job), "output_index": 0, "content_index": 0}

    def event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return sse_data(payload, event=kind)

    def opening(self, model: str) -> Iterator[bytes]:
        snapshot = response_object(self.job, self.body, model=model)
        yield self.event("response.created", response=snapshot)
        yield self.event("response.in_progress", response=snapshot)
        item = message_item(self.job, None, status="in_progress")
        yield self.event("response.output_item.added", output_index=0, item=item)
        yield self.event("response.content_part.added", **self.where, part=output_text_part(""))

    def delta(self, text: str) -> bytes:
        return self.event("response.output_text.delta", **self.where, delta=text, logprobs=[])

    def closing(self, result: ResultEvent) -> Iterator[bytes]:
        final = finished_response(self.job, self.body, result)
        text = result.text
        yield self.event("response.output_text.done", **self.where, text=text, logprobs=[])
        yield self.event("response.content_part.done", **self.where, part=output_text_part(text))
        yield self.event("response.output_item.done", output_index=0, item=final["output"][0])
        yield self.event(f"response.{final['status']}", response=final)

    def failure(self, model: str, error: JobError) -> Iterator[bytes]:
        yield self.event("error", code=error.code, message=error.message, param=error.param)
        yield self.event("response.failed", response=failed_response(self.job, self.body, model, error))


async def _stream(
    job: CompletionJob, body: ResponsesBody, job_events: AsyncIterator[Any]
) -> AsyncIterator[bytes]:
    model = job.cli_model
    events = _Events(job, body)
    for chunk in events.opening(model):
        yield chunk
    async for event in job_events:
        if isinstance(event, StartedEvent):
            model = event.model
        elif isinstance(event, DeltaEvent):
            yield events.delta(event.text)
        elif isinstance(event, ResultEvent):
            for chunk in events.closing(event):
                yield chunk
        else:
            for chunk in events.failure(model, event.error):
                yield chunk
