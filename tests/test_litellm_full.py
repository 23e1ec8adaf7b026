"""LiteLLM users served in full: the in-process SDK as the README shows it, capability checks,
the CLI's cost in LiteLLM's cost tracking and the proxy's headers, and a clear answer for the
endpoints this gateway does not serve (through the proxy, in-process and on the API itself)."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import litellm
import openai
import pytest
import yaml
from litellm.integrations.custom_logger import CustomLogger

from litellm_claude.config.model_info import litellm_model_info
from litellm_claude.config.settings import get_settings
from litellm_claude.fake_anthropic import FakeUpstream
from tests import test_litellm_provider as base
from tests.conftest import API_KEY, REPO, Service
from tests.helpers.proxy import MASTER_KEY, Proxy
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.proxy
proxy = base.proxy  # the same fixtures: a LiteLLM proxy process on the `service` fixture's queue
client = base.client
# A 1x1 PNG, sent inline as OpenAI clients do.
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b9d2c40000000049454e44ae426082"
    )
).decode()


class CostRecorder(CustomLogger):
    """What LiteLLM's own cost tracking saw for each successful call."""

    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float | None] = []

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.costs.append(kwargs.get("response_cost"))

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.costs.append(kwargs.get("response_cost"))


@pytest.fixture
def sdk_env(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The settings the provider reads, as a user would export them; LiteLLM's globals restored after."""
    monkeypatch.setenv("REDIS_URL", service.env["REDIS_URL"])
    monkeypatch.setenv("QUEUE_NAME", service.env["QUEUE_NAME"])
    monkeypatch.setattr(litellm, "custom_provider_map", litellm.custom_provider_map)
    monkeypatch.setattr(litellm, "callbacks", list(litellm.callbacks))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# -- in process, exactly as the README shows it ----------------------------------------------------


@pytest.mark.usefixtures("sdk_env")
def test_in_process_sdk_as_documented_with_cost_and_vision(fake_upstream: FakeUpstream) -> None:
    import litellm

    from litellm_claude.provider.custom_handler import claude_code_provider

    litellm.custom_provider_map = [{"provider": "claude-code", "custom_handler": claude_code_provider}]
    recorder = CostRecorder()
    litellm.callbacks.append(recorder)

    reply: Any = litellm.completion(
        model="claude-code/sonnet", messages=[{"role": "user", "content": "Hello from the SDK"}]
    )
    assert reply.choices[0].message.content == "You said: Hello from the SDK"
    cost = reply.usage.cost_usd
    assert cost is not None and cost > 0
    assert reply._hidden_params["response_cost"] == cost
    assert wait_for(lambda: recorder.costs, "LiteLLM's success callback") == [cost]

    image: Any = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
    ]
    seen = litellm.completion(model="claude-code/sonnet", messages=[{"role": "user", "content": image}])
    assert seen.choices[0].message.content
    sent = json.dumps(fake_upstream.state.message_requests()[-1].body["messages"])
    assert PIXEL in sent and '"image"' in sent


def test_capability_checks_answer_for_what_we_support() -> None:
    import litellm_claude.provider.custom_handler  # noqa: F401 - importing the provider registers its models

    for model in (
        "claude-code/sonnet",
        "claude-code/opus",
        "claude-code/haiku",
        "claude-code/default",
        "claude-code/claude-3-5-sonnet-20241022",
    ):
        assert litellm.supports_function_calling(model) is True, model
        assert litellm.supports_parallel_function_calling(model) is True, model
        assert litellm.supports_response_schema(model) is True, model
        assert litellm.supports_vision(model) is True, model
        info = litellm.get_model_info(model)
        assert info["max_input_tokens"] == 200_000
    assert litellm.get_max_tokens("claude-code/sonnet") == 64_000
    assert litellm.get_max_tokens("claude-code/opus") == 32_000
    assert litellm.get_max_tokens("claude-code/default") == 32_000  # opus, falling back to sonnet


def test_proxy_config_declares_the_same_model_info() -> None:
    config = yaml.safe_load((REPO / "config" / "litellm_config.yaml").read_text())
    for deployment in config["model_list"]:
        declared = deployment["model_info"]
        expected = litellm_model_info(deployment["model_name"])
        assert declared == {k: v for k, v in expected.items() if k in declared}, deployment["model_name"]
        for flag in ("supports_function_calling", "supports_response_schema", "supports_vision"):
            assert declared[flag] is True


@pytest.mark.usefixtures("sdk_env")
def test_in_process_embeddings_and_images_say_they_are_not_served() -> None:
    from litellm_claude.provider.custom_handler import claude_code_provider

    litellm.custom_provider_map = [{"provider": "claude-code", "custom_handler": claude_code_provider}]
    with pytest.raises(litellm.BadRequestError) as caught:
        litellm.embedding(model="claude-code/sonnet", input=["vectors please"])
    assert "does not serve embeddings" in str(caught.value)
    with pytest.raises(litellm.BadRequestError) as caught:
        litellm.image_generation(model="claude-code/sonnet", prompt="a cat")
    assert "does not serve image generation" in str(caught.value)


# -- through a real LiteLLM proxy ----------------------------------------------------------------


def test_proxy_reports_the_cli_cost(proxy: Proxy) -> None:
    reply = httpx.post(
        f"{proxy.url}/v1/chat/completions",
        json={"model": "sonnet", "messages": [{"role": "user", "content": "what does this cost"}]},
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    header = float(reply.headers["x-litellm-response-cost"])
    assert header > 0
    assert header == pytest.approx(reply.json()["usage"]["cost_usd"])


def test_proxy_model_info_shows_capabilities(proxy: Proxy) -> None:
    reply = httpx.get(
        f"{proxy.url}/model/info", headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    infos = {m["model_name"]: m["model_info"] for m in reply.json()["data"]}
    assert infos["sonnet"]["supports_function_calling"] is True
    assert infos["sonnet"]["supports_response_schema"] is True
    assert infos["sonnet"]["supports_vision"] is True
    assert infos["sonnet"]["max_input_tokens"] == 200_000
    assert infos["opus"]["max_output_tokens"] == 32_000


def test_proxy_refuses_what_it_does_not_serve(client: openai.OpenAI) -> None:
    attempts = {
        "embeddings": lambda: client.embeddings.create(model="sonnet", input="vectors please"),
        "image generation": lambda: client.images.generate(model="sonnet", prompt="a cat"),
        "audio (text to speech)": lambda: client.audio.speech.create(
            model="sonnet", voice="alloy", input="hi"
        ),
        "audio (transcription)": lambda: client.audio.transcriptions.create(
            model="sonnet", file=("a.wav", io.BytesIO(b"RIFF0000WAVE"))
        ),
    }
    for kind, attempt in attempts.items():
        with pytest.raises(openai.BadRequestError) as caught:
            attempt()
        assert f"does not serve {kind}" in str(caught.value), (kind, str(caught.value))


# -- the API itself ------------------------------------------------------------------------------


def test_api_refuses_what_it_does_not_serve(service: Service) -> None:
    api = openai.OpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0, timeout=30)
    attempts = {
        "embeddings": lambda: api.embeddings.create(model="sonnet", input="vectors please"),
        "image generation": lambda: api.images.generate(model="sonnet", prompt="a cat"),
        "audio": lambda: api.audio.speech.create(model="sonnet", voice="alloy", input="hi"),
        "moderations": lambda: api.moderations.create(input="hi"),
        "legacy text completions": lambda: api.completions.create(model="sonnet", prompt="hi"),
    }
    for kind, attempt in attempts.items():
        with pytest.raises(openai.NotFoundError) as caught:
            attempt()
        assert f"does not serve {kind}" in str(caught.value), kind
        assert caught.value.body["code"] == "unsupported_endpoint"  # type: ignore[index]  # openai: body is object
