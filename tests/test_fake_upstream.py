"""The fake Anthropic upstream, checked against the real Claude Code CLI and over plain HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema  # a dependency of claude-agent-sdk
import pytest
from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ResultError,
    ResultMessage,
    StreamEvent,
    query,
)

from litellm_claude.fake_anthropic import FakeUpstream
from litellm_claude.fake_anthropic.answers import last_user_text, schema_instance, split_tokens

PROMPT = "Name three primary colors please"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh(upstream: FakeUpstream) -> None:
    upstream.state.clear_requests()
    upstream.state.clear_script()
    upstream.state.set_delays(first_token_delay=0.0, token_delay=0.0)


def cli_options(upstream: FakeUpstream, tmp_path: Path, **overrides: Any) -> ClaudeAgentOptions:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    settings: dict[str, Any] = {
        "tools": [],
        "setting_sources": [],
        "cwd": str(cwd),
        "system_prompt": "Be brief.",
        "include_partial_messages": True,
        "model": "sonnet",
        "max_turns": 1,
        "env": {
            "ANTHROPIC_BASE_URL": upstream.url,
            "ANTHROPIC_API_KEY": "sk-test-fake",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "HOME": str(home),
            "CLAUDE_CONFIG_DIR": str(home / ".claude"),
            "CLAUDE_CODE_MAX_RETRIES": "0",
        },
    }
    settings.update(overrides)
    return ClaudeAgentOptions(**settings)


async def run_cli(prompt: str, options: ClaudeAgentOptions) -> tuple[list[Any], Exception | None]:
    """All messages of one CLI run, and the exception that ended it (if any)."""
    messages: list[Any] = []
    try:
        async for message in query(prompt=prompt, options=options):
            messages.append(message)
    except Exception as exc:
        return messages, exc
    return messages, None


def result_of(messages: list[Any]) -> ResultMessage:
    results = [m for m in messages if isinstance(m, ResultMessage)]
    assert len(results) == 1, messages
    return results[0]


# -- the real CLI against the fake -------------------------------------------------------------


async def test_cli_gets_streamed_echo(upstream: FakeUpstream, tmp_path: Path) -> None:
    messages, error = await run_cli(PROMPT, cli_options(upstream, tmp_path))
    assert error is None
    result = result_of(messages)
    assert result.result == f"You said: {PROMPT}"
    assert not result.is_error
    deltas = [
        m.event["delta"]["text"]
        for m in messages
        if isinstance(m, StreamEvent)
        and m.event.get("type") == "content_block_delta"
        and m.event["delta"].get("type") == "text_delta"
    ]
    assert len(deltas) == len(split_tokens(f"You said: {PROMPT}")) > 3
    assert "".join(deltas) == f"You said: {PROMPT}"

    [request] = upstream.state.message_requests()
    assert request.query == "beta=true"
    assert "x-api-key" not in request.headers
    body = request.body
    assert body["stream"] is True
    assert any(block["text"] == "Be brief." for block in body["system"])
    assert body["messages"][0] == {"role": "user", "content": PROMPT}
    assert last_user_text(body) == PROMPT
    assistant = next(m for m in messages if isinstance(m, AssistantMessage))
    assert assistant.model == body["model"]  # message_start echoes the requested model
    stats = upstream.state.stats()
    assert stats["total_requests"] == 1 and stats["in_flight"] == 0


PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 18},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "role": {"enum": ["admin", "user"]},
        "friend": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Friend"}]},
    },
    "required": ["name", "age", "tags", "role", "friend"],
    "$defs": {
        "Friend": {
            "type": "object",
            "properties": {"nick": {"type": "string"}},
            "required": ["nick"],
        }
    },
}


async def test_cli_structured_output(upstream: FakeUpstream, tmp_path: Path) -> None:
    output_format = {"type": "json_schema", "schema": PERSON_SCHEMA}
    options = cli_options(upstream, tmp_path, output_format=output_format, max_turns=3)
    messages, error = await run_cli("Describe Alice from Paris", options)
    assert error is None
    value = result_of(messages).structured_output
    jsonschema.validate(value, PERSON_SCHEMA)
    assert value["name"] in {"Describe", "Alice", "from", "Paris"}  # words of the prompt
    first = upstream.state.message_requests()[0].body
    assert any(tool["name"] == "StructuredOutput" for tool in first["tools"])


async def test_cli_scripted_429_ends_in_error(upstream: FakeUpstream, tmp_path: Path) -> None:
    upstream.state.script("sonnet", ["429"])
    messages, error = await run_cli(PROMPT, cli_options(upstream, tmp_path))
    # The CLI turns the 429 into a synthetic assistant message, an error result, exit code 1.
    assert isinstance(error, ResultError)
    assert "429" in str(error) and error.exit_code == 1
    synthetic = [m for m in messages if isinstance(m, AssistantMessage)]
    assert [m.model for m in synthetic] == ["<synthetic>"]
    assert synthetic[0].error == "rate_limit"
    result = result_of(messages)
    assert result.is_error and "Request rejected (429)" in (result.result or "")
    assert upstream.state.stats()["total_requests"] == 1  # CLAUDE_CODE_MAX_RETRIES=0


async def test_cli_usage_limit_text(upstream: FakeUpstream, tmp_path: Path) -> None:
    upstream.state.script("sonnet", ["usage_limit:1800000000"])
    messages, error = await run_cli(PROMPT, cli_options(upstream, tmp_path))
    assert error is None  # the CLI passes the answer through as a normal result
    result = result_of(messages)
    assert result.result == "Claude AI usage limit reached|1800000000"
    assert "usage limit" in result.result


# -- pure functions -------------------------------------------------------------------------------


def test_last_user_text_skips_cli_additions() -> None:
    reminder = "<system-reminder>\nAttribution ...\n</system-reminder>\n"
    clear = [
        "<local-command-caveat>The command below ...</local-command-caveat>\n",
        "<command-name>/clear</command-name>\n  <command-message>clear</command-message>\n"
        "  <command-args></command-args>\n",
        "<local-command-stdout></local-command-stdout>\n",
    ]
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": t} for t in [reminder, *clear, "hi"]]},
            {"role": "system", "content": "# Environment\nYou have been invoked ..."},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
            {
                "role": "user",
                "content": [{"type": "text", "text": "[structured-output-enforce] You MUST call it."}],
            },
        ]
    }
    assert last_user_text(body) == "hi"
    assert last_user_text({"messages": [{"role": "user", "content": "<b>bold</b> claim"}]}) == (
        "<b>bold</b> claim"
    )


def test_split_tokens_round_trips() -> None:
    for text in ["You said: a  b\nc ", "  lead", "", "one"]:
        assert "".join(split_tokens(text)) == text
    assert split_tokens("You said: hi") == ["You ", "said: ", "hi"]


def test_schema_instance_nested_refs() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "nodes": {"type": "array", "items": {"$ref": "#/definitions/Node"}, "minItems": 1},
            "edges": {"type": "array", "items": {"$ref": "#/$defs/Edge"}},
            "kind": {"const": "graph"},
            "weight": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "meta": {"oneOf": [{"type": "boolean"}, {"type": "null"}]},
            "note": {"type": ["string", "null"], "minLength": 10},
        },
        "required": ["nodes", "edges", "kind"],
        "definitions": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"items": {"$ref": "#/definitions/Node"}},
                },
                "required": ["name"],
            }
        },
        "$defs": {
            "Edge": {
                "type": "object",
                "properties": {"source": {"type": "string"}, "target": {"type": "string"}},
                "required": ["source", "target"],
            }
        },
    }
    value = schema_instance(schema, "Alice knows Bob.")
    jsonschema.validate(value, schema)
    assert value == schema_instance(schema, "Alice knows Bob.")  # deterministic
    assert value["nodes"][0]["name"] in {"Alice", "knows", "Bob"}


# -- the HTTP surface, without the CLI -------------------------------------------------------------


def post_messages(url: str, model: str = "claude-opus-x", **extra: Any) -> httpx.Response:
    body = {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "ping me"}], **extra}
    return httpx.post(f"{url}/v1/messages?beta=true", json=body, timeout=10)


def test_fifo_and_sticky_scripts_over_http(upstream: FakeUpstream) -> None:
    url = upstream.url
    reply = httpx.post(f"{url}/_fake/script", json={"model": "opus", "outcomes": ["429", "500"]})
    assert reply.status_code == 200
    first = post_messages(url)
    assert first.status_code == 429
    assert first.json()["error"]["type"] == "rate_limit_error"
    assert first.headers["retry-after"] and "anthropic-ratelimit-requests-remaining" in first.headers
    assert post_messages(url, model="claude-sonnet-x").status_code == 200  # other model: untouched
    assert post_messages(url).json()["error"]["type"] == "api_error"
    ok = post_messages(url).json()
    assert ok["content"] == [{"type": "text", "text": "You said: ping me"}]
    assert ok["usage"]["output_tokens"] == 4 and ok["model"] == "claude-opus-x"

    httpx.post(f"{url}/_fake/script", json={"model": "opus", "outcomes": ["529"], "sticky": True})
    assert [post_messages(url).status_code for _ in range(3)] == [529, 529, 529]
    assert httpx.delete(f"{url}/_fake/script").status_code == 200
    assert post_messages(url).status_code == 200
    bad = httpx.post(f"{url}/_fake/script", json={"model": "opus", "outcomes": ["nope"]})
    assert bad.status_code == 400

    stats = httpx.get(f"{url}/_fake/stats").json()
    assert stats["total_requests"] == 8
    assert stats["per_model"] == {"claude-opus-x": 7, "claude-sonnet-x": 1}
    assert len(httpx.get(f"{url}/_fake/requests").json()) == 8
    httpx.delete(f"{url}/_fake/requests")
    assert httpx.get(f"{url}/_fake/stats").json()["total_requests"] == 0


def test_tool_use_outcome_and_count_tokens(upstream: FakeUpstream) -> None:
    upstream.state.script("opus", ['tool_use:Bash:{"command": "touch /tmp/x"}'])
    reply = post_messages(upstream.url).json()
    assert reply["stop_reason"] == "tool_use"
    assert reply["content"][0]["name"] == "Bash"
    assert reply["content"][0]["input"] == {"command": "touch /tmp/x"}
    counted = httpx.post(
        f"{upstream.url}/v1/messages/count_tokens",
        json={"model": "m", "messages": [{"role": "user", "content": "a b c"}]},
    )
    assert counted.json() == {"input_tokens": 3}
    assert httpx.post(f"{upstream.url}/_fake/config", json={"token_delay": 0.0}).status_code == 200


def test_structured_output_then_tool_result(upstream: FakeUpstream) -> None:
    tool = {
        "name": "StructuredOutput",
        "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}},
    }
    first = post_messages(upstream.url, tools=[tool]).json()
    assert first["stop_reason"] == "tool_use" and first["content"][0]["input"] == {"x": "ping"}
    messages = [
        {"role": "user", "content": "ping me"},
        {"role": "assistant", "content": [first["content"][0]]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": first["content"][0]["id"], "content": "ok"}],
        },
    ]
    second = post_messages(upstream.url, tools=[tool], messages=messages).json()
    assert second["stop_reason"] == "end_turn" and second["content"][0]["type"] == "text"


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])


def test_stream_events_and_hang_in_flight(upstream: FakeUpstream) -> None:
    body = {"model": "claude-opus-x", "stream": True, "messages": [{"role": "user", "content": "a b"}]}
    with httpx.stream("POST", f"{upstream.url}/v1/messages", json=body, timeout=10) as reply:
        kinds = [event["type"] for event in sse_events(reply.iter_lines())]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_delta") == 4  # "You ", "said: ", "a ", "b"
    upstream.state.script("opus", ["hang"])
    with httpx.stream("POST", f"{upstream.url}/v1/messages", json=body, timeout=10) as reply:
        events = sse_events(reply.iter_lines())  # keep a reference: dropping it closes the stream
        assert next(events)["type"] == "message_start"
        assert upstream.state.stats()["in_flight"] == 1
    # The client hung up: the server notices and lowers in-flight (bounded wait, not a timing test).
    for _ in range(500):
        if upstream.state.stats()["in_flight"] == 0:
            break
        time.sleep(0.01)
    assert upstream.state.stats() | {"per_model": None} == {
        "total_requests": 2,
        "per_model": None,
        "in_flight": 0,
        "peak_in_flight": 1,
    }


def test_stop_does_not_wait_for_hanging_stream() -> None:
    with FakeUpstream() as fake:
        fake.state.script("opus", ["hang"], sticky=True)
        body = {"model": "opus", "stream": True, "messages": [{"role": "user", "content": "x"}]}
        client = httpx.Client(timeout=10)
        reply = client.send(client.build_request("POST", f"{fake.url}/v1/messages", json=body), stream=True)
        events = sse_events(reply.iter_lines())
        assert next(events)["type"] == "message_start"
        assert fake.state.stats()["in_flight"] == 1
    # Leaving the block stopped the server although the stream was still open: it ends the stream.
    assert list(events) == []
    reply.close()
    client.close()


async def test_peak_in_flight_counts_concurrent_streams(upstream: FakeUpstream) -> None:
    upstream.state.script("opus", ["hang"], sticky=True)
    body = {"model": "opus", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    async with httpx.AsyncClient(timeout=10) as client:
        url = f"{upstream.url}/v1/messages"
        replies = [
            await client.send(client.build_request("POST", url, json=body), stream=True) for _ in range(3)
        ]
        lines = [reply.aiter_lines() for reply in replies]  # keep references: see above
        assert [await anext(it) for it in lines] == ["event: message_start"] * 3
        stats = upstream.state.stats()
        assert stats["in_flight"] == 3 and stats["peak_in_flight"] == 3
        for reply in replies:
            await reply.aclose()
