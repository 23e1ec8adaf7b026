"""Structured outputs and function calling through the CLI's StructuredOutput tool, via the openai SDK."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, Service

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
            "required": ["city", "unit"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
    },
}


class Person(BaseModel):
    name: str
    hobbies: list[str]
    age: int


@pytest.fixture
def client(service: Service) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0, timeout=60)


@pytest.fixture
def aclient(service: Service) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0, timeout=60)


def test_parse_with_a_pydantic_model(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    completion = client.chat.completions.parse(
        model="sonnet",
        messages=[{"role": "user", "content": "Ada Lovelace likes mathematics and poetry"}],
        response_format=Person,
    )
    person = completion.choices[0].message.parsed
    assert isinstance(person, Person)
    assert person.name  # strings come from the prompt's words
    offered = [t["name"] for t in fake_upstream.state.message_requests()[0].body["tools"]]
    assert "StructuredOutput" in offered


async def test_async_parse_and_json_object(aclient: openai.AsyncOpenAI) -> None:
    completion = await aclient.chat.completions.parse(
        model="sonnet", messages=[{"role": "user", "content": "Grace Hopper"}], response_format=Person
    )
    assert isinstance(completion.choices[0].message.parsed, Person)
    plain = await aclient.chat.completions.create(
        model="sonnet",
        messages=[{"role": "user", "content": "give me json"}],
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(plain.choices[0].message.content or ""), dict)


def test_streamed_structured_output_is_the_json(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    chunks = client.chat.completions.create(
        model="sonnet",
        stream=True,
        messages=[{"role": "user", "content": "a title please"}],
        response_format={"type": "json_schema", "json_schema": {"name": "t", "schema": schema}},
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert isinstance(json.loads(text)["title"], str)


def test_a_two_step_tool_calling_round_trip(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(
        model="sonnet", messages=messages, tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="required"
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert calls and all(c.function.name in ("get_weather", "get_time") for c in calls)
    weather = [c for c in calls if c.function.name == "get_weather"]
    assert weather and set(json.loads(weather[0].function.arguments)) == {"city", "unit"}

    messages.append(choice.message.model_dump(exclude_none=True))
    for call in calls:
        messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 degrees"})
    second = client.chat.completions.create(model="sonnet", messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content
    assert not second.choices[0].message.tool_calls
    # the model saw the call and its result as separate turns
    sent = fake_upstream.state.message_requests()[-1].body["messages"]
    dumped = [json.dumps(m["content"]) for m in sent if m["role"] in ("user", "assistant")]
    assert any("tool_call" in d and "get_weather" in d for d in dumped)
    assert any("sunny, 21 degrees" in d for d in dumped)


def test_named_tool_choice_forces_that_function(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="sonnet",
        messages=[{"role": "user", "content": "time in Tokyo"}],
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert {c.function.name for c in reply.choices[0].message.tool_calls or []} == {"get_time"}


def test_streamed_tool_calls_arrive_in_the_final_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="sonnet",
            stream=True,
            messages=[{"role": "user", "content": "weather in Oslo"}],
            tools=[WEATHER_TOOL],
            tool_choice="required",
        )
    )
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason][-1]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.choices[0].delta.tool_calls


def test_tool_choice_none_answers_in_text(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="sonnet",
        messages=[{"role": "user", "content": "no tools"}],
        tools=[WEATHER_TOOL],
        tool_choice="none",
    )
    assert reply.choices[0].message.content == "You said: no tools"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        (
            {"tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
        ),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"response_format": {"type": "xml"}}, "response_format.type"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format"),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"type": "array"}},
                }
            },
            "response_format.json_schema.schema.type",
        ),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "x",
                        "schema": {
                            "type": "object",
                            "properties": {"a": {"$ref": "https://example.com/s.json"}},
                        },
                    },
                }
            },
            "response_format.json_schema.schema",
        ),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "x",
                        "schema": {"type": "object", "properties": {"a": {"type": "wibble"}}},
                    },
                }
            },
            "response_format.json_schema.schema",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}],
                    }
                ]
            },
            "messages[0].content[0].image_url.url",
        ),
    ],
)
def test_rejected_parameters_are_400_naming_them(
    client: openai.OpenAI, extra: dict[str, object], param: str
) -> None:
    body: dict[str, object] = {"messages": [{"role": "user", "content": "hi"}], **extra}
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="sonnet", **body)  # type: ignore[call-overload]  # untyped **body
    assert info.value.body["param"] == param  # type: ignore[index]  # openai: body is object


def test_a_model_that_never_gives_the_structured_answer_is_a_clear_error(
    client: openai.OpenAI, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.state.script("sonnet", ['tool_use:NotAThing:{"x": 1}'], sticky=True)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.parse(
            model="sonnet", messages=[{"role": "user", "content": "Ada"}], response_format=Person
        )
    assert info.value.status_code == 502
    assert info.value.body["code"] == "invalid_structured_output"  # type: ignore[index]  # openai: body is object
