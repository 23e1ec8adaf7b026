"""No secret in logs or Redis; the one-process embedded mode answers with no Redis server."""

from __future__ import annotations

import json
import threading
import time

import httpx
import openai
import pytest
import redis

from tests.conftest import API_KEY, OAUTH_SECRET, UPSTREAM_SECRET, Factory


def test_no_secret_in_logs_or_redis(service_factory: Factory, redis_url: str) -> None:
    service = service_factory(CLAUDE_CODE_OAUTH_TOKEN=OAUTH_SECRET, LOG_LEVEL="DEBUG")
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0)
    client.chat.completions.create(model="sonnet", messages=[{"role": "user", "content": "secret check"}])
    list(
        client.chat.completions.create(
            model="sonnet", messages=[{"role": "user", "content": "streamed check"}], stream=True
        )
    )
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])

    logs = service.logs()
    for secret in (API_KEY, UPSTREAM_SECRET, OAUTH_SECRET):
        assert secret not in logs

    store = redis.Redis.from_url(redis_url)
    dumped = b""
    for key in store.scan_iter(count=1000):
        kind = store.type(key)
        if kind == b"string":
            dumped += store.get(key) or b""
        elif kind == b"stream":
            dumped += repr(store.xrange(key)).encode()
        elif kind == b"hash":
            dumped += repr(store.hgetall(key)).encode()
        elif kind == b"zset":
            dumped += repr(store.zrange(key, 0, -1)).encode()
    assert dumped, "expected job data in Redis"
    for secret in (API_KEY, UPSTREAM_SECRET, OAUTH_SECRET):
        assert secret.encode() not in dumped


def test_embedded_mode_answers_without_a_redis_server(service_factory: Factory) -> None:
    svc = service_factory(embedded=True)
    reply = httpx.post(
        f"{svc.url}/v1/chat/completions",
        json={"model": "sonnet", "messages": [{"role": "user", "content": "embedded hello"}]},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "You said: embedded hello"
    assert "REDIS_URL" not in svc.env
    assert "not durable" in svc.logs().lower()


def test_jobs_travel_as_json_never_pickle(service_factory: Factory, redis_url: str) -> None:
    svc = service_factory(
        workers=0, FAIL_WITHOUT_WORKERS="false"
    )  # nobody takes the job: it stays in Redis to be read
    thread = threading.Thread(
        target=lambda: httpx.post(
            f"{svc.url}/v1/chat/completions",
            json={"model": "sonnet", "messages": [{"role": "user", "content": "json please"}]},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=5,
        ),
        daemon=True,
    )
    thread.start()
    store = redis.Redis.from_url(redis_url)
    queue = svc.env["QUEUE_NAME"]
    deadline = time.monotonic() + 10
    while not store.zcard(queue) and time.monotonic() < deadline:
        time.sleep(0.02)
    (job_id,) = store.zrange(queue, 0, -1)
    raw = store.get(b"arq:job:" + job_id)
    assert raw is not None and not raw.startswith(b"\x80")  # pickle protocol 2+ starts with 0x80
    payload = json.loads(raw)
    assert payload["f"] == "run_completion"
    assert payload["a"][0]["messages"][0]["content"] == "json please"
