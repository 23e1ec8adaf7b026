"""`POST /v1/responses` for real, driven by the official openai SDK: create, parse, stream, errors."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import Response
from pydantic import BaseModel

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, Service


class Meeting(BaseModel):
    person: str
    place: str
    topics: list[str]


@pytest.fixture
def client(service: Service) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0, timeout=60)


@pytest.fixture
def aclient(service: Service) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0, timeout=60)


def _system_text(fake_upstream: FakeUpstream) -> str:
    system = fake_upstream.state.message_requests()[-1].body["system"]
    return system if isinstance(system, str) else " ".join(b.get("text", "") for b in system)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w[\w'-]*", text))


def test_create_answers_with_text_and_usage(client: openai.OpenAI) -> None:
    response = client.responses.create(model="sonnet", input="hi")
    assert response.object == "response"
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text == "You said: hi"
    message = response.output[0]
    assert message.type == "message" and message.role == "assistant" and message.status == "completed"
    assert "sonnet" in response.model
    assert response.usage is not None
    assert response.usage.output_tokens == 3  # the fake counts one token per word: "You said: hi"
    assert response.usage.input_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    assert response.usage.input_tokens_details.cached_tokens >= 0


async def test_async_create(aclient: openai.AsyncOpenAI) -> None:
    response = await aclient.responses.create(model="sonnet", input="hello async world")
    assert response.output_text == "You said: hello async world"


def test_instructions_become_the_system_prompt(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    response = client.responses.create(
        model="sonnet", instructions="You are a terse pirate.", input="Where is the treasure?"
    )
    assert response.output_text == "You said: Where is the treasure?"
    assert response.instructions == "You are a terse pirate."
    assert "You are a terse pirate." in _system_text(fake_upstream)


def test_a_list_of_message_items(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    response = client.responses.create(
        model="sonnet",
        input=[
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": [{"type": "input_text", "text": "Bonjour"}]},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Salut, matelot", "annotations": []}],
            },
            {"role": "user", "content": [{"type": "input_text", "text": "Ça va bien"}]},
        ],
    )
    assert response.output_text.startswith("You said: ")
    assert "Ça va bien" in response.output_text
    assert "Answer in French." in _system_text(fake_upstream)
    sent = json.dumps(fake_upstream.state.message_requests()[-1].body["messages"], ensure_ascii=False)
    assert "Bonjour" in sent and "Salut, matelot" in sent


def test_parse_with_a_pydantic_model(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    prompt = "Alice met Bob in Paris to discuss gardens"
    response = client.responses.parse(model="sonnet", input=prompt, text_format=Meeting)
    parsed = response.output_parsed
    assert isinstance(parsed, Meeting)
    assert {parsed.person, parsed.place, *parsed.topics} <= _words(prompt)
    assert json.loads(response.output_text) == parsed.model_dump()
    offered = {t.get("name") for t in fake_upstream.state.message_requests()[0].body.get("tools") or []}
    assert "StructuredOutput" in offered


async def test_async_parse_with_instructions(aclient: openai.AsyncOpenAI) -> None:
    prompt = "Carol visits Lisbon for music"
    response = await aclient.responses.parse(
        model="sonnet",
        input=[{"role": "system", "content": "Extract the meeting."}, {"role": "user", "content": prompt}],
        text_format=Meeting,
        temperature=0.2,
        max_output_tokens=512,
        extra_body={"prompt_cache_options": {"mode": "implicit"}},  # as Graphiti sends; ignored
    )
    assert isinstance(response.output_parsed, Meeting)
    assert response.output_parsed.person in _words(prompt)


def test_json_object_format_yields_one_object(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="sonnet", input="give me json", text={"format": {"type": "json_object"}}
    )
    assert isinstance(json.loads(response.output_text), dict)


def test_streaming_events_in_order(client: openai.OpenAI) -> None:
    prompt = "stream these few words please"
    whole = client.responses.create(model="sonnet", input=prompt)
    events = list(client.responses.create(model="sonnet", input=prompt, stream=True))
    types = [e.type for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) >= 2
    assert "".join(deltas) == whole.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.output_text == whole.output_text
    assert final.response.usage is not None and final.response.usage.output_tokens > 0


async def test_async_stream_helper_with_text_format(aclient: openai.AsyncOpenAI) -> None:
    prompt = "Dana meets Eve in Oslo about boats"
    async with aclient.responses.stream(model="sonnet", input=prompt, text_format=Meeting) as stream:
        deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert isinstance(final.output_parsed, Meeting)
    assert "".join(deltas) == final.output_text
    assert final.output_parsed.place in _words(prompt)


def test_stream_is_sse_with_event_names(service: Service) -> None:
    body = {"model": "sonnet", "input": "hi", "stream": True}
    with httpx.stream("POST", f"{service.url}/v1/responses", json=body, headers=_auth(), timeout=60) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    names = [line[7:] for line in lines if line.startswith("event: ")]
    payloads = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert names == [p["type"] for p in payloads]
    assert names[-1] == "response.completed"


def test_raw_response_validates_against_the_sdk_types(service: Service) -> None:
    body = {"model": "sonnet", "input": "hi", "metadata": {"k": "v"}}
    raw = httpx.post(f"{service.url}/v1/responses", json=body, headers=_auth(), timeout=60).json()
    response = Response.model_validate(raw)  # pydantic validation, not the SDK's lenient construct
    assert response.output_text == "You said: hi"
    assert response.metadata == {"k": "v"}
    assert raw["usage"]["cost_usd"] is None or raw["usage"]["cost_usd"] >= 0


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


REJECTED: list[tuple[dict[str, Any], str]] = [
    ({"previous_response_id": "resp_123"}, "previous_response_id"),
    ({"tools": [{"type": "web_search"}]}, "tools"),
    ({"tools": [{"type": "function", "name": "f", "parameters": {}}]}, "tools"),
    ({"n": 2}, "n"),
    ({"conversation": "conv_1"}, "conversation"),
    ({"background": True}, "background"),
    ({"top_logprobs": 2}, "top_logprobs"),
    ({"text": {"format": {"type": "xml"}}}, "text.format.type"),
    ({"text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
    ({"temperature": 5}, "temperature"),
    ({"max_output_tokens": 0}, "max_output_tokens"),
    ({"input": None}, "input"),
    ({"input": ""}, "input"),
    ({"input": [{"type": "function_call_output", "call_id": "c", "output": "x"}]}, "input[0].type"),
    (
        {
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "what is this?"},
                        {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                    ],
                }
            ]
        },
        "input[0].content[1]",
    ),
]


@pytest.mark.parametrize(("extra", "param"), REJECTED, ids=[p for _, p in REJECTED])
def test_rejected_parameter_is_400_naming_it(service: Service, extra: dict[str, Any], param: str) -> None:
    body = {"model": "sonnet", "input": "hi", **extra}
    if body["input"] is None:
        del body["input"]
    response = httpx.post(f"{service.url}/v1/responses", json=body, headers=_auth(), timeout=60)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]


def test_sdk_raises_bad_request_with_the_param(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="sonnet", input="hi", tools=[{"type": "web_search"}])
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "tools"


def test_unknown_model_and_missing_key(service: Service, client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="gpt-4o", input="hi")
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "model_not_found"
    anonymous = httpx.post(f"{service.url}/v1/responses", json={"model": "sonnet", "input": "hi"}, timeout=10)
    assert anonymous.status_code == 401
    assert set(anonymous.json()["error"]) == {"message", "type", "param", "code"}


def test_a_failed_job_is_an_openai_error(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    fake_upstream.state.script("sonnet", ["401"], sticky=True)
    with pytest.raises(openai.APIStatusError) as caught:
        client.responses.create(model="sonnet", input="hi")
    assert caught.value.status_code == 401
    assert isinstance(caught.value.body, dict) and caught.value.body["message"]


def test_a_failed_stream_ends_with_response_failed(
    client: openai.OpenAI, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.state.script("sonnet", ["401"], sticky=True)
    events = list(client.responses.create(model="sonnet", input="hi", stream=True))
    error = next(e for e in events if e.type == "error")
    assert error.message and error.code
    final = events[-1]
    assert final.type == "response.failed"
    assert final.response.status == "failed"
    assert final.response.error is not None and final.response.error.message == error.message
