"""The LiteLLM front door for real: a `litellm` proxy process -> provider -> Redis job -> worker -> CLI.

The proxy runs `config/litellm_config.yaml` as an OS process on the same Redis and
queue as the `service` fixture's worker; only the model (`fake_upstream`) is fake.
"""

from __future__ import annotations

import os

# Before LiteLLM is imported: its bundled cost map, no download attempts at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import litellm
import openai
import pytest
import redis

from litellm_claude.config.models import list_model_ids
from litellm_claude.config.settings import get_settings
from litellm_claude.fake_anthropic import FakeUpstream
from litellm_claude.jobs import keys
from litellm_claude.provider.custom_handler import claude_code_provider
from tests.conftest import Service
from tests.helpers.proxy import MASTER_KEY, Proxy, running_proxy

pytestmark = pytest.mark.proxy


@pytest.fixture(scope="module")
def proxy(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """`litellm --config config/litellm_config.yaml` on a free port, started from the repository root."""
    with running_proxy(service.env, tmp_path_factory.mktemp("litellm")) as running:
        yield running


@pytest.fixture
def client(proxy: Proxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=MASTER_KEY, max_retries=0, timeout=60)


@pytest.fixture
def redis_client(service: Service) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(service.env["REDIS_URL"])
    yield conn
    conn.close()


@pytest.fixture
def provider_env(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The env the provider reads (Settings), for in-process LiteLLM calls."""
    monkeypatch.setenv("REDIS_URL", service.env["REDIS_URL"])
    monkeypatch.setenv("QUEUE_NAME", service.env["QUEUE_NAME"])
    for name in ("BULK_QUEUE_NAME", "JOB_TIMEOUT_S", "REQUEST_TIMEOUT_S"):
        if name in service.env:
            monkeypatch.setenv(name, service.env[name])
    monkeypatch.setattr(
        litellm,
        "custom_provider_map",
        [{"provider": "claude-code", "custom_handler": claude_code_provider}],
    )
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _job_id_for(conn: redis.Redis, user: str) -> str:
    """The id of the job whose `user` param is `user`.

    arq keeps a job's payload under `arq:job:<id>` while it runs, then under `arq:result:<id>`.
    """
    for pattern in ("arq:job:*", "arq:result:*"):
        for key in conn.scan_iter(match=pattern, count=1000):
            raw = conn.get(key)
            try:
                payload = json.loads(raw or b"{}")["a"][0]
            except (ValueError, KeyError, IndexError, TypeError):
                continue
            if isinstance(payload, dict) and (payload.get("params") or {}).get("user") == user:
                return str(payload["id"])
    raise AssertionError(f"no job with user={user!r} on Redis")


def _event_types(conn: redis.Redis, job_id: str) -> list[str]:
    return [json.loads(fields[b"e"])["type"] for _id, fields in conn.xrange(keys.events(job_id))]


def _assert_cancelled(conn: redis.Redis, job_id: str) -> None:
    """The job got a cancel request and ended without a result."""
    deadline = time.monotonic() + 10
    while not conn.exists(keys.cancel(job_id)):
        assert time.monotonic() < deadline, "the abandoned job was not cancelled"
        time.sleep(0.05)
    while "result" not in (types := _event_types(conn, job_id)) and "error" not in types:
        assert time.monotonic() < deadline + 20, f"the cancelled job never ended: {types}"
        time.sleep(0.1)
    assert "result" not in types


# -- through the proxy process -----------------------------------------------------------------


def test_models_lists_aliases_and_dated_names(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list().data}
    assert set(list_model_ids()) <= ids
    assert {"sonnet", "opus", "haiku", "default", "claude-3-5-sonnet-20241022"} <= ids


def test_non_streaming_answer_with_real_usage(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="sonnet", messages=[{"role": "user", "content": "Hello through the proxy"}]
    )
    assert reply.choices[0].message.content == "You said: Hello through the proxy"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 0
    assert reply.usage.prompt_tokens > 0


def test_dated_name_through_the_proxy(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    reply = client.chat.completions.create(
        model="claude-3-5-haiku-20241022", messages=[{"role": "user", "content": "dated name"}]
    )
    assert reply.choices[0].message.content == "You said: dated name"
    assert any("haiku" in r.model for r in fake_upstream.state.message_requests())


def test_streaming_chunks_arrive_before_the_job_finishes(
    client: openai.OpenAI, fake_upstream: FakeUpstream, redis_client: redis.Redis
) -> None:
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.3)
    marker = f"stream-{uuid.uuid4().hex}"
    prompt = "count these words slowly please"
    stream = client.chat.completions.create(
        model="sonnet",
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": True},
        user=marker,
    )
    texts: list[str] = []
    chunks = []
    events_at_first_text: list[str] | None = None
    for chunk in stream:
        chunks.append(chunk)
        if chunk.choices and chunk.choices[0].delta.content:
            if events_at_first_text is None:
                events_at_first_text = _event_types(redis_client, _job_id_for(redis_client, marker))
            texts.append(chunk.choices[0].delta.content)
    # The first text reached the client while the worker had not yet published the result.
    assert events_at_first_text is not None
    assert "delta" in events_at_first_text
    assert "result" not in events_at_first_text
    assert len(texts) >= 2
    assert "".join(texts) == f"You said: {prompt}"
    # LiteLLM sends the usage chunk after the finish chunk, with an empty choice
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    assert _event_types(redis_client, _job_id_for(redis_client, marker))[-1] == "result"
    usage = [c.usage for c in chunks if c.usage]
    assert usage and usage[-1].completion_tokens > 0


def test_response_format_json_schema(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    reply = client.chat.completions.create(
        model="sonnet",
        messages=[{"role": "user", "content": "Name a city and its population."}],
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}},
    )
    content = reply.choices[0].message.content
    assert content is not None
    jsonschema.validate(json.loads(content), schema)


def test_rate_limit_is_a_429_with_retry_after(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    fake_upstream.state.script("sonnet", ["429"], sticky=True)
    messages: Any = [{"role": "user", "content": "too many"}]
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="sonnet", messages=messages)
    assert caught.value.status_code == 429
    assert int(caught.value.response.headers["retry-after"]) >= 1
    # streamed: still a 429 before any chunk (LiteLLM drops the retry-after header on this path)
    with pytest.raises(openai.RateLimitError) as streamed:
        client.chat.completions.create(model="sonnet", messages=messages, stream=True)
    assert streamed.value.status_code == 429


def test_client_leaving_a_stream_cancels_the_job(
    proxy: Proxy, fake_upstream: FakeUpstream, redis_client: redis.Redis
) -> None:
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.5)
    marker = f"leave-{uuid.uuid4().hex}"
    body = {
        "model": "sonnet",
        "stream": True,
        "user": marker,
        "messages": [{"role": "user", "content": "a long answer that nobody reads to the end"}],
    }
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    with httpx.stream(
        "POST", f"{proxy.url}/v1/chat/completions", json=body, headers=headers, timeout=60
    ) as response:
        assert response.status_code == 200
        assert any('"content"' in line for line in response.iter_lines())  # stops at the first text
    job_id = _job_id_for(redis_client, marker)
    _assert_cancelled(redis_client, job_id)


def test_unsupported_parameter_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="sonnet", messages=[{"role": "user", "content": "two"}], n=2)
    assert caught.value.status_code == 400
    # the proxy puts the status in `code`; our message, type and param come through
    assert "Only n=1 is supported." in caught.value.message
    assert caught.value.type == "invalid_request_error"
    assert caught.value.param == "n"


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_tool_calls_whole_and_streamed(client: openai.OpenAI) -> None:
    messages: Any = [{"role": "user", "content": "What is the weather in Paris?"}]
    whole = client.chat.completions.create(
        model="sonnet", messages=messages, tools=[WEATHER_TOOL], tool_choice="required"
    )
    assert whole.choices[0].finish_reason == "tool_calls"
    calls = whole.choices[0].message.tool_calls or []
    assert calls and all(c.function.name == "get_weather" for c in calls)  # type: ignore[union-attr]  # function | custom
    assert all(set(json.loads(c.function.arguments)) == {"city"} for c in calls)  # type: ignore[union-attr]

    chunks = list(
        client.chat.completions.create(
            model="sonnet", messages=messages, tools=[WEATHER_TOOL], tool_choice="required", stream=True
        )
    )
    streamed = [t for c in chunks if c.choices for t in (c.choices[0].delta.tool_calls or [])]
    assert len(streamed) == len(calls)
    assert all(t.function is not None and t.function.name == "get_weather" for t in streamed)
    assert "tool_calls" in [c.choices[0].finish_reason for c in chunks if c.choices]


# -- in process: LiteLLM's own entry points through the registered provider -------------------


@pytest.mark.usefixtures("provider_env")
async def test_in_process_acompletion() -> None:
    reply: Any = await litellm.acompletion(
        model="claude-code/sonnet", messages=[{"role": "user", "content": "in process"}]
    )
    assert reply.choices[0].message.content == "You said: in process"
    assert reply.usage.completion_tokens > 0


@pytest.mark.usefixtures("provider_env")
async def test_in_process_unknown_model_is_not_found() -> None:
    with pytest.raises(litellm.NotFoundError):
        await litellm.acompletion(model="claude-code/gpt-9", messages=[{"role": "user", "content": "x"}])


@pytest.mark.usefixtures("provider_env")
def test_in_process_sync_completion_and_stream() -> None:
    messages = [{"role": "user", "content": "sync path words"}]
    whole: Any = litellm.completion(model="claude-code/sonnet", messages=messages)
    assert whole.choices[0].message.content == "You said: sync path words"
    stream: Any = litellm.completion(model="claude-code/sonnet", messages=messages, stream=True)
    texts = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert len(texts) >= 2
    assert "".join(texts) == "You said: sync path words"


@pytest.mark.usefixtures("provider_env")
def test_abandoned_sync_stream_cancels_the_job(
    fake_upstream: FakeUpstream, redis_client: redis.Redis
) -> None:
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.5)
    marker = f"abandon-{uuid.uuid4().hex}"
    chunks = claude_code_provider.streaming(
        model="sonnet",
        messages=[{"role": "user", "content": "a long answer that nobody reads to the end"}],
        api_base=None,
        custom_prompt_dict={},
        model_response=litellm.ModelResponse(),
        print_verbose=print,
        encoding=None,
        api_key=None,
        logging_obj=None,
        optional_params={"user": marker},
    )
    assert next(iter(chunks))["text"]
    chunks.close()  # type: ignore[attr-defined]  # a generator
    _assert_cancelled(redis_client, _job_id_for(redis_client, marker))


@pytest.mark.usefixtures("provider_env")
@pytest.mark.parametrize(
    ("extra", "param"),
    [
        (
            {"tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "function": "f"}},
            "tool_choice.function",
        ),
        (
            {"messages": [{"role": "system", "content": "a\x00b"}, {"role": "user", "content": "x"}]},
            "messages[0].content",
        ),
        ({"messages": [{"role": "user", "content": "lone \ud800"}]}, "messages[0].content"),
        ({"max_tokens": 10**30}, "max_tokens"),
    ],
    ids=["tool_choice_function_str", "nul_in_system", "lone_surrogate", "max_tokens_huge"],
)
async def test_in_process_hostile_params_are_bad_requests(extra: dict[str, Any], param: str) -> None:
    """The provider shares the API's request validation: the same 400 naming the parameter."""
    request: dict[str, Any] = {"messages": [{"role": "user", "content": "x"}], **extra}
    with pytest.raises(litellm.BadRequestError) as caught:
        await litellm.acompletion(model="claude-code/sonnet", **request)
    assert caught.value.param == param
