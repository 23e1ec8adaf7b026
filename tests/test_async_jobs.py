"""Async jobs for real: submit, poll, resumable events, cancel, idempotency, ownership, expiry."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
import redis

from litellm_claude.fake_anthropic import FakeUpstream
from litellm_claude.jobs.contract import DeltaEvent, ErrorEvent, ResultEvent, StartedEvent
from litellm_claude.jobs.status import cancelled_error, derive
from tests.conftest import API_KEY, Service, start_service
from tests.helpers import waiting

OTHER_KEY = "sk-test-other-caller-99887766554433"
DEADLINE_S = 60.0


def bearer(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def body(text: str, model: str = "sonnet", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:12]}"


def submit(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/jobs", json=payload, headers=bearer() if headers is None else headers, timeout=30
    )


def get_job(url: str, job_id: str, key: str = API_KEY) -> httpx.Response:
    return httpx.get(f"{url}/v1/jobs/{job_id}", headers=bearer(key), timeout=30)


wait_for = functools.partial(waiting.wait_for, timeout=DEADLINE_S)


def wait_status(url: str, job_id: str, *statuses: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        reply = get_job(url, job_id)
        assert reply.status_code == 200, reply.text
        view = reply.json()
        return view if view["status"] in statuses else None

    return wait_for(check, f"job {job_id} to be {statuses}")


def upstream_saw(upstream: FakeUpstream, text: str) -> bool:
    return any(text in json.dumps(r.body.get("messages")) for r in upstream.state.message_requests())


def read_sse(
    url: str, job_id: str, *, last_event_id: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """SSE frames of a job's event stream, optionally disconnecting after `limit` frames."""
    headers = bearer()
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    frames: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{url}/v1/jobs/{job_id}/events", headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        frame: dict[str, Any] = {}
        for line in response.iter_lines():
            if line.startswith(":"):
                continue
            if not line:
                if frame:
                    frames.append(frame)
                    frame = {}
                    if limit is not None and len(frames) >= limit:
                        break  # a forced disconnect
                continue
            field, _, value = line.partition(": ")
            frame[field] = json.loads(value) if field == "data" else value
    return frames


# --- Status derivation, pure ---------------------------------------------------------------------


def test_status_is_derived_from_events() -> None:
    started = StartedEvent(model="claude-sonnet", attempt=1)
    retried = StartedEvent(model="claude-sonnet", attempt=2)
    result = ResultEvent(text="hi", model="claude-sonnet", attempt=2)
    cancelled = ErrorEvent(attempt=1, error=cancelled_error())
    assert derive([], in_queue=True, position=3, depth=9).status == "queued"
    assert derive([], in_queue=True, position=3, depth=9).position == 3
    running = derive([("1000-0", started), ("1500-0", DeltaEvent(text="h"))], in_queue=True)
    assert (running.status, running.started_ms, running.attempts) == ("running", 1000, 1)
    done = derive([("1000-0", started), ("2000-0", retried), ("3000-0", result)], in_queue=False)
    assert (done.status, done.attempts, done.model, done.finished_ms) == (
        "succeeded",
        2,
        "claude-sonnet",
        3000,
    )
    assert done.terminal_id == "3000-0"
    # the first terminal event decides: a cancelled job stays cancelled whatever follows
    raced = derive([("1000-0", cancelled), ("1001-0", started), ("1002-0", result)], in_queue=True)
    assert raced.status == "cancelled" and raced.error is not None
    # arq let go of it without a terminal event: lost, not queued forever
    lost = derive([("1000-0", started)], in_queue=False)
    assert lost.status == "failed" and lost.error is not None and lost.error.code == "job_lost"


# --- On the shared service (one worker) ---------------------------------------------------------


def test_submit_then_poll_to_completion(service: Service) -> None:
    text = unique("poll me")
    reply = submit(service.url, body(text, metadata={"source": "test"}))
    assert reply.status_code == 202, reply.text
    job = reply.json()
    assert job["object"] == "job"
    assert job["id"].startswith("job_")
    assert job["status"] in ("queued", "running", "succeeded")
    assert job["priority"] == "bulk"
    assert job["metadata"] == {"source": "test"}
    done = wait_status(service.url, job["id"], "succeeded", "failed", "cancelled")
    assert done["status"] == "succeeded", done
    assert done["result"]["object"] == "chat.completion"
    assert done["result"]["choices"][0]["message"]["content"] == f"You said: {text}"
    assert "sonnet" in done["answered_by"]
    assert done["attempts"] == 1
    assert done["error"] is None and done["queue"] is None
    timings = done["timings"]
    assert timings["queued_at"] <= timings["started_at"] + 1 <= timings["finished_at"] + 1
    assert timings["run_s"] >= 0


def test_events_resume_after_disconnect_without_gap_or_duplicate(
    service: Service, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.state.set_delays(token_delay=0.05)
    text = unique("stream these words one by one please")
    job_id = submit(service.url, body(text)).json()["id"]
    first = read_sse(service.url, job_id, limit=2)
    assert len(first) == 2 and first[0]["event"] == "started"
    rest = read_sse(service.url, job_id, last_event_id=first[-1]["id"])
    whole = read_sse(service.url, job_id)
    ids = [f["id"] for f in first + rest]
    assert ids == [f["id"] for f in whole]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))
    assert whole[-1]["event"] == "result"
    deltas = "".join(f["data"]["text"] for f in whole if f["event"] == "delta")
    assert deltas == whole[-1]["data"]["text"] == f"You said: {text}"
    # resuming after the terminal event ends at once, with nothing repeated
    assert read_sse(service.url, job_id, last_event_id=whole[-1]["id"]) == []


def test_cancel_a_running_job_kills_its_cli(service: Service, fake_upstream: FakeUpstream) -> None:
    fake_upstream.state.script("haiku", ["hang"], sticky=True)
    text = unique("hang forever")
    job_id = submit(service.url, body(text, model="haiku")).json()["id"]
    wait_for(lambda: upstream_saw(fake_upstream, text), "the CLI to call the upstream")
    assert get_job(service.url, job_id).json()["status"] == "running"
    worker = psutil.Process(service.processes["worker-1"].pid)
    assert wait_for(lambda: _cli_children(worker), "the job's CLI process")
    # the worker may also hold idle warm processes of earlier jobs: one of these CLIs must go
    during = {p.pid for p in _cli_children(worker)}
    reply = httpx.delete(f"{service.url}/v1/jobs/{job_id}", headers=bearer(), timeout=30)
    assert reply.status_code == 200, reply.text
    cancelled = wait_status(service.url, job_id, "cancelled", "failed", "succeeded")
    assert cancelled["status"] == "cancelled"
    assert cancelled["error"]["code"] == "job_cancelled"
    wait_for(lambda: fake_upstream.state.stats()["in_flight"] == 0, "the CLI's upstream call to close")
    wait_for(
        lambda: len(during & {p.pid for p in _cli_children(worker)}) < len(during),
        "the job's CLI process to be killed",
    )


def _cli_children(worker: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in worker.children(recursive=True):
        try:
            if "claude" in " ".join(child.cmdline()).lower():
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_cancel_a_finished_job_is_409(service: Service) -> None:
    job_id = submit(service.url, body(unique("finish first"))).json()["id"]
    wait_status(service.url, job_id, "succeeded")
    reply = httpx.delete(f"{service.url}/v1/jobs/{job_id}", headers=bearer(), timeout=30)
    assert reply.status_code == 409
    error = reply.json()["error"]
    assert error["code"] == "job_already_finished"
    assert "already finished (succeeded)" in error["message"]


def test_idempotency_key_returns_the_same_job(service: Service, fake_upstream: FakeUpstream) -> None:
    text = unique("only once")
    headers = {**bearer(), "Idempotency-Key": uuid.uuid4().hex}
    first = submit(service.url, body(text), headers)
    second = submit(service.url, body(text), headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    wait_status(service.url, first.json()["id"], "succeeded")
    prompts = [r for r in fake_upstream.state.message_requests() if text in json.dumps(r.body["messages"])]
    assert len(prompts) == 1
    reused = submit(service.url, body("a different request"), headers)
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


def test_unknown_and_malformed_job_ids_are_404(service: Service) -> None:
    for job_id in (f"job_{uuid.uuid4().hex}", "nope", "job_../../x"):
        reply = get_job(service.url, job_id)
        assert reply.status_code == 404
        assert reply.json()["error"]["code"] == "job_not_found"
    assert httpx.delete(f"{service.url}/v1/jobs/job_{'0' * 32}", headers=bearer()).status_code == 404


def test_bad_bodies_are_openai_errors(service: Service) -> None:
    unknown = submit(service.url, body("hi", model="gpt-nope"))
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found"
    missing = submit(service.url, {"model": "sonnet"})
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "messages"
    assert submit(service.url, body("hi"), {}).status_code == 401


def test_expired_job_says_so(service: Service, redis_url: str) -> None:
    job_id = submit(service.url, body(unique("expire me"))).json()["id"]
    wait_status(service.url, job_id, "succeeded")
    client = redis.Redis.from_url(redis_url)
    try:
        ttl = client.ttl(f"lc:job:{job_id}")
        assert 0 < ttl <= 86_400
        assert client.ttl(f"lc:job:{job_id}:events") >= ttl - 5  # the events outlive the record
        client.delete(f"lc:job:{job_id}")  # what the record's TTL does a day later
    finally:
        client.close()
    reply = get_job(service.url, job_id)
    assert reply.status_code == 410
    error = reply.json()["error"]
    assert error["code"] == "job_expired"
    assert "kept for 86400 seconds" in error["message"]


# --- On a service with no worker running (jobs stay queued) and two API keys -----------------


@pytest.fixture(scope="module")
def idle_service(
    redis_url: str, fake_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    svc = start_service(
        redis_url, fake_upstream, tmp_path_factory, workers=0, API_KEYS=f"{API_KEY},{OTHER_KEY}"
    )
    try:
        yield svc
    finally:
        svc.stop_all()


def test_another_key_gets_404(idle_service: Service) -> None:
    url = idle_service.url
    idem = uuid.uuid4().hex
    mine = submit(url, body(unique("mine")), {**bearer(), "Idempotency-Key": idem}).json()
    assert mine["status"] == "queued"
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/events")):
        reply = httpx.request(method, f"{url}/v1/jobs/{mine['id']}{path}", headers=bearer(OTHER_KEY))
        assert reply.status_code == 404, (method, path)
        assert reply.json()["error"]["code"] == "job_not_found"
    # the same Idempotency-Key from another key is another job
    theirs = submit(url, body(unique("theirs")), {**bearer(OTHER_KEY), "Idempotency-Key": idem}).json()
    assert theirs["id"] != mine["id"]
    assert get_job(url, mine["id"]).json()["status"] == "queued"
    for key, job in ((API_KEY, mine), (OTHER_KEY, theirs)):
        assert httpx.delete(f"{url}/v1/jobs/{job['id']}", headers=bearer(key)).status_code == 200


def test_cancel_a_queued_job_it_never_runs(idle_service: Service, fake_upstream: FakeUpstream) -> None:
    url = idle_service.url
    doomed_text = unique("never run me")
    doomed = submit(url, body(doomed_text)).json()
    queued = get_job(url, doomed["id"]).json()
    assert queued["status"] == "queued"
    assert queued["queue"]["depth"] >= 1 and queued["queue"]["position"] >= 0
    reply = httpx.delete(f"{url}/v1/jobs/{doomed['id']}", headers=bearer(), timeout=30)
    assert reply.status_code == 200
    assert reply.json()["status"] == "cancelled"
    events = read_sse(url, doomed["id"])
    assert [f["event"] for f in events] == ["error"]
    assert events[0]["data"]["error"]["code"] == "job_cancelled"

    # a job queued after it runs once a worker starts: the cancelled one, ahead of it, never does
    later_text = unique("run me")
    later = submit(url, body(later_text)).json()
    idle_service.start("worker", "worker")
    try:
        assert wait_status(url, later["id"], "succeeded", "failed")["status"] == "succeeded"
    finally:
        idle_service.stop("worker")
    assert upstream_saw(fake_upstream, later_text)
    assert not upstream_saw(fake_upstream, doomed_text)
    assert get_job(url, doomed["id"]).json()["status"] == "cancelled"
