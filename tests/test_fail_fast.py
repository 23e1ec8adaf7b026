"""Fail fast: a front door whose queue no worker consumes answers 503 at once, naming the fix.

A "misrouted" front door is one whose QUEUE_NAME (or Redis) differs from the
workers'. It is tested as an API process, a LiteLLM proxy process and the
LiteLLM SDK in-process. Times are printed (run with -s), not asserted.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import litellm
import openai
import pytest

from litellm_claude.config.settings import get_settings
from litellm_claude.provider.custom_handler import claude_code_provider
from tests.conftest import API_KEY, Factory, Service
from tests.helpers.proxy import MASTER_KEY, running_proxy


def chat(url: str, content: str, *, stream: bool = False) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "sonnet", "messages": [{"role": "user", "content": content}], "stream": stream},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=60,
    )


def assert_names_the_fix(message: str, queue: str) -> None:
    assert repr(queue) in message
    assert "No worker consumes queue" in message
    assert "REDIS_URL" in message and "QUEUE_NAME" in message


def test_misrouted_api_is_503_at_once_and_a_late_worker_is_used(service_factory: Factory) -> None:
    svc = service_factory(workers=0)
    queue = svc.env["QUEUE_NAME"]
    for stream in (False, True):
        began = time.monotonic()
        reply = chat(svc.url, "nobody listens", stream=stream)
        elapsed = time.monotonic() - began
        print(f"misrouted API (stream={stream}) answered in {elapsed:.3f}s")
        assert reply.status_code == 503, reply.text
        error = reply.json()["error"]
        assert error["code"] == "no_worker"
        assert error["type"] == "service_unavailable_error"
        assert_names_the_fix(error["message"], queue)
        assert int(reply.headers["retry-after"]) >= 1
    ready = httpx.get(f"{svc.url}/ready", timeout=10)
    assert ready.status_code == 503
    assert_names_the_fix(ready.json()["checks"]["workers"], queue)

    svc.start("worker-1", "worker")
    deadline = time.monotonic() + 60
    while httpx.get(f"{svc.url}/ready", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, svc.logs()[-2000:]
        time.sleep(0.05)
    reply = chat(svc.url, "a worker is here now")
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "You said: a worker is here now"


def test_async_jobs_still_queue_without_a_worker(service_factory: Factory) -> None:
    """Async work is meant to wait for workers: it is accepted, not refused."""
    svc = service_factory(workers=0)
    reply = httpx.post(
        f"{svc.url}/v1/jobs",
        json={"model": "sonnet", "messages": [{"role": "user", "content": "later"}]},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    assert reply.status_code == 202, reply.text
    assert reply.json()["status"] == "queued"


@pytest.fixture
def misrouted_provider(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The in-process provider on the workers' Redis but another queue."""
    queue = f"lc:test:misrouted:{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("REDIS_URL", service.env["REDIS_URL"])
    monkeypatch.setenv("QUEUE_NAME", queue)
    monkeypatch.setattr(
        litellm, "custom_provider_map", [{"provider": "claude-code", "custom_handler": claude_code_provider}]
    )
    get_settings.cache_clear()
    yield queue
    get_settings.cache_clear()


@pytest.mark.proxy
def test_misrouted_in_process_provider_fails_at_once(misrouted_provider: str) -> None:
    messages: Any = [{"role": "user", "content": "anyone?"}]
    for attempt in ("first", "second"):
        began = time.monotonic()
        with pytest.raises(litellm.ServiceUnavailableError) as caught:
            litellm.completion(model="claude-code/sonnet", messages=messages, timeout=60)
        print(f"misrouted in-process provider ({attempt} call) raised in {time.monotonic() - began:.3f}s")
        assert caught.value.status_code == 503
        assert_names_the_fix(str(caught.value), misrouted_provider)


@pytest.mark.proxy
def test_misrouted_litellm_proxy_is_503_at_once(
    service: Service, tmp_path_factory: pytest.TempPathFactory
) -> None:
    queue = f"lc:test:misrouted:{uuid.uuid4().hex[:8]}"
    log_dir = tmp_path_factory.mktemp("litellm-misrouted")
    with running_proxy(service.env, log_dir, QUEUE_NAME=queue) as proxy:
        client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=MASTER_KEY, max_retries=0, timeout=60)
        messages: Any = [{"role": "user", "content": "anyone?"}]
        for attempt in ("first", "second"):
            began = time.monotonic()
            with pytest.raises(openai.APIStatusError) as caught:
                client.chat.completions.create(model="sonnet", messages=messages)
            print(f"misrouted LiteLLM proxy ({attempt} request) answered in {time.monotonic() - began:.3f}s")
            assert caught.value.status_code == 503
            assert_names_the_fix(str(caught.value), queue)
            assert int(caught.value.response.headers["retry-after"]) >= 1
