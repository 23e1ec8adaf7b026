"""Job events as OpenAI objects: `chat.completion`, `chat.completion.chunk`, usage, error."""

from __future__ import annotations

from typing import Any

from litellm_claude.jobs.contract import CompletionJob, ResultEvent, Usage


def completion_id(job: CompletionJob) -> str:
    return "chatcmpl-" + job.id.removeprefix("job_")


def usage_object(usage: Usage) -> dict[str, Any]:
    prompt = usage.prompt_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": 0},
        "cost_usd": usage.total_cost_usd,
    }


def completion_object(job: CompletionJob, result: ResultEvent) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": result.text, "refusal": None}
    if result.tool_calls:
        message["tool_calls"] = result.tool_calls
        message["content"] = None
    return {
        "id": completion_id(job),
        "object": "chat.completion",
        "created": int(job.created),
        "model": result.model,
        "system_fingerprint": None,
        "choices": [
            {"index": 0, "message": message, "finish_reason": result.finish_reason, "logprobs": None}
        ],
        "usage": usage_object(result.usage),
    }


def chunk_object(
    job: CompletionJob,
    model: str,
    delta: dict[str, Any],
    *,
    finish_reason: str | None = None,
    usage: Usage | None = None,
    with_choice: bool = True,
) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": completion_id(job),
        "object": "chat.completion.chunk",
        "created": int(job.created),
        "model": model,
        "system_fingerprint": None,
        "choices": (
            [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]
            if with_choice
            else []
        ),
    }
    if usage is not None:
        chunk["usage"] = usage_object(usage)
    return chunk
