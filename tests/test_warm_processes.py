"""Warm CLI processes: isolation between jobs on one process, which path serves what, lifecycle, metrics.

Isolation is proved with what the fake upstream received: after many jobs on
one warm process (answered, failed, rate-limited, structured, timed out,
cancelled), every upstream request holds its own job's words and no other's.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator

import httpx
import pytest

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import Factory, Service
from tests.helpers.streams import HEADERS, chat_body, deltas, open_chat_stream
from tests.helpers.waiting import seconds_until
from tests.test_observability import metric, scrape

HIT = 'lc_warm_jobs_total{result="hit"}'
MISS = 'lc_warm_jobs_total{result="miss"}'
COLD = 'lc_warm_jobs_total{result="cold"}'
STARTED = "lc_warm_processes_started_total"


@pytest.fixture
def warm_service(service_factory: Factory) -> Iterator[Factory]:
    """Services with one job at a time, so consecutive jobs share one warm process."""
    started: list[Service] = []

    def make(**overrides: str) -> Service:
        env = {"WORKER_MAX_JOBS": "1", "GLOBAL_MAX_CLI": "1", "WARM_PROCESSES": "true", **overrides}
        svc = service_factory(**env)
        started.append(svc)
        return svc

    yield make
    for svc in started:
        svc.stop_all()
        seconds_until(lambda svc=svc: not svc.cli_pids(), 15, "warm CLI processes to exit with their worker")


def chat(svc: Service, content: str, *, system: str | None = None, **extra: object) -> httpx.Response:
    body = {**chat_body(content, system=system), **extra}
    return httpx.post(f"{svc.url}/v1/chat/completions", json=body, headers=HEADERS, timeout=60)


def counter(svc: Service, series: str) -> float:
    return metric(scrape(svc), series)


def wait_counter(svc: Service, series: str, at_least: float) -> None:
    seconds_until(lambda: counter(svc, series) >= at_least, 15, f"{series} >= {at_least}")


def test_jobs_on_one_warm_process_see_nothing_of_each_other(
    warm_service: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = warm_service(INACTIVITY_TIMEOUT_S="3")
    system = "You extract entities."
    markers: list[str] = []

    def job(kind: str, **extra: object) -> httpx.Response:
        marker = f"marker{len(markers):02d}{kind}"
        markers.append(marker)
        return chat(svc, f"{marker} please", system=system, **extra)

    assert job("first").status_code == 200
    fake_upstream.state.script("sonnet", ["500"])
    assert job("failed").status_code >= 500
    fake_upstream.state.script("sonnet", ["429"])
    assert job("ratelimited").status_code == 429
    for _ in range(3):
        reply = job("ok")
        assert reply.status_code == 200
        assert reply.json()["choices"][0]["message"]["content"] == f"You said: {markers[-1]} please"
    fake_upstream.state.script("sonnet", ["hang"])
    assert job("timedout").status_code == 504
    assert job("afterhang").status_code == 200
    # cancelled: the caller goes away mid-stream
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.5)
    body = chat_body("marker99cancelled " + " ".join(["word"] * 30), stream=True, system=system)
    markers.append("marker99cancelled")
    with open_chat_stream(svc.url, body, 60) as response:
        next(deltas(response))
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.0)
    for _ in range(3):
        assert job("last").status_code == 200

    requests = fake_upstream.state.message_requests()
    assert len(requests) >= len(markers)
    for request in requests:
        sent = json.dumps(request.body["messages"])
        present = [m for m in markers if m in sent]
        assert len(present) == 1, f"request holds {present}: {sent[:400]}"
        # the model reads the job's own turn and the CLI's environment message, nothing else
        assert [m["role"] for m in request.body["messages"]] == ["user", "system"]
        assert "You said" not in sent
    wait_counter(svc, HIT, 7)
    wait_counter(svc, 'lc_warm_processes_killed_total{reason="cancelled"}', 1)
    # the hang and the cancel killed their processes: three processes served everything
    wait_counter(svc, STARTED, 3)  # counters reach /metrics with the pool's next flush
    assert counter(svc, STARTED) == 3
    assert counter(svc, 'lc_warm_processes_killed_total{reason="inactivity"}') == 1
    assert counter(svc, 'lc_warm_processes_killed_total{reason="cancelled"}') == 1


def test_what_the_model_sees_on_a_warm_process(warm_service: Factory, fake_upstream: FakeUpstream) -> None:
    svc = warm_service()
    for word in ("one", "two"):
        assert chat(svc, f"hello {word}", system="Be brief.").status_code == 200
    first, second = fake_upstream.state.message_requests()
    for request, word in ((first, "one"), (second, "two")):
        user = request.body["messages"][0]
        assert user["role"] == "user"
        texts = [block["text"] for block in user["content"]]
        assert texts[0].startswith("<local-command-caveat>")
        assert texts[1].startswith("<command-name>/clear</command-name>")
        assert texts[2] == "<local-command-stdout></local-command-stdout>\n"
        assert texts[3] == f"hello {word}"
        assert "Be brief." in json.dumps(request.body["system"])
        assert request.body["tools"] == []


def test_structured_output_jobs_share_a_process_per_schema(
    warm_service: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = warm_service()
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "entity", "schema": schema}}
    for i in range(3):
        reply = chat(svc, f"entity{i}", system="Extract.", response_format=fmt)
        assert reply.status_code == 200, reply.text
        assert set(json.loads(reply.json()["choices"][0]["message"]["content"])) == {"name"}
    assert chat(svc, "plain text now", system="Extract.").status_code == 200
    wait_counter(svc, HIT, 2)
    wait_counter(svc, MISS, 2)
    assert counter(svc, HIT) == 2 and counter(svc, MISS) == 2
    for request in fake_upstream.state.message_requests():
        sent = json.dumps(request.body["messages"])
        assert sum(f"entity{i}" in sent for i in range(3)) + ("plain text now" in sent) == 1


def test_a_conversation_with_earlier_turns_takes_the_cold_path(
    warm_service: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = warm_service()
    body = {
        "model": "sonnet",
        "messages": [
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": "Hello Ada."},
            {"role": "user", "content": "What is my name?"},
        ],
    }
    reply = httpx.post(f"{svc.url}/v1/chat/completions", json=body, headers=HEADERS, timeout=60)
    assert reply.json()["choices"][0]["message"]["content"] == "You said: What is my name?"
    wait_counter(svc, COLD, 1)
    assert counter(svc, STARTED) == 0
    assert not svc.cli_pids(), "a cold run leaves no process behind"


def test_a_warm_process_killed_mid_answer_still_gives_one_complete_answer(
    warm_service: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = warm_service()
    assert chat(svc, "warm me up").status_code == 200
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.2)
    words = " ".join(f"w{i}" for i in range(10))
    texts: list[str] = []
    killed = False
    with open_chat_stream(svc.url, chat_body(words, stream=True), 60) as response:
        for delta in deltas(response):
            texts.append(delta)
            if len(texts) == 3 and not killed:
                killed = True
                for pid in svc.cli_pids():
                    os.kill(pid, signal.SIGKILL)
                fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.0)
    assert killed
    assert "".join(texts) == f"You said: {words}"
    wait_counter(svc, 'lc_warm_processes_killed_total{reason="crashed"}', 1)


def test_idle_processes_close_after_the_ttl_and_recycle_after_n_jobs(warm_service: Factory) -> None:
    svc = warm_service(WARM_IDLE_TTL_S="1", WARM_MAX_JOBS="2")
    for i in range(3):
        assert chat(svc, f"job {i}").status_code == 200
    wait_counter(svc, 'lc_warm_processes_recycled_total{reason="jobs"}', 1)
    seconds_until(lambda: not svc.cli_pids(), 15, "the idle process to be closed")
    wait_counter(svc, 'lc_warm_processes_recycled_total{reason="idle_ttl"}', 1)
    assert counter(svc, STARTED) == 2


def test_the_warm_budget_closes_the_least_recently_used_process(warm_service: Factory) -> None:
    svc = warm_service(WARM_MAX_IDLE="1")
    assert chat(svc, "a", system="Prompt A.").status_code == 200
    assert chat(svc, "b", system="Prompt B.").status_code == 200
    assert chat(svc, "b again", system="Prompt B.").status_code == 200
    wait_counter(svc, HIT, 1)
    wait_counter(svc, 'lc_warm_processes_recycled_total{reason="evicted"}', 1)
    assert counter(svc, MISS) == 2
    seconds_until(lambda: len(svc.cli_pids()) == 1, 10, "one idle process")


def test_worker_shutdown_closes_every_warm_process(warm_service: Factory) -> None:
    svc = warm_service(WORKER_MAX_JOBS="3", GLOBAL_MAX_CLI="3")
    threads = [
        threading.Thread(target=chat, args=(svc, f"job {i}"), kwargs={"system": f"Prompt {i}."})
        for i in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds_until(lambda: len(svc.cli_pids()) == 3, 10, "three warm processes")
    svc.stop("worker-1")
    seconds_until(lambda: not svc.cli_pids(), 10, "every warm process to exit")


def test_the_warm_path_can_be_turned_off(warm_service: Factory) -> None:
    svc = warm_service(WARM_PROCESSES="false")
    assert chat(svc, "cold please").status_code == 200
    assert not svc.cli_pids()
    assert counter(svc, STARTED) == 0 and counter(svc, HIT) == 0


def test_a_process_over_its_memory_bound_is_recycled_after_its_job(warm_service: Factory) -> None:
    svc = warm_service(WARM_MAX_RSS_MB="1")  # every CLI process is bigger than that
    for i in range(2):
        reply = chat(svc, f"job {i}")
        assert reply.status_code == 200
        assert reply.json()["choices"][0]["message"]["content"] == f"You said: job {i}"  # finished first
        wait_counter(svc, 'lc_warm_processes_recycled_total{reason="memory"}', i + 1)
    seconds_until(lambda: not svc.cli_pids(), 15, "the recycled processes to exit")
    assert counter(svc, STARTED) == 2 and counter(svc, HIT) == 0


def test_a_job_waits_for_a_busy_process_of_its_configuration_rather_than_start_one(
    warm_service: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = warm_service(WORKER_MAX_JOBS="2", GLOBAL_MAX_CLI="2", WARM_WAIT_S="60")
    assert chat(svc, "warm me up").status_code == 200
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.2)
    words = " ".join(f"w{i}" for i in range(8))
    with open_chat_stream(svc.url, chat_body(words, stream=True), 60) as response:
        stream = deltas(response)
        next(stream)  # the one warm process is busy with this job now
        other = threading.Thread(target=chat, args=(svc, "second"))
        other.start()
        assert "".join(stream)
    other.join()
    wait_counter(svc, 'lc_warm_waits_total{outcome="taken"}', 1)
    assert counter(svc, STARTED) == 1 and counter(svc, HIT) == 2


def test_a_job_starts_its_own_process_when_the_busy_one_does_not_finish_in_time(
    warm_service: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = warm_service(WORKER_MAX_JOBS="2", GLOBAL_MAX_CLI="2", WARM_WAIT_S="0.2")
    assert chat(svc, "warm me up").status_code == 200
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.5)
    words = " ".join(f"w{i}" for i in range(12))  # six seconds of answer: far past the wait
    with open_chat_stream(svc.url, chat_body(words, stream=True), 60) as response:
        stream = deltas(response)
        next(stream)
        fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.0)
        reply = chat(svc, "second")
        assert reply.json()["choices"][0]["message"]["content"] == "You said: second"
        assert "".join(stream)
    wait_counter(svc, 'lc_warm_waits_total{outcome="timed_out"}', 1)
    assert counter(svc, STARTED) == 2


def process_state(pid: int) -> str:
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]


def test_an_idle_process_is_frozen_and_thawed_for_its_next_job(warm_service: Factory) -> None:
    svc = warm_service(WARM_FREEZE_AFTER_S="0.5")
    assert chat(svc, "before the freeze").status_code == 200
    wait_counter(svc, "lc_warm_processes_frozen_total", 1)
    (pid,) = svc.cli_pids()
    assert process_state(pid) == "T"  # stopped: no CPU while it waits
    reply = chat(svc, "after the freeze")
    assert reply.json()["choices"][0]["message"]["content"] == "You said: after the freeze"
    wait_counter(svc, HIT, 1)  # the same process served it (counters reach /metrics within a second)
    assert svc.cli_pids() == [pid] and counter(svc, MISS) == 1
