"""An OpenAI chat completion request body, validated, and its translation into a job."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from litellm_claude.config.models import UnknownModel, resolve_model
from litellm_claude.config.settings import Settings
from litellm_claude.jobs import errors
from litellm_claude.jobs.contract import CompletionJob, JobImage, JobMessage, JobParams
from litellm_claude.openai_compat.content_parts import split_parts
from litellm_claude.openai_compat.errors import ApiError, invalid_request
from litellm_claude.openai_compat.schema_check import check_schema

# The largest answer any Claude model gives; a larger max_tokens is a mistake, not a wish.
MAX_OUTPUT_TOKENS = 128_000
# Stop sequences are scanned on every streamed delta: a few, of sensible length.
MAX_STOPS = 16
MAX_STOP_CHARS = 1_000
# Structured-output and tool schemas reach the CLI as one argument each (Linux caps it at 128 KiB).
MAX_SCHEMA_BYTES = 64_000
# OpenAI's rule for function names (they also become schema constants and prompt headings).
FUNCTION_NAME = r"^[A-Za-z0-9_-]{1,64}$"
_FUNCTION_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class FunctionCall(BaseModel):
    name: str = Field(pattern=FUNCTION_NAME)
    arguments: str


class ToolCall(BaseModel):
    """A function call of an earlier assistant turn."""

    id: str = Field(min_length=1, max_length=256)
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class ChatCompletionBody(BaseModel):
    """The request body of `POST /v1/chat/completions`. Unknown OpenAI parameters are ignored."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: dict[str, Any] | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=None, ge=1)
    stop: str | list[Annotated[str, Field(max_length=MAX_STOP_CHARS)]] | None = Field(
        default=None, max_length=MAX_STOPS
    )
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    user: str | None = None
    logprobs: StrictBool | None = None
    top_logprobs: int | None = None
    audio: dict[str, Any] | None = None
    modalities: list[str] | None = None


def owner_of(api_key: str | None) -> str | None:
    """A stable, non-reversible owner tag for a caller's key (the key itself is never stored)."""
    if not api_key:
        return None
    return hashlib.sha256(api_key.encode()).hexdigest()[:32]


def build_job(
    body: ChatCompletionBody, *, settings: Settings, api_key: str | None = None, bulk: bool = False
) -> CompletionJob:
    """Validate what the model can be given and build the job; raise ApiError on bad input."""
    try:
        route = resolve_model(body.model)
    except UnknownModel:
        raise ApiError.of(errors.MODEL_NOT_FOUND, param="model", model=body.model) from None
    _reject_unsupported(body)
    if len(body.messages) > settings.max_messages:
        raise invalid_request(f"At most {settings.max_messages} messages are accepted.", param="messages")
    messages = [_normalize(i, m) for i, m in enumerate(body.messages)]
    if not any(m.role == "user" for m in messages):
        raise invalid_request("messages must contain at least one user message.", param="messages")
    if sum(len(m.content) for m in messages) > settings.max_request_chars:
        raise ApiError.of(errors.CONVERSATION_TOO_LONG, param="messages")
    _check_response_format(body.response_format)
    _check_tools(body)
    chain = settings.chain_overrides().get(route.alias) or [route.cli_model, *route.fallbacks]
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    params = JobParams(
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        stop=stop,
        response_format=body.response_format,
        tools=body.tools or None,
        tool_choice=body.tool_choice,
        user=body.user,
    )
    return CompletionJob(
        model=body.model,
        alias=route.alias,
        cli_model=chain[0],
        fallback_models=chain[1:],
        messages=messages,
        params=params,
        stream=body.stream,
        owner=owner_of(api_key),
        queue=settings.queue_name,
        priority="bulk" if bulk else "interactive",
        timeout_s=settings.job_timeout_s,
    )


def _reject_unsupported(body: ChatCompletionBody) -> None:
    """Parameters the CLI cannot honour and that would change the answer's shape: a 400 each."""
    if body.n not in (None, 1):
        raise invalid_request("Only n=1 is supported.", param="n", code="unsupported_parameter")
    if body.logprobs or body.top_logprobs:
        param = "logprobs" if body.logprobs else "top_logprobs"
        raise invalid_request(
            "Log probabilities are not available.", param=param, code="unsupported_parameter"
        )
    if body.audio is not None or (body.modalities and set(body.modalities) - {"text"}):
        param = "audio" if body.audio is not None else "modalities"
        raise invalid_request("Only text output is supported.", param=param, code="unsupported_parameter")


def _normalize(index: int, message: ChatMessage) -> JobMessage:
    param = f"messages[{index}].content"
    role = "system" if message.role == "developer" else message.role
    if role == "function":
        role = "tool"
    content = message.content
    images: list[JobImage] = []
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        text, images = split_parts(content, role=role, param=param)
    if role in ("system", "user") and not text.strip() and not images:
        raise invalid_request(f"messages[{index}] has no text content.", param=param)
    return JobMessage(
        role=role,
        content=text,
        images=images,
        name=message.name,
        tool_calls=[c.model_dump() for c in message.tool_calls] if message.tool_calls else None,
        tool_call_id=message.tool_call_id,
    )


def _check_tools(body: ChatCompletionBody) -> None:
    names = set()
    for i, tool in enumerate(body.tools or []):
        function = tool.get("function")
        if tool.get("type") != "function" or not isinstance(function, dict):
            raise invalid_request(
                "Only tools of type `function` are supported.",
                param=f"tools[{i}].type",
                code="unsupported_parameter",
            )
        name = function.get("name")
        if not isinstance(name, str) or not _FUNCTION_NAME_RE.fullmatch(name):
            raise invalid_request(
                "Each function needs a name of 1 to 64 letters, digits, underscores or dashes.",
                param=f"tools[{i}].function.name",
            )
        parameters = function.get("parameters", {"type": "object"})
        if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
            raise invalid_request(
                "Function parameters must be a JSON Schema of type object.",
                param=f"tools[{i}].function.parameters",
            )
        check_schema(parameters, param=f"tools[{i}].function.parameters")
        names.add(name)
    if body.tools and _json_size(body.tools) > MAX_SCHEMA_BYTES:
        raise invalid_request(
            f"The tools are too large: at most {MAX_SCHEMA_BYTES} bytes of JSON in all.",
            param="tools",
            code="tools_too_large",
        )
    _check_tool_choice(body.tool_choice, names)


def _check_tool_choice(choice: str | dict[str, Any] | None, names: set[str]) -> None:
    if choice is None or choice in ("none", "auto"):
        return
    if choice == "required":
        if not names:
            raise invalid_request("tool_choice `required` needs tools.", param="tool_choice")
        return
    if isinstance(choice, str):
        raise invalid_request(
            'tool_choice must be none, auto, required or {"type": "function", "function": {"name": ...}}.',
            param="tool_choice",
            code="invalid_value",
        )
    function = choice.get("function")
    if choice.get("type") != "function" or not isinstance(function, dict):
        raise invalid_request(
            'A tool_choice object must be {"type": "function", "function": {"name": ...}}.',
            param="tool_choice.function" if choice.get("type") == "function" else "tool_choice.type",
            code="invalid_value",
        )
    wanted = function.get("name")
    if not isinstance(wanted, str) or wanted not in names:
        raise invalid_request(
            f"tool_choice names a function that is not in tools: {wanted!r}.", param="tool_choice"
        )


def _check_response_format(fmt: dict[str, Any] | None) -> None:
    if fmt is None:
        return
    kind = fmt.get("type")
    if kind in ("text", "json_object"):
        return
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise invalid_request(
                "response_format.json_schema.schema must be a JSON Schema object.",
                param="response_format",
            )
        check_schema(spec["schema"], param="response_format.json_schema.schema")
        if _json_size(spec["schema"]) > MAX_SCHEMA_BYTES:
            raise invalid_request(
                f"The JSON Schema is too large: at most {MAX_SCHEMA_BYTES} bytes of JSON.",
                param="response_format.json_schema.schema",
                code="schema_too_large",
            )
        return
    raise invalid_request(f"Unsupported response_format type {kind!r}.", param="response_format.type")


def _json_size(value: Any) -> int:
    return len(json.dumps(value))  # ASCII, as the CLI gets it
