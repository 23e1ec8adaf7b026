"""The subset of OpenAI's Responses API we serve: the request, its job, and the `response` object.

A Responses request is translated into a `ChatCompletionBody` and then built into a job by
the chat path's own `build_job`, so both front doors validate and run alike. What is accepted
and ignored: `temperature`, `top_p`, `reasoning`, `text.verbosity`, `store` (nothing is stored),
`include`, `truncation`, `parallel_tool_calls`, `service_tier`, `prompt_cache_key`.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from litellm_claude.config.settings import Settings
from litellm_claude.jobs.contract import CompletionJob, JobError, ResultEvent, Usage
from litellm_claude.openai_compat.errors import ApiError, invalid_request
from litellm_claude.openai_compat.request import ChatCompletionBody, ChatMessage, build_job

ROLES = ("user", "assistant", "system", "developer")
TEXT_PARTS = ("input_text", "output_text", "text")
# A job error's param as the Responses request names it.
_PARAM_NAMES = {"response_format": "text.format", "max_completion_tokens": "max_output_tokens"}


class ResponsesBody(BaseModel):
    """The request body of `POST /v1/responses`. Unknown parameters are ignored."""

    model_config = ConfigDict(extra="allow")

    model: str
    input: Any = None  # a string or a list of input items; checked by `to_chat_body`
    instructions: str | None = None
    text: dict[str, Any] | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stream: bool = False
    n: int | None = Field(default=None, ge=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    previous_response_id: str | None = None
    conversation: Any = None
    prompt: Any = None
    background: bool | None = None
    top_logprobs: int | None = None
    include: list[str] | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    safety_identifier: str | None = None


def build_response_job(
    body: ResponsesBody, *, settings: Settings, api_key: str | None = None, bulk: bool = False
) -> CompletionJob:
    """Validate a Responses request and build its job; ApiError names the Responses parameter."""
    chat = to_chat_body(body)
    try:
        return build_job(chat, settings=settings, api_key=api_key, bulk=bulk)
    except ApiError as error:
        error.param = _responses_param(error.param)
        raise


def to_chat_body(body: ResponsesBody) -> ChatCompletionBody:
    _reject_unsupported(body)
    messages = _input_messages(body.input)
    if body.instructions is not None and body.instructions.strip():
        messages.insert(0, ChatMessage(role="system", content=body.instructions))
    return ChatCompletionBody(
        model=body.model,
        messages=messages,
        stream=body.stream,
        max_completion_tokens=body.max_output_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        n=body.n,
        response_format=_response_format(body.text),
        user=body.user or body.safety_identifier,
    )


def _unsupported(message: str, param: str) -> ApiError:
    return invalid_request(message, param=param, code="unsupported_parameter")


def _reject_unsupported(body: ResponsesBody) -> None:
    if body.previous_response_id is not None:
        raise _unsupported(
            "`previous_response_id` is not supported: responses are not stored. "
            "Send the earlier turns in `input` instead.",
            "previous_response_id",
        )
    for name in ("conversation", "prompt"):
        if getattr(body, name) is not None:
            raise _unsupported(f"`{name}` is not supported by this service.", name)
    if body.background:
        raise _unsupported("Background responses are not supported.", "background")
    if body.top_logprobs:
        raise _unsupported("Log probabilities are not available.", "top_logprobs")
    if "message.output_text.logprobs" in (body.include or []):
        raise _unsupported("Log probabilities are not available.", "include")
    for tool in body.tools or []:
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "function":
            raise _unsupported("Function calling (`tools`) is not supported yet.", "tools")
        raise _unsupported(f"Built-in tools are not supported (got type {kind!r}).", "tools")


def _input_messages(value: Any) -> list[ChatMessage]:
    if value is None:
        raise invalid_request(
            "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
        )
    if isinstance(value, str):
        if not value.strip():
            raise invalid_request("input must not be empty.", param="input", code="invalid_value")
        return [ChatMessage(role="user", content=value)]
    if not isinstance(value, list) or not value:
        raise invalid_request(
            "input must be a string or a non-empty list of message items.",
            param="input",
            code="invalid_value",
        )
    return [_input_item(i, item) for i, item in enumerate(value)]


def _input_item(index: int, item: Any) -> ChatMessage:
    param = f"input[{index}]"
    if not isinstance(item, dict):
        raise invalid_request(f"{param} must be a message object.", param=param, code="invalid_value")
    kind = item.get("type", "message")
    if kind != "message":
        raise invalid_request(
            f"Input items of type {kind!r} are not supported; only messages are accepted.",
            param=f"{param}.type",
            code="unsupported_value",
        )
    role = item.get("role")
    if role not in ROLES:
        raise invalid_request(
            f"{param}.role must be one of {', '.join(ROLES)}.", param=f"{param}.role", code="invalid_value"
        )
    text = _content_text(item.get("content"), f"{param}.content")
    if role != "assistant" and not text.strip():
        raise invalid_request(f"{param} has no text content.", param=f"{param}.content", code="invalid_value")
    return ChatMessage(role=role, content=text)


def _content_text(content: Any, param: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid_request(
            f"{param} must be a string or a list of parts.", param=param, code="invalid_value"
        )
    return "\n".join(_part_text(part, f"{param}[{i}]") for i, part in enumerate(content))


def _part_text(part: Any, param: str) -> str:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in TEXT_PARTS and isinstance(part.get("text"), str):
        return str(part["text"])
    if kind == "refusal" and isinstance(part.get("refusal"), str):
        return str(part["refusal"])
    if kind in ("input_image", "input_file", "input_audio"):
        what = {"input_image": "Image", "input_file": "File", "input_audio": "Audio"}[kind]
        raise invalid_request(
            f"{what} input is not supported by this service.", param=param, code="unsupported_content"
        )
    raise invalid_request(
        f"Unsupported content part type {kind!r}; only input_text parts are accepted.",
        param=param,
        code="unsupported_content",
    )


def _response_format(text: dict[str, Any] | None) -> dict[str, Any] | None:
    fmt = (text or {}).get("format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind != "json_schema":
        raise invalid_request(
            f"Unsupported text.format type {kind!r}.", param="text.format.type", code="invalid_value"
        )
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise invalid_request(
            "text.format.schema must be a JSON Schema object.",
            param="text.format.schema",
            code="invalid_value",
        )
    name = fmt.get("name")
    if not isinstance(name, str) or not name:
        raise invalid_request(
            "Missing required parameter: 'text.format.name'.",
            param="text.format.name",
            code="missing_required_parameter",
        )
    spec: dict[str, Any] = {"name": name, "schema": schema, "strict": bool(fmt.get("strict"))}
    if isinstance(fmt.get("description"), str):
        spec["description"] = fmt["description"]
    return {"type": "json_schema", "json_schema": spec}


def _responses_param(param: str | None) -> str | None:
    if param is None:
        return None
    if param.startswith("messages"):
        return "input"
    return _PARAM_NAMES.get(param.split(".")[0], param)


# ---- the `response` object -------------------------------------------------------------------


def response_id(job: CompletionJob) -> str:
    return "resp_" + job.id.removeprefix("job_")


def message_id(job: CompletionJob) -> str:
    return "msg_" + job.id.removeprefix("job_")


def output_text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(job: CompletionJob, text: str | None, *, status: str = "completed") -> dict[str, Any]:
    """The assistant's output message; `text=None` gives the empty in-progress item of a stream."""
    return {
        "type": "message",
        "id": message_id(job),
        "status": status,
        "role": "assistant",
        "content": [] if text is None else [output_text_part(text)],
    }


def usage_object(usage: Usage) -> dict[str, Any]:
    prompt = usage.prompt_tokens
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_input_tokens,
            "cache_write_tokens": usage.cache_creation_input_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + usage.output_tokens,
        "cost_usd": usage.total_cost_usd,
    }


def response_object(
    job: CompletionJob,
    body: ResponsesBody,
    *,
    model: str,
    status: str = "in_progress",
    output: list[dict[str, Any]] | None = None,
    usage: Usage | None = None,
    error: dict[str, Any] | None = None,
    incomplete_reason: str | None = None,
) -> dict[str, Any]:
    return {
        "id": response_id(job),
        "object": "response",
        "created_at": int(job.created),
        "status": status,
        "background": False,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens,
        "metadata": body.metadata or {},
        "model": model,
        "output": output or [],
        "parallel_tool_calls": True if body.parallel_tool_calls is None else body.parallel_tool_calls,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": False,
        "temperature": 1.0 if body.temperature is None else body.temperature,
        "text": {"format": (body.text or {}).get("format") or {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0 if body.top_p is None else body.top_p,
        "truncation": "disabled",
        "usage": usage_object(usage) if usage is not None else None,
        "user": body.user,
    }


def finished_response(job: CompletionJob, body: ResponsesBody, result: ResultEvent) -> dict[str, Any]:
    """The final `response`: `completed`, or `incomplete` when max_output_tokens cut the answer."""
    cut = result.finish_reason == "length"
    status = "incomplete" if cut else "completed"
    return response_object(
        job,
        body,
        model=result.model,
        status=status,
        output=[message_item(job, result.text, status=status)],
        usage=result.usage,
        incomplete_reason="max_output_tokens" if cut else None,
    )


def failed_response(job: CompletionJob, body: ResponsesBody, model: str, error: JobError) -> dict[str, Any]:
    """A `failed` response; `error.code` is one of the codes the Responses API defines."""
    code = {429: "rate_limit_exceeded", 400: "invalid_prompt"}.get(error.status, "server_error")
    return response_object(
        job, body, model=model, status="failed", error={"code": code, "message": error.message}
    )
