"""Redis killed (SIGKILL) and restarted under load: the service rides it out with no restart.

A private redis-server (durable AOF) is started by the test, not the shared one.
While it is away, callers get 503 `redis_unavailable` with Retry-After, an open
stream ends with an error event and `[DONE]`, `/ready` says 503 and `/health`
stays 200 (the processes recover by themselves). When it is back, the same
worker processes take jobs again and every accepted job finishes.
"""

from __future__ import annotations

import os

# Before LiteLLM is imported: its bundled cost map, no download attempts at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import litellm
import pytest

from litellm_claude.config.settings import get_settings
from litellm_claude.fake_anthropic import FakeUpstream
from litellm_claude.provider.custom_handler import claude_code_provider
from tests.conftest import Factory
from tests.helpers.streams import HEADERS, StreamReader, chat_body
from tests.redis_procs import RedisProc, poll

LONG_TEXT = " ".join(f"word{i}" for i in range(40))


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProc]:
    server = RedisProc("outage", tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def status(url: str, path: str) -> int:
    return httpx.get(f"{url}{path}", timeout=10).status_code


def assert_redis_unavailable(reply: httpx.Response) -> None:
    assert reply.status_code == 503, reply.text
    assert int(reply.headers["retry-after"]) >= 1
    error = reply.json()["error"]
    assert error["code"] == "redis_unavailable" and error["type"] == "service_unavailable_error", error
    assert set(error) == {"message", "type", "param", "code"}


def wait_job(url: str, job_id: str, timeout: float) -> dict[str, Any]:
    view: dict[str, Any] = {}

    def done() -> bool:
        nonlocal view
        view = httpx.get(f"{url}/v1/jobs/{job_id}", headers=HEADERS, timeout=10).json()
        return view["status"] in ("succeeded", "failed", "cancelled")

    poll(done, timeout, f"job {job_id} to finish")
    return view


def test_redis_killed_and_restarted_under_load_loses_nothing_accepted(
    service_factory: Factory, fake_upstream: FakeUpstream, private_redis: RedisProc
) -> None:
    fake_upstream.state.set_delays(token_delay=0.1)
    svc = service_factory(
        workers=2, REDIS_URL=private_redis.url(), IN_PROGRESS_LEASE_S="3", WORKER_MAX_JOBS="2"
    )
    pids = {name: proc.pid for name, proc in svc.processes.items()}
    poll(lambda: svc.logs().count("Starting worker for") >= 2, 60, "both workers to take jobs")
    poll(lambda: status(svc.url, "/ready") == 200, 30, "/ready before the outage")

    # Load: async jobs accepted before the outage (some run, some wait), and one open stream.
    accepted = []
    for i in range(6):
        reply = httpx.post(
            f"{svc.url}/v1/jobs", json=chat_body(f"{LONG_TEXT} job{i}"), headers=HEADERS, timeout=30
        )
        assert reply.status_code == 202, reply.text
        accepted.append(reply.json()["id"])
    stream = StreamReader(svc.url, f"{LONG_TEXT} streamed", timeout=60)
    stream.start()
    events = StreamReader(
        svc.url, job_id=accepted[-1], timeout=60
    )  # the last in line: still queued or running
    events.start()
    assert stream.first_delta.wait(60), "the stream never started"
    poll(lambda: events.status == 200, 30, "the job's event stream to open")

    private_redis.kill()
    outage_started = time.monotonic()

    # The open stream ends with an OpenAI-style error event, then [DONE].
    stream.join(30)
    assert not stream.is_alive() and stream.error is None, stream.error
    assert stream.status == 200
    frames = stream.data()
    assert frames[-1] == "[DONE]", frames[-3:]
    assert frames[-2]["error"]["code"] == "redis_unavailable", frames[-2]

    # A job's event stream ends with an error event (the client resumes later with Last-Event-ID).
    events.join(30)
    assert not events.is_alive() and events.error is None, events.error
    assert events.lines[-2:][0] == "event: error", events.lines[-3:]
    assert json.loads(events.lines[-1].removeprefix("data: "))["error"]["code"] == "redis_unavailable"

    # While Redis is away: 503 + Retry-After everywhere, not-ready, but alive.
    assert_redis_unavailable(
        httpx.post(f"{svc.url}/v1/chat/completions", json=chat_body("x"), headers=HEADERS)
    )
    assert_redis_unavailable(
        httpx.post(f"{svc.url}/v1/chat/completions", json=chat_body("x", stream=True), headers=HEADERS)
    )
    assert_redis_unavailable(httpx.post(f"{svc.url}/v1/jobs", json=chat_body("x"), headers=HEADERS))
    assert_redis_unavailable(httpx.get(f"{svc.url}/v1/jobs/{accepted[0]}", headers=HEADERS))
    ready = httpx.get(f"{svc.url}/ready", timeout=10)
    assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("unreachable")
    assert status(svc.url, "/health") == 200
    poll(lambda: svc.logs().count("Redis connection lost") >= 2, 30, "both workers to log the outage")
    assert all(proc.poll() is None for proc in svc.processes.values()), svc.logs()[-3000:]
    print(f"outage observed for {time.monotonic() - outage_started:.1f} s")

    private_redis.start()

    # Back without any restart: ready again, every accepted job finishes, new work is taken.
    back_in = poll(lambda: status(svc.url, "/ready") == 200, 30, "/ready after Redis is back")
    poll(lambda: svc.logs().count("Redis connection back") >= 2, 30, "both workers to log the return")
    views = [wait_job(svc.url, job_id, 120) for job_id in accepted]
    assert [v["status"] for v in views] == ["succeeded"] * len(accepted), [v.get("error") for v in views]
    for i, view in enumerate(views):
        assert view["result"]["choices"][0]["message"]["content"] == f"You said: {LONG_TEXT} job{i}"
    after = httpx.post(
        f"{svc.url}/v1/chat/completions", json=chat_body("after the outage"), headers=HEADERS, timeout=60
    )
    assert after.status_code == 200, after.text
    assert {name: proc.pid for name, proc in svc.processes.items()} == pids
    assert all(proc.poll() is None for proc in svc.processes.values())
    logs = svc.logs()
    assert logs.count("Redis connection lost") == 2 and logs.count("Redis connection back") == 2, logs[-4000:]
    for marker in ("internal_error", "Traceback"):
        at = logs.find(marker)
        assert at < 0, logs[max(0, at - 3000) : at + 3000]
    retried = sum(v["attempts"] > 1 for v in views)
    print(
        f"ready {back_in:.1f} s after restart; {len(accepted)} accepted jobs all succeeded ({retried} re-run)"
    )


def test_serve_rides_out_a_redis_restart(service_factory: Factory, private_redis: RedisProc) -> None:
    """`serve` (API and worker in one process) on a REDIS_URL: the in-process worker comes back too."""
    svc = service_factory(embedded=True, REDIS_URL=private_redis.url())
    poll(lambda: "Starting worker for" in svc.logs(), 60, "the worker to take jobs")
    poll(lambda: status(svc.url, "/ready") == 200, 30, "/ready")
    private_redis.kill()
    poll(lambda: status(svc.url, "/ready") == 503, 20, "/ready to say 503")
    assert status(svc.url, "/health") == 200
    assert_redis_unavailable(
        httpx.post(f"{svc.url}/v1/chat/completions", json=chat_body("x"), headers=HEADERS)
    )
    poll(lambda: "Redis connection lost" in svc.logs(), 30, "the worker to log the outage")
    private_redis.start()
    poll(lambda: status(svc.url, "/ready") == 200, 30, "/ready after Redis is back")
    reply = httpx.post(
        f"{svc.url}/v1/chat/completions", json=chat_body("served again"), headers=HEADERS, timeout=60
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "You said: served again"
    assert svc.processes["serve"].poll() is None
    assert svc.logs().count("Redis connection lost") == 1 and "Redis connection back" in svc.logs()


async def test_provider_answers_503_with_retry_after_while_redis_is_away(
    private_redis: RedisProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", private_redis.url())
    monkeypatch.setenv("QUEUE_NAME", f"lc:test:{uuid.uuid4().hex[:8]}")
    monkeypatch.setattr(
        litellm, "custom_provider_map", [{"provider": "claude-code", "custom_handler": claude_code_provider}]
    )
    get_settings.cache_clear()
    private_redis.kill()
    try:
        for stream in (False, True):
            with pytest.raises(litellm.ServiceUnavailableError) as caught:
                reply: Any = await litellm.acompletion(
                    model="claude-code/sonnet", messages=[{"role": "user", "content": "x"}], stream=stream
                )
                if stream:
                    async for _ in reply:
                        pass
            # a stream's error comes wrapped (LiteLLM's MidStreamFallbackError) around ours
            exc: Any = getattr(caught.value, "original_exception", None) or caught.value
            assert exc.status_code == 503
            assert getattr(exc, "code", None) == "redis_unavailable"
            assert int(exc.headers["retry-after"]) >= 1
    finally:
        get_settings.cache_clear()
