"""Redis high availability: every process on a `redis+sentinel://` URL, and a real failover.

A primary, one replica and three Sentinels run on 127.0.0.1 (tests/redis_procs.py).
The API and a worker run on the Sentinel URL; the primary is SIGKILLed while
clients submit work; the Sentinels promote the replica and the same processes go
on with it. The test counts what clients saw and what was lost, and prints it.
"""

from __future__ import annotations

import os

# Before LiteLLM is imported: its bundled cost map, no download attempts at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import litellm
import pytest

from litellm_claude.config.settings import get_settings
from litellm_claude.jobs.redis_url import RedisUrlError, parse_sentinel
from litellm_claude.provider.custom_handler import claude_code_provider
from litellm_claude.service.doctor import redact_url
from litellm_claude.worker.settings import redis_settings
from tests.conftest import API_KEY, REPO, Factory
from tests.redis_procs import SentinelCluster, poll

HEADERS = {"Authorization": f"Bearer {API_KEY}"}


# --- The URL ------------------------------------------------------------------------------------


def test_sentinel_url_forms() -> None:
    url = parse_sentinel("redis+sentinel://:pw@h1:26379,h2:26380,h3/mymaster/2?sentinel_password=s3")
    assert url.sentinels == [("h1", 26379), ("h2", 26380), ("h3", 26379)]
    assert (url.service, url.db, url.username, url.password, url.ssl) == ("mymaster", 2, None, "pw", False)
    assert url.sentinel_kwargs() == {"password": "s3"}
    assert parse_sentinel("rediss+sentinel://u:p@[::1]:5000/cache").sentinels == [("::1", 5000)]
    assert parse_sentinel("rediss+sentinel://u:p@[::1]:5000/cache").ssl
    for bad in (
        "redis+sentinel://h1:26379",
        "redis+sentinel:///m/0",
        "redis+sentinel://h:x/m",
        "redis+sentinel://h/m/x",
    ):
        with pytest.raises(RedisUrlError):
            parse_sentinel(bad)
    shown = redact_url("redis+sentinel://:pw@h1:26379/m/0?sentinel_password=s3")
    assert "pw" not in shown and "s3" not in shown


def test_arq_settings_from_a_sentinel_url() -> None:
    """`arq worker.settings.WorkerSettings` gets arq's own Sentinel settings from the same URL."""
    settings = redis_settings("redis+sentinel://:pw@h1:26379,h2:26380/cache/3")
    assert settings.sentinel and settings.sentinel_master == "cache"
    assert settings.host == [("h1", 26379), ("h2", 26380)]
    assert (settings.database, settings.password) == (3, "pw")
    assert not redis_settings("redis://h:6379/1").sentinel


# --- A failover under load ----------------------------------------------------------------------


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    nodes = SentinelCluster(tmp_path)
    try:
        # Writes stop if the replica falls 10 s behind (or is gone): narrows, not closes, the loss window.
        nodes.start(primary_args=["--min-replicas-to-write", "1", "--min-replicas-max-lag", "10"])
        yield nodes
    finally:
        nodes.stop()


def chat_body(text: str) -> dict[str, Any]:
    return {"model": "sonnet", "messages": [{"role": "user", "content": text}]}


class Load(threading.Thread):
    """Submits async jobs and synchronous chats in turn until stopped; records every answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.seen: Counter[str] = Counter()
        self.accepted: list[tuple[str, str]] = []  # (job id, text)
        self.bad: list[str] = []

    def run(self) -> None:
        with httpx.Client(timeout=60, headers=HEADERS) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                text = f"load {n} {uuid.uuid4().hex[:6]}"
                kind = "job" if n % 2 else "chat"
                path = "/v1/jobs" if kind == "job" else "/v1/chat/completions"
                try:
                    reply = client.post(f"{self.url}{path}", json=chat_body(text))
                except httpx.HTTPError as exc:
                    self.seen[f"{kind} {type(exc).__name__}"] += 1
                    self.bad.append(repr(exc))
                    continue
                code = reply.json().get("error", {}).get("code") if reply.status_code >= 400 else None
                self.seen[f"{kind} {reply.status_code}{' ' + code if code else ''}"] += 1
                if reply.status_code == 202:
                    self.accepted.append((reply.json()["id"], text))
                elif reply.status_code == 200:
                    if reply.json()["choices"][0]["message"]["content"] != f"You said: {text}":
                        self.bad.append(f"wrong answer: {reply.text[:200]}")
                elif (
                    reply.status_code != 503
                    or code != "redis_unavailable"
                    or "retry-after" not in reply.headers
                ):
                    self.bad.append(f"{reply.status_code}: {reply.text[:300]}")
                else:
                    time.sleep(0.2)  # what a client honouring Retry-After would do, faster


def job_outcome(url: str, job_id: str, text: str, timeout: float) -> str:
    outcome = ""

    def done() -> bool:
        nonlocal outcome
        reply = httpx.get(f"{url}/v1/jobs/{job_id}", headers=HEADERS, timeout=10)
        if reply.status_code == 404:
            outcome = "lost"
            return True
        view = reply.json()
        if view["status"] == "succeeded":
            answer = view["result"]["choices"][0]["message"]["content"]
            outcome = "succeeded" if answer == f"You said: {text}" else f"wrong answer {answer!r}"
            return True
        if view["status"] in ("failed", "cancelled"):
            outcome = f"{view['status']}: {view['error']}"
            return True
        return False

    poll(done, timeout, f"job {job_id} to finish")
    return outcome


def test_sentinel_failover_under_load(
    service_factory: Factory, cluster: SentinelCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every 202 waits until the replica has the job (REDIS_WAIT_REPLICAS), so none may be lost.
    svc = service_factory(
        workers=1, REDIS_URL=cluster.url(9), IN_PROGRESS_LEASE_S="3", REDIS_WAIT_REPLICAS="1"
    )
    poll(
        lambda: httpx.get(f"{svc.url}/ready", timeout=5).status_code == 200, 30, "/ready on the Sentinel URL"
    )
    pids = {name: proc.pid for name, proc in svc.processes.items()}
    poll(lambda: "Starting worker for" in svc.logs(), 60, "the worker to take jobs")

    # The doctor finds the primary through the Sentinels.
    doctor = subprocess.run(
        [sys.executable, "-m", "litellm_claude.service.cli", "doctor", "--no-probe"],
        cwd=REPO, env=svc.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert any(line.startswith("ok redis:") for line in doctor.stdout.splitlines()), (
        doctor.stdout + doctor.stderr
    )

    load = Load(svc.url)
    load.start()
    try:
        poll(lambda: len(load.accepted) >= 3 and load.seen["chat 200"] >= 2, 90, "load before the failover")
        old_port = cluster.primary.port
        cluster.primary.kill()
        killed_at = time.monotonic()
        took = cluster.wait_failover(old_port)
        poll(lambda: httpx.get(f"{svc.url}/ready", timeout=5).status_code == 200, 60, "/ready after failover")
        ready_after = time.monotonic() - killed_at
        # The old primary comes back; the Sentinels make it a replica of the new one, so
        # async jobs are confirmed on a replica (and accepted) again.
        cluster.primary.start()
        poll(lambda: cluster.replicas_of_primary() >= 1, 60, "the old primary to replicate the new one")
        accepted_before = len(load.accepted)
        poll(
            lambda: len(load.accepted) >= accepted_before + 2 and load.seen["chat 200"] >= 4, 90, "load after"
        )
    finally:
        load.stop.set()
        load.join(90)

    outcomes = Counter(job_outcome(svc.url, job_id, text, 120) for job_id, text in load.accepted)
    print(
        f"\nfailover: Sentinels promoted the replica {took:.1f} s after the kill, /ready 200 after "
        f"{ready_after:.1f} s\nclients saw: {dict(load.seen)}\naccepted async jobs: {dict(outcomes)}"
    )
    assert not load.bad, load.bad[:5]
    # No 500s, no dropped connections: every answer was a success or a 503 redis_unavailable.
    assert set(load.seen) <= {
        "job 202",
        "chat 200",
        "job 503 redis_unavailable",
        "chat 503 redis_unavailable",
    }
    # Confirmed on the replica before its 202, every accepted job survived the failover and
    # finished with its own answer.
    assert set(outcomes) == {"succeeded"}, outcomes
    assert {name: proc.pid for name, proc in svc.processes.items()} == pids
    assert all(proc.poll() is None for proc in svc.processes.values())
    logs = svc.logs()
    assert "Redis connection lost" in logs and "Redis connection back" in logs, logs[-3000:]
    assert "internal_error" not in logs, logs[-3000:]

    # The LiteLLM provider on the same Sentinel URL reaches the promoted primary.
    monkeypatch.setenv("REDIS_URL", cluster.url(9))
    monkeypatch.setenv("QUEUE_NAME", svc.env["QUEUE_NAME"])
    monkeypatch.setattr(
        litellm, "custom_provider_map", [{"provider": "claude-code", "custom_handler": claude_code_provider}]
    )
    get_settings.cache_clear()
    try:
        reply: Any = litellm.completion(
            model="claude-code/sonnet", messages=[{"role": "user", "content": "ha"}]
        )
    finally:
        get_settings.cache_clear()
    assert reply.choices[0].message.content == "You said: ha"


def test_unconfirmed_async_job_is_a_503_when_replicas_are_required(service_factory: Factory) -> None:
    """REDIS_WAIT_REPLICAS=1 against a Redis with no replica: WAIT times out, the caller is told."""
    svc = service_factory(workers=0, REDIS_WAIT_REPLICAS="1", REDIS_WAIT_TIMEOUT_MS="50")
    reply = httpx.post(f"{svc.url}/v1/jobs", json=chat_body("unconfirmed"), headers=HEADERS, timeout=30)
    assert reply.status_code == 503, reply.text
    assert int(reply.headers["retry-after"]) >= 1
    error = reply.json()["error"]
    assert error["code"] == "redis_unavailable" and "0 of 1 replica" in error["message"], error
