"""The whole path for real: HTTP -> Redis job -> arq worker -> Claude Code CLI -> fake upstream -> answer."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, Service


@pytest.fixture
def client(service: Service) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0, timeout=60)


def test_non_streaming_answer_comes_from_the_cli(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    reply = client.chat.completions.create(
        model="sonnet", messages=[{"role": "user", "content": "Hello there, queue"}]
    )
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content == "You said: Hello there, queue"
    assert reply.choices[0].finish_reason == "stop"
    assert "sonnet" in reply.model
    # usage comes from the CLI's result message (the fake's deterministic counts), not an estimate
    assert reply.usage is not None
    # the fake counts one output token per word: "You ", "said: ", "Hello ", "there, ", "queue"
    assert reply.usage.completion_tokens == 5
    assert reply.usage.prompt_tokens > 0


def test_streaming_matches_non_streaming(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "stream these few words please"}]
    whole = client.chat.completions.create(model="sonnet", messages=messages)
    chunks = list(client.chat.completions.create(model="sonnet", messages=messages, stream=True))
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) >= 2
    assert "".join(texts) == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    # after the role chunk (sent at once, before the job starts), every chunk names the model
    # that answered, not the alias
    assert {c.model for c in chunks[1:]} == {whole.model} and whole.model != "sonnet"


def test_stream_ends_with_done(service: Service) -> None:
    body = {"model": "sonnet", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream(
        "POST", f"{service.url}/v1/chat/completions", json=body, headers=_auth(), timeout=60
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    payloads = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(p["object"] == "chat.completion.chunk" for p in payloads)


def test_system_and_user_messages_reach_the_upstream(
    client: openai.OpenAI, fake_upstream: FakeUpstream
) -> None:
    client.chat.completions.create(
        model="sonnet",
        messages=[
            {"role": "system", "content": "You are a terse pirate."},
            {"role": "user", "content": "Where is the treasure?"},
        ],
    )
    request = fake_upstream.state.message_requests()[-1].body
    system = request["system"]
    system_text = system if isinstance(system, str) else " ".join(b.get("text", "") for b in system)
    assert "You are a terse pirate." in system_text
    assert "Where is the treasure?" in json.dumps(request["messages"])


def test_developer_message_is_a_system_prompt(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    client.chat.completions.create(
        model="sonnet",
        messages=[
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "Bonjour"},
        ],
    )
    request = fake_upstream.state.message_requests()[-1].body
    assert "Answer in French." in json.dumps(request["system"])


def test_dated_model_name_maps_onto_an_alias(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    reply = client.chat.completions.create(
        model="claude-3-5-sonnet-20241022", messages=[{"role": "user", "content": "Hello!"}]
    )
    assert reply.choices[0].message.content == "You said: Hello!"
    assert "sonnet" in fake_upstream.state.message_requests()[-1].body["model"]


def test_models_lists_aliases_and_dated_names(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"sonnet", "opus", "haiku", "default", "claude-3-5-sonnet-20241022"} <= ids


def test_a_tool_use_from_the_model_executes_nothing(
    client: openai.OpenAI, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    fake_upstream.state.script(
        "sonnet", [f"tool_use:Bash:{json.dumps({'command': f'touch {marker}'})}"], sticky=True
    )
    try:
        client.chat.completions.create(model="sonnet", messages=[{"role": "user", "content": "run it"}])
    except openai.APIStatusError:
        pass  # an error answer is fine; running the command is not
    assert not marker.exists()
    request = fake_upstream.state.message_requests()[0].body
    offered = {t.get("name") for t in request.get("tools") or []}
    assert "Bash" not in offered


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


def _post(service: Service, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{service.url}/v1/chat/completions",
        content=raw,
        headers={"Content-Type": "application/json", **(_auth() if headers is None else headers)},
        timeout=60,
    )


def _assert_openai_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    return error


def test_missing_or_wrong_key_is_401(service: Service) -> None:
    body = {"model": "sonnet", "messages": [{"role": "user", "content": "hi"}]}
    _assert_openai_error(_post(service, body, headers={}), 401)
    _assert_openai_error(_post(service, body, headers={"Authorization": "Bearer nope"}), 401)
    _assert_openai_error(_post(service, b"{not json", headers={}), 401)
    assert httpx.get(f"{service.url}/v1/models", timeout=10).status_code == 401


def test_unknown_model_is_404_model_not_found(service: Service) -> None:
    error = _assert_openai_error(
        _post(service, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}), 404
    )
    assert error["code"] == "model_not_found"
    assert error["param"] == "model"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        ({"model": "sonnet"}, "messages"),
        ({"model": "sonnet", "messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "sonnet", "messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"model": "sonnet", "messages": [{"role": "user", "content": "hi"}], "n": 3}, "n"),
        ({"model": "sonnet", "messages": [{"role": "system", "content": "only system"}]}, "messages"),
        (
            {"model": "sonnet", "messages": [{"role": "user", "content": "hi"}], "temperature": 9},
            "temperature",
        ),
    ],
)
def test_bad_input_is_a_400_with_an_openai_body(service: Service, body: object, param: str | None) -> None:
    error = _assert_openai_error(_post(service, body), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
