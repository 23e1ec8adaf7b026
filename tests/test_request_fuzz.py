"""Fuzzed request bodies through the request validation both front doors share.

Every body is either refused with an OpenAI-style 4xx (`ApiError` or a pydantic error turned
into one, with an error body that encodes as UTF-8) or becomes a job that serializes for the
queue and that the worker can plan a CLI run for. Any other exception would be a 500 or a
failed job. Fast and in-process: the same modules the API process runs (`api.body` is a thin
reader around them), with a fixed seed so every run tries the same bodies.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from litellm_claude.config.settings import Settings
from litellm_claude.jobs import codec
from litellm_claude.jobs.contract import CompletionJob
from litellm_claude.openai_compat.errors import ApiError, from_validation_errors
from litellm_claude.openai_compat.job_body import JobBody
from litellm_claude.openai_compat.json_guard import check_json, load_json
from litellm_claude.openai_compat.request import ChatCompletionBody, build_job
from litellm_claude.openai_compat.responses_api import ResponsesBody, build_response_job
from litellm_claude.worker.cli_options import output_format
from litellm_claude.worker.function_calling import (
    decision_result,
    decision_schema,
    tools_active,
    tools_prompt,
)
from litellm_claude.worker.prompt import flat_transcript, plan_prompt
from litellm_claude.worker.transcript import to_turns

SETTINGS = Settings(redis_url="redis://127.0.0.1:1/0", max_messages=20)
FUZZ = settings(
    max_examples=250, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)

WEIRD_TEXT = ["", " ", "\x00", "\ud800", "a\udfffb", "sonnet", "f", "\n", "x" * 300]
text = st.integers(0, 7).flatmap(lambda i: st.sampled_from(WEIRD_TEXT) if i == 0 else st.text(max_size=8))
scalars = st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=False) | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes any JSON at all."""
    return st.integers(0, 9).flatmap(lambda i: json_values if i == 0 else strategy)


def rarely_wrong(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.integers(0, 19).flatmap(lambda i: json_values if i == 0 else strategy)


schemas = st.fixed_dictionaries(
    {"type": maybe(st.sampled_from(["object", "string", "array"]))},
    optional={
        "properties": maybe(
            st.dictionaries(text, st.fixed_dictionaries({"type": st.sampled_from(["string", "integer"])}))
        ),
        "required": maybe(st.lists(text, max_size=2)),
        "$ref": maybe(st.sampled_from(["#/$defs/x", "http://x/y", "#"])),
        "items": json_values,
        "$schema": maybe(st.sampled_from(["https://json-schema.org/draft/2020-12/schema", "http://x"])),
        "$defs": json_values,
        "pattern": maybe(st.sampled_from(["^a+$", "(", "(?<=a+)b"])),
    },
)
parts = st.fixed_dictionaries(
    {"type": maybe(st.sampled_from(["text", "image_url", "input_text", "refusal"]))},
    optional={
        "text": maybe(text),
        "image_url": maybe(
            st.fixed_dictionaries(
                {"url": maybe(st.sampled_from(["data:image/png;base64,iVBORw0K", "http://x/y.png"]))}
            )
        ),
    },
)
tool_calls = st.fixed_dictionaries(
    {
        "id": maybe(text),
        "function": maybe(st.fixed_dictionaries({"name": maybe(text), "arguments": maybe(text)})),
    },
    optional={"type": maybe(st.just("function"))},
)
messages = st.fixed_dictionaries(
    {"role": rarely_wrong(st.sampled_from(["system", "developer", "user", "assistant", "tool", "function"]))},
    optional={
        "content": maybe(text | st.lists(parts, max_size=2)),
        "name": maybe(text),
        "tool_calls": maybe(st.lists(tool_calls, max_size=2)),
        "tool_call_id": maybe(text),
    },
)
conversations = st.tuples(
    st.lists(messages, max_size=3),
    st.fixed_dictionaries({"role": st.just("user"), "content": text | st.lists(parts, max_size=2)}),
).map(lambda t: [*t[0], t[1]])
tools = st.fixed_dictionaries(
    {
        "type": maybe(st.just("function")),
        "function": maybe(
            st.fixed_dictionaries(
                {"name": maybe(st.sampled_from(["f", "g", "a b"]))}, optional={"parameters": maybe(schemas)}
            )
        ),
    }
)
tool_choices = maybe(
    st.sampled_from(["none", "auto", "required"])
    | st.fixed_dictionaries(
        {"type": maybe(st.just("function")), "function": maybe(st.fixed_dictionaries({"name": maybe(text)}))}
    )
)
response_formats = maybe(
    st.fixed_dictionaries(
        {"type": maybe(st.sampled_from(["text", "json_object", "json_schema"]))},
        optional={
            "json_schema": maybe(st.fixed_dictionaries({"name": maybe(text), "schema": maybe(schemas)}))
        },
    )
)
CHAT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "model": maybe(st.sampled_from(["sonnet", "opus", "haiku", "gpt-9"])),
    "messages": maybe(conversations),
    "stream": maybe(st.booleans()),
    "stream_options": maybe(st.fixed_dictionaries({"include_usage": maybe(st.booleans())})),
    "max_tokens": maybe(st.integers(0, 200_000)),
    "max_completion_tokens": maybe(st.integers(0, 200_000)),
    "temperature": maybe(st.floats(-1, 3)),
    "top_p": maybe(st.floats(-1, 2)),
    "n": maybe(st.integers(0, 3)),
    "stop": maybe(text | st.lists(text, max_size=20)),
    "response_format": response_formats,
    "tools": maybe(st.lists(tools, max_size=2)),
    "tool_choice": tool_choices,
    "user": maybe(text),
    "logprobs": maybe(st.booleans()),
    "metadata": maybe(st.dictionaries(text, text, max_size=2)),
    "modalities": maybe(st.lists(st.sampled_from(["text", "audio"]), max_size=2)),
}
BASE_CHAT = {"model": "sonnet", "messages": [{"role": "user", "content": "hi"}]}


def some_of(
    fields: dict[str, st.SearchStrategy[Any]], base: dict[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """A valid base body with one to three of its fields fuzzed, so every validator is reached."""
    names = st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=3, unique=True)
    chosen = names.flatmap(lambda ns: st.fixed_dictionaries({n: fields[n] for n in ns}))
    return chosen.map(lambda fuzzed: {**base, **fuzzed})


chat_bodies = some_of(CHAT_FIELDS, BASE_CHAT)
input_items = st.fixed_dictionaries(
    {"role": maybe(st.sampled_from(["user", "assistant", "system", "developer"]))},
    optional={"type": maybe(st.just("message")), "content": maybe(text | st.lists(parts, max_size=2))},
)
RESPONSES_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "model": maybe(st.sampled_from(["sonnet", "opus"])),
    "input": maybe(text | st.lists(input_items, min_size=1, max_size=3)),
    "instructions": maybe(text),
    "text": maybe(
        st.fixed_dictionaries(
            {
                "format": maybe(
                    st.fixed_dictionaries(
                        {
                            "type": maybe(st.sampled_from(["text", "json_schema", "json_object"])),
                            "name": maybe(text),
                            "schema": maybe(schemas),
                        }
                    )
                )
            }
        )
    ),
    "max_output_tokens": maybe(st.integers(0, 200_000)),
    "stream": maybe(st.booleans()),
    "tools": maybe(st.lists(tools, max_size=1)),
    "metadata": maybe(st.dictionaries(text, text, max_size=2)),
    "include": maybe(st.lists(text, max_size=2)),
}
responses_bodies = some_of(RESPONSES_FIELDS, {"model": "sonnet", "input": "hi"})


def _refused(error: ApiError) -> None:
    assert 400 <= error.status < 500, error.body()
    json.dumps(error.body(), ensure_ascii=False).encode()  # the response can be written


def _parse(body: dict[str, Any], model: type[BaseModel]) -> Any:
    """What `api.body.parse_body` does, from the bytes a client would send."""
    data = load_json(json.dumps(body).encode())
    check_json(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_errors(exc.errors()) from None


def _runnable(job: CompletionJob) -> None:
    """The job survives the queue and the worker can plan its CLI run."""
    CompletionJob.model_validate(codec.loads(codec.dumps(job.model_dump(mode="json"))))
    plan = plan_prompt(job.messages, system_mode="system")
    flat_transcript(plan)
    for turn in to_turns(job.messages):
        turn.content()
    output_format(job)
    if tools_active(job.params):
        tools_prompt(job.params)
        json.dumps(decision_schema(job.params))
        decision_result({"action": "call_tools", "tool_calls": [{"name": "f", "arguments": {}}]})


@pytest.mark.parametrize("model", [ChatCompletionBody, JobBody])
@FUZZ
@given(body=chat_bodies)
def test_fuzzed_chat_bodies_are_refused_or_runnable(
    model: type[ChatCompletionBody], body: dict[str, Any]
) -> None:
    try:
        job = build_job(_parse(body, model), settings=SETTINGS)
    except ApiError as error:
        _refused(error)
        return
    _runnable(job)


@FUZZ
@given(body=responses_bodies)
def test_fuzzed_responses_bodies_are_refused_or_runnable(body: dict[str, Any]) -> None:
    try:
        job = build_response_job(_parse(body, ResponsesBody), settings=SETTINGS)
    except ApiError as error:
        _refused(error)
        return
    _runnable(job)
