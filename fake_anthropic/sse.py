"""Encoding of Anthropic Messages stream events (SSE), messages and error bodies."""

from __future__ import annotations

import json
from typing import Any

# Anthropic error type for each HTTP status the fake can be scripted to return.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def encode(event: str, data: dict[str, Any]) -> bytes:
    """One SSE event: `event:` line, `data:` line with compact JSON, blank line."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }


def message(
    msg_id: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    input_tokens: int,
    output_tokens: int,
) -> dict[str, Any]:
    """A Messages API `message` object (the non-streaming response body)."""
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage(input_tokens, output_tokens),
    }


def message_start(msg_id: str, model: str, input_tokens: int) -> bytes:
    body = message(msg_id, model, [], None, input_tokens, 0)
    return encode("message_start", {"type": "message_start", "message": body})


def text_block_start(index: int) -> bytes:
    block = {"type": "text", "text": ""}
    return encode(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )


def tool_use_block_start(index: int, tool_id: str, name: str) -> bytes:
    block = {"type": "tool_use", "id": tool_id, "name": name, "input": {}}
    return encode(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )


def text_delta(index: int, text: str) -> bytes:
    delta = {"type": "text_delta", "text": text}
    return encode("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})


def input_json_delta(index: int, partial_json: str) -> bytes:
    delta = {"type": "input_json_delta", "partial_json": partial_json}
    return encode("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})


def content_block_stop(index: int) -> bytes:
    return encode("content_block_stop", {"type": "content_block_stop", "index": index})


def message_delta(stop_reason: str, input_tokens: int, output_tokens: int) -> bytes:
    return encode(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": usage(input_tokens, output_tokens),
        },
    )


def message_stop() -> bytes:
    return encode("message_stop", {"type": "message_stop"})


def error_body(error_type: str, message_text: str) -> dict[str, Any]:
    """An Anthropic error response body."""
    return {"type": "error", "error": {"type": error_type, "message": message_text}}
