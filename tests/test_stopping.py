"""Stopping and dying: SIGTERM/SIGINT drain workers, the API and `serve`; SIGKILL leaves nothing running.

Real processes throughout: API, workers and `serve` as `litellm-claude` processes,
the real CLI against the fake upstream, a real Redis (or the embedded one).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import redis

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, Factory, Service, files_left_behind, processes_left_behind
from tests.helpers.streams import read_stream
from tests.helpers.waiting import seconds_until

STOP_SIGNALS = [signal.SIGTERM, signal.SIGINT]


def send_stop(pid: int, sig: signal.Signals) -> None:
    """SIGTERM as `kill` sends it (to the process); SIGINT as Ctrl-C does (to its whole group)."""
    if sig == signal.SIGINT:
        os.killpg(pid, sig)  # the service was started as a group leader (start_new_session)
    else:
        os.kill(pid, sig)


WORDS = " ".join(f"w{i}" for i in range(12))


def exit_code(svc: Service, name: str, timeout: float = 60) -> int:
    proc = svc.processes.pop(name)
    return proc.wait(timeout)


def post_chat(svc: Service, content: str, out: list[httpx.Response | BaseException]) -> threading.Thread:
    def send() -> None:
        try:
            out.append(
                httpx.post(
                    f"{svc.url}/v1/chat/completions",
                    json={"model": "sonnet", "messages": [{"role": "user", "content": content}]},
                    headers={"Authorization": f"Bearer {API_KEY}"},
                    timeout=90,
                )
            )
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def prompts(fake: FakeUpstream) -> str:
    return json.dumps([r.body["messages"] for r in fake.state.message_requests()])


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: s.name)
def test_a_stopped_worker_finishes_its_job_takes_no_new_one_and_exits_0(
    service_factory: Factory, fake_upstream: FakeUpstream, sig: signal.Signals
) -> None:
    svc = service_factory(workers=1, WORKER_DRAIN_GRACE_S="60")
    svc.wait_workers()
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.2)
    stream = read_stream(svc.url, WORDS)
    seconds_until(lambda: stream.texts, 60, "the first delta")
    send_stop(svc.processes["worker-1"].pid, sig)
    seconds_until(lambda: "stopping gracefully" in svc.logs(), 10, "the worker to start draining")
    later: list[httpx.Response | BaseException] = []
    waiting = post_chat(svc, "sent while draining", later)
    assert stream.text() == f"You said: {WORDS}"
    assert exit_code(svc, "worker-1") == 0
    assert "sent while draining" not in prompts(fake_upstream), "a draining worker took a new job"
    assert not svc.cli_pids()
    svc.start("worker-2", "worker")  # the queued request runs on the next worker
    waiting.join(90)
    assert isinstance(later[0], httpx.Response) and later[0].status_code == 200, [
        getattr(r, "text", r) for r in later
    ]
    assert later[0].json()["choices"][0]["message"]["content"] == "You said: sent while draining"


def test_a_job_still_running_after_the_grace_period_is_handed_back_and_answered_once(
    service_factory: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = service_factory(workers=1, WORKER_DRAIN_GRACE_S="1")
    svc.wait_workers()
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.4)
    stream = read_stream(svc.url, WORDS)
    seconds_until(lambda: len(stream.texts) >= 3, 60, "three deltas")
    svc.start("worker-2", "worker")
    os.kill(svc.processes["worker-1"].pid, signal.SIGTERM)
    assert exit_code(svc, "worker-1") == 0
    assert "handing 1 unfinished job(s) back" in svc.logs()
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.0)
    # the second attempt re-streams the answer; the caller gets each word once, and no error
    assert stream.text() == f"You said: {WORDS}"
    assert sum(WORDS in json.dumps(r.body["messages"]) for r in fake_upstream.state.message_requests()) == 2


def test_a_sigkilled_worker_leaves_no_cli_no_scratch_dir_and_its_job_completes_once(
    service_factory: Factory, fake_upstream: FakeUpstream
) -> None:
    # One CLI slot: the next worker can only run the job once the dead worker's lease is back.
    svc = service_factory(workers=1, IN_PROGRESS_LEASE_S="2", GLOBAL_MAX_CLI="1")
    svc.wait_workers()
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.3)
    stream = read_stream(svc.url, WORDS)
    seconds_until(lambda: len(stream.texts) >= 3, 60, "three deltas")
    (cli,) = svc.cli_pids()
    job_dir = Path(os.readlink(f"/proc/{cli}/cwd"))
    worker_root = job_dir.parent
    assert worker_root.name.startswith("lc-worker-")
    store = redis.Redis.from_url(svc.env["REDIS_URL"])
    slots_key = f"{svc.env['QUEUE_NAME']}:cli-slots"

    os.kill(svc.processes["worker-1"].pid, signal.SIGKILL)  # the worker alone, not its group
    killed_at = time.time()
    svc.processes.pop("worker-1").wait()
    gone = seconds_until(lambda: not svc.cli_pids(), 5, "the dead worker's CLI to die with it")
    print(f"CLI gone {gone:.2f} s after its worker was SIGKILLed")
    leases = store.zrange(slots_key, 0, -1, withscores=True)
    assert leases, "the dead worker's slot lease should still be held"
    assert all(expiry / 1000 - killed_at <= 6 for _, expiry in leases), leases  # CLI_SLOT_LEASE_S

    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.0)
    svc.start("worker-2", "worker")
    assert stream.text() == f"You said: {WORDS}"
    print(f"answer complete {time.time() - killed_at:.1f} s after the kill")
    assert not job_dir.exists() and not worker_root.exists(), "the dead worker's scratch root is left"


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: s.name)
def test_a_stopped_serve_finishes_open_requests_then_stops_everything_it_started(
    service_factory: Factory, fake_upstream: FakeUpstream, sig: signal.Signals
) -> None:
    svc = service_factory(embedded=True, WORKER_DRAIN_GRACE_S="60", API_DRAIN_GRACE_S="60")
    tmpdir = [Path(svc.env["TMPDIR"])]
    serve_pid = svc.processes["serve"].pid
    redis_pids = [p for p in processes_left_behind(tmpdir) if p != serve_pid]
    assert redis_pids, "the embedded redis-server should run in the service's TMPDIR"
    assert files_left_behind(tmpdir), "the embedded Redis's directories"

    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.25)
    stream = read_stream(svc.url, WORDS)
    whole: list[httpx.Response | BaseException] = []
    waiting = post_chat(svc, WORDS + " whole", whole)
    seconds_until(
        lambda: stream.texts and len(fake_upstream.state.message_requests()) >= 2, 60, "both jobs running"
    )
    send_stop(serve_pid, sig)
    port = urlparse(svc.url).port
    assert port is not None
    seconds_until(lambda: _refused(port), 10, "the API to stop accepting connections")

    assert stream.text() == f"You said: {WORDS}"
    waiting.join(90)
    assert isinstance(whole[0], httpx.Response) and whole[0].status_code == 200, whole
    assert whole[0].json()["choices"][0]["message"]["content"] == f"You said: {WORDS} whole"
    assert exit_code(svc, "serve") == 0
    assert processes_left_behind(tmpdir) == {}, "serve left a process (redis-server, CLI) behind"
    assert files_left_behind(tmpdir) == [], "serve left files behind"


def test_a_killed_serve_takes_its_redis_server_along_and_the_next_start_clears_its_files(
    service_factory: Factory,
) -> None:
    svc = service_factory(embedded=True)
    tmpdir = [Path(svc.env["TMPDIR"])]
    serve = svc.processes["serve"]
    redis_pids = [p for p in processes_left_behind(tmpdir) if p != serve.pid]
    assert redis_pids, "the embedded redis-server should run in the service's TMPDIR"
    left = [p.name for p in files_left_behind(tmpdir)]

    os.kill(serve.pid, signal.SIGKILL)  # no handler runs: only the kernel can stop its children
    assert exit_code(svc, "serve") == -signal.SIGKILL
    seconds_until(lambda: processes_left_behind(tmpdir) == {}, 10, "the redis-server to die with serve")

    svc.start("serve", "serve")  # the next start removes what the killed one left
    svc.wait_ready(timeout=60)
    svc.wait_workers()
    assert not set(left) & {p.name for p in files_left_behind(tmpdir)}, (left, files_left_behind(tmpdir))


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
def test_a_non_streaming_caller_that_disconnects_cancels_its_job(
    service_factory: Factory, fake_upstream: FakeUpstream, path: str
) -> None:
    svc = service_factory(workers=1)
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=1.0)
    content = " ".join(["word"] * 40)
    body = (
        {"model": "sonnet", "messages": [{"role": "user", "content": content}]}
        if path == "/v1/chat/completions"
        else {"model": "sonnet", "input": content}
    )
    payload = json.dumps(body).encode()
    port = urlparse(svc.url).port
    assert port is not None
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    seconds_until(svc.cli_pids, 60, "the CLI to start")
    conn.close()
    gone = seconds_until(lambda: not svc.cli_pids(), 5, "the CLI to be killed after the caller left")
    print(f"CLI gone {gone:.2f} s after the non-streaming caller disconnected")


def test_a_stopped_api_finishes_its_open_stream_refuses_new_connections_and_exits_0(
    service_factory: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = service_factory(workers=1, API_DRAIN_GRACE_S="60")
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.2)
    stream = read_stream(svc.url, WORDS)
    seconds_until(lambda: stream.texts, 60, "the first delta")
    os.kill(svc.processes["api"].pid, signal.SIGTERM)
    port = urlparse(svc.url).port
    assert port is not None
    seconds_until(lambda: _refused(port), 10, "the API to stop accepting connections")
    assert stream.text() == f"You said: {WORDS}"
    assert exit_code(svc, "api") == 0
