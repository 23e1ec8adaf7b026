"""A completion job, its events and its outcome: the one definition of what travels on Redis."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class JobImage(BaseModel):
    """An image sent inline (a `data:` URL), as Anthropic's base64 image source."""

    model_config = ConfigDict(extra="forbid")

    media_type: Literal["image/png", "image/jpeg", "image/gif", "image/webp"]
    data: str


class JobMessage(BaseModel):
    """One conversation turn, normalized: `developer` is folded into `system`, text parts joined."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    images: list[JobImage] = Field(default_factory=list)


class JobParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = Field(default_factory=list)
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    user: str | None = None


class CompletionJob(BaseModel):
    """What a front door enqueues and a worker runs."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: f"job_{uuid.uuid4().hex}")
    model: str = Field(description="The model name the client sent, echoed back in responses.")
    alias: str
    cli_model: str
    fallback_models: list[str] = Field(default_factory=list)
    messages: list[JobMessage]
    params: JobParams = Field(default_factory=JobParams)
    stream: bool = False
    followed: bool = Field(
        default=True,
        description="Someone may read the job's text deltas while it runs (a streaming caller, an async "
        "job's events). False (a caller waiting for the whole answer): the worker publishes the first "
        "delta at once and the rest of the text as one delta with the result, saving a write per token.",
    )
    created: float = Field(default_factory=time.time)
    owner: str | None = Field(default=None, description="Hash of the caller's API key, never the key.")
    queue: str = ""
    priority: Literal["interactive", "bulk"] = "interactive"
    timeout_s: float = 600.0


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    total_cost_usd: float | None = None

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens


class JobError(BaseModel):
    """An OpenAI-style error with the HTTP status the front door should answer."""

    type: str
    message: str
    status: int
    code: str | None = None
    param: str | None = None
    retry_after: float | None = None


class _Event(BaseModel):
    attempt: int = 1


class StartedEvent(_Event):
    type: Literal["started"] = "started"
    model: str
    worker: str = ""


class DeltaEvent(_Event):
    type: Literal["delta"] = "delta"
    text: str
    model: str | None = Field(
        default=None, description="The model answering (e.g. claude-sonnet-5-5), on an attempt's first delta."
    )


FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


class ResultEvent(_Event):
    type: Literal["result"] = "result"
    text: str
    finish_reason: FinishReason = "stop"
    model: str
    usage: Usage = Field(default_factory=Usage)
    tool_calls: list[dict[str, Any]] | None = None
    duration_ms: int | None = None


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    error: JobError


AnyEvent = StartedEvent | DeltaEvent | ResultEvent | ErrorEvent
JobEvent = Annotated[AnyEvent, Field(discriminator="type")]
EVENT_ADAPTER: TypeAdapter[JobEvent] = TypeAdapter(JobEvent)


def encode_event(event: AnyEvent) -> str:
    return event.model_dump_json(exclude_none=True)


def decode_event(raw: str | bytes) -> AnyEvent:
    return EVENT_ADAPTER.validate_json(raw)
