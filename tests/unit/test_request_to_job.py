"""`openai_compat.request.build_job`: an OpenAI body becomes a job, or a 4xx naming the parameter."""

from __future__ import annotations

from typing import Any

import pytest

from litellm_claude.config.settings import Settings
from litellm_claude.openai_compat.errors import ApiError
from litellm_claude.openai_compat.request import ChatCompletionBody, build_job, owner_of

SETTINGS = Settings(_env_file=None, queue_name="lc:unit", model_chains="")


def job_for(**body: Any):
    body.setdefault("model", "sonnet")
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return build_job(ChatCompletionBody.model_validate(body), settings=SETTINGS, api_key="sk-caller")


def rejected(**body: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        job_for(**body)
    return caught.value


def test_a_plain_request_becomes_an_interactive_job_on_the_configured_queue() -> None:
    job = job_for()
    assert (job.alias, job.cli_model, job.queue, job.priority) == (
        "sonnet",
        "sonnet",
        "lc:unit",
        "interactive",
    )
    assert job.messages[0].role == "user" and job.messages[0].content == "hi"
    assert job.owner == owner_of("sk-caller") and "sk-caller" not in job.model_dump_json()


def test_default_is_opus_falling_back_to_sonnet_and_dated_names_map_to_aliases() -> None:
    assert (job_for(model="default").cli_model, job_for(model="default").fallback_models) == (
        "opus",
        ["sonnet"],
    )
    assert job_for(model="claude-3-5-sonnet-20241022").alias == "sonnet"
    assert job_for(model="claude-code/haiku").alias == "haiku"


def test_model_chains_override_the_fallback_chain() -> None:
    settings = Settings(_env_file=None, model_chains="default=sonnet>haiku")
    body = ChatCompletionBody.model_validate(
        {"model": "default", "messages": [{"role": "user", "content": "x"}]}
    )
    job = build_job(body, settings=settings)
    assert (job.cli_model, job.fallback_models) == ("sonnet", ["haiku"])


def test_developer_becomes_system_function_becomes_tool_and_text_parts_are_joined() -> None:
    job = job_for(
        messages=[
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "function", "name": "f", "content": "42"},
        ]
    )
    assert [m.role for m in job.messages] == ["system", "user", "tool"]
    assert "a" in job.messages[1].content and "b" in job.messages[1].content


def test_params_carry_stop_limits_and_bulk_priority() -> None:
    job = build_job(
        ChatCompletionBody.model_validate(
            {
                "model": "sonnet",
                "messages": [{"role": "user", "content": "x"}],
                "stop": "END",
                "max_tokens": 7,
            }
        ),
        settings=SETTINGS,
        bulk=True,
    )
    assert job.params.stop == ["END"] and job.params.max_tokens == 7 and job.priority == "bulk"
    assert job_for(max_tokens=5, max_completion_tokens=9).params.max_tokens == 9


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": "gpt-4o"}, 404, "model"),
        ({"n": 2}, 400, "n"),
        ({"logprobs": True}, 400, "logprobs"),
        ({"top_logprobs": 3}, 400, "top_logprobs"),
        ({"audio": {"voice": "x"}}, 400, "audio"),
        ({"modalities": ["text", "audio"]}, 400, "modalities"),
        ({"messages": [{"role": "system", "content": "only system"}]}, 400, "messages"),
        ({"messages": [{"role": "user", "content": "  "}]}, 400, "messages[0].content"),
        ({"response_format": {"type": "xml"}}, 400, "response_format.type"),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, 400, "response_format"),
        ({"tools": [{"type": "retrieval"}]}, 400, "tools[0].type"),
        ({"tools": [{"type": "function", "function": {}}]}, 400, "tools[0].function.name"),
        ({"tool_choice": "required"}, 400, "tool_choice"),
        (
            {
                "tools": [{"type": "function", "function": {"name": "f"}}],
                "tool_choice": {"type": "function", "function": {"name": "g"}},
            },
            400,
            "tool_choice",
        ),
    ],
)
def test_what_cannot_be_served_is_a_4xx_naming_the_parameter(
    body: dict[str, Any], status: int, param: str
) -> None:
    error = rejected(**body)
    assert (error.status, error.param) == (status, param)
    assert error.body()["error"]["message"]


def test_too_many_messages_and_too_much_text_are_refused() -> None:
    small = Settings(_env_file=None, max_messages=2, max_request_chars=10)
    many = ChatCompletionBody.model_validate(
        {"model": "sonnet", "messages": [{"role": "user", "content": "x"}] * 3}
    )
    with pytest.raises(ApiError) as caught:
        build_job(many, settings=small)
    assert caught.value.status == 400
    long = ChatCompletionBody.model_validate(
        {"model": "sonnet", "messages": [{"role": "user", "content": "x" * 11}]}
    )
    with pytest.raises(ApiError) as caught:
        build_job(long, settings=small)
    assert (caught.value.status, caught.value.code) == (413, "request_too_large")
