"""What the model sees of a conversation: separate turns, system prompt modes, rejected parameters."""

from __future__ import annotations

import json

import openai
import pytest

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, Service


@pytest.fixture
def client(service: Service) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0, timeout=60)


def _texts(content: str | list[object]) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if isinstance(b, dict))


def test_a_three_turn_conversation_reaches_the_model_as_separate_turns(
    client: openai.OpenAI, fake_upstream: FakeUpstream
) -> None:
    reply = client.chat.completions.create(
        model="sonnet",
        messages=[
            {"role": "system", "content": "Be concise."},
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": "Nice to meet you, Ada."},
            {"role": "user", "content": "I like graphs."},
            {"role": "assistant", "content": "Graphs are great."},
            {"role": "user", "content": "What is my name?"},
        ],
    )
    assert reply.choices[0].message.content == "You said: What is my name?"
    sent = fake_upstream.state.message_requests()[-1].body["messages"]
    conversation = [(m["role"], _texts(m["content"])) for m in sent if m["role"] in ("user", "assistant")]
    assert conversation == [
        ("user", "My name is Ada."),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "I like graphs."),
        ("assistant", "Graphs are great."),
        ("user", "What is my name?"),
    ]
    assert "Be concise." in json.dumps(fake_upstream.state.message_requests()[-1].body["system"])


def test_streamed_multi_turn_answers_the_last_turn(client: openai.OpenAI) -> None:
    chunks = client.chat.completions.create(
        model="sonnet",
        stream=True,
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "second"},
        ],
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You said: second"


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"n": 2}, "n"), ({"logprobs": True}, "logprobs"), ({"audio": {"voice": "alloy"}}, "audio")],
)
def test_unsupported_parameters_are_400_naming_them(
    client: openai.OpenAI, extra: dict[str, object], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="sonnet", messages=[{"role": "user", "content": "hi"}], extra_body=extra
        )
    assert info.value.body["param"] == param  # type: ignore[index]  # openai: body is object


def test_ignored_sampling_parameters_are_accepted(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="sonnet",
        messages=[{"role": "user", "content": "sampling"}],
        temperature=0.2,
        top_p=0.9,
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=0.1,
        user="someone",
        metadata={"k": "v"},
    )
    assert reply.choices[0].message.content == "You said: sampling"


def test_stream_include_usage_sends_a_final_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="sonnet",
            stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "count me"}],
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_stop_sequences_cut_the_answer(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="sonnet", messages=[{"role": "user", "content": "alpha beta gamma"}], stop=["beta"]
    )
    assert reply.choices[0].message.content == "You said: alpha "
    assert reply.choices[0].finish_reason == "stop"


# a 1x1 transparent PNG
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="


def _image_blocks(message: dict[str, object]) -> list[dict[str, object]]:
    content = message["content"]
    return (
        [b for b in content if isinstance(b, dict) and b.get("type") == "image"]
        if isinstance(content, list)
        else []
    )


def test_an_inline_image_reaches_the_model_as_an_image_block(
    client: openai.OpenAI, fake_upstream: FakeUpstream
) -> None:
    reply = client.chat.completions.create(
        model="sonnet",
        messages=[
            {"role": "user", "content": "Earlier picture"},
            {"role": "assistant", "content": "Noted."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
                ],
            },
        ],
    )
    assert reply.choices[0].message.content == "You said: What is in this picture?"
    sent = fake_upstream.state.message_requests()[-1].body["messages"]
    images = [b for m in sent if m["role"] == "user" for b in _image_blocks(m)]
    assert images and images[0]["source"] == {"type": "base64", "media_type": "image/png", "data": PIXEL}


@pytest.mark.parametrize(
    ("url", "message"),
    [("https://example.com/cat.png", "Remote image URLs"), ("data:image/tiff;base64,AAAA", "image type")],
)
def test_images_the_worker_cannot_pass_are_400(client: openai.OpenAI, url: str, message: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="sonnet",
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
        )
    assert info.value.body["param"] == "messages[0].content[0].image_url.url"  # type: ignore[index]
    assert message in info.value.body["message"]  # type: ignore[index]  # openai: body is object
