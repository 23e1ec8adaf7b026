"""`worker.function_calling`: the decision schema offered to the model, and its answer as tool calls."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from litellm_claude.jobs.contract import JobParams
from litellm_claude.worker.function_calling import (
    decision_result,
    decision_schema,
    tools_active,
    tools_prompt,
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME = {"type": "function", "function": {"name": "time"}}


def params(tool_choice: Any = None) -> JobParams:
    return JobParams(tools=[WEATHER, TIME], tool_choice=tool_choice)


def test_tools_are_active_unless_none_is_chosen() -> None:
    assert tools_active(params()) and tools_active(params("auto"))
    assert not tools_active(params("none")) and not tools_active(JobParams())


def test_auto_lets_the_model_respond_or_call_any_function_with_valid_arguments() -> None:
    schema = decision_schema(params("auto"))
    jsonschema.validate({"action": "respond", "content": "hi"}, schema)
    jsonschema.validate(
        {"action": "call_tools", "tool_calls": [{"name": "weather", "arguments": {"city": "Oslo"}}]}, schema
    )
    bad = {"action": "call_tools", "tool_calls": [{"name": "weather", "arguments": {}}]}
    assert not jsonschema.Draft202012Validator(schema).is_valid(bad)


def test_required_and_a_named_function_force_a_call() -> None:
    required = decision_schema(params("required"))
    assert not jsonschema.Draft202012Validator(required).is_valid({"action": "respond", "content": "x"})
    assert not jsonschema.Draft202012Validator(required).is_valid({"action": "call_tools", "tool_calls": []})
    named = decision_schema(params({"type": "function", "function": {"name": "time"}}))
    assert jsonschema.Draft202012Validator(named).is_valid(
        {"action": "call_tools", "tool_calls": [{"name": "time", "arguments": {}}]}
    )
    assert not jsonschema.Draft202012Validator(named).is_valid(
        {"action": "call_tools", "tool_calls": [{"name": "weather", "arguments": {"city": "x"}}]}
    )
    assert "must call" in tools_prompt(params("required"))


def test_the_prompt_lists_each_offered_function_with_its_schema() -> None:
    text = tools_prompt(params())
    assert "## weather" in text and "## time" in text and '"city"' in text


def test_a_call_decision_becomes_openai_tool_calls_and_a_response_becomes_text() -> None:
    text, calls = decision_result(
        {"action": "call_tools", "tool_calls": [{"name": "weather", "arguments": {"city": "Oslo"}}]}
    )
    assert text == "" and calls is not None and len(calls) == 1
    assert calls[0]["type"] == "function" and calls[0]["id"].startswith("call_")
    assert calls[0]["function"] == {"name": "weather", "arguments": json.dumps({"city": "Oslo"})}
    assert decision_result({"action": "respond", "content": "sunny"}) == ("sunny", None)
    assert decision_result({"action": "call_tools", "tool_calls": []}) == ("", None)
    assert decision_result(["not", "a", "dict"]) == (json.dumps(["not", "a", "dict"]), None)
