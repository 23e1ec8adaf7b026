"""`litellm-claude batch run` for real: submit, Ctrl-C, resume the same batch, OpenAI-format files."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, REPO, Service
from tests.helpers.signals import default_sigint
from tests.ops_scene import wait_for


def batch_cmd(svc: Service, source: Path, out: Path, states: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "litellm_claude.service.cli",
        "batch",
        "run",
        str(source),
        "-o",
        str(out),
        "--base-url",
        f"{svc.url}/v1",
        "--api-key",
        API_KEY,
        "--poll",
        "0.2",
        "--state-dir",
        str(states),
    ]


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_batch_run_survives_ctrl_c_and_resumes_the_same_batch(
    service: Service, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    svc = service
    tag = uuid.uuid4().hex[:8]
    lines = [
        {
            "custom_id": f"q{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "sonnet", "messages": [{"role": "user", "content": f"item {i} {tag}"}]},
        }
        for i in range(6)
    ]
    lines.append(
        {
            "custom_id": "bad",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-nope", "messages": [{"role": "user", "content": "x"}]},
        }
    )
    source = tmp_path / "requests.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out, states = tmp_path / "results.jsonl", tmp_path / "state"
    fake_upstream.state.hold()  # no answer until the command has been interrupted mid-way

    first = subprocess.Popen(
        batch_cmd(svc, source, out, states),
        cwd=REPO,
        preexec_fn=default_sigint,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        state_file = wait_for(
            lambda: next((p for p in states.glob("*.json") if json.loads(p.read_text())["batch_id"]), None),
            "the batch id saved",
        )
        state = json.loads(state_file.read_text())
        assert state["batch_id"] and state["batch_id"] in state_file.read_text()
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
    finally:
        first.kill()
        first.wait()
        fake_upstream.state.release()
    assert first.returncode == 130, err
    assert f"batch {state['batch_id']} keeps running" in err and "run the same command again" in err
    assert not out.exists()

    second = run(batch_cmd(svc, source, out, states))
    assert f"resuming batch {state['batch_id']}" in second.stderr, second.stderr
    assert second.returncode == 1, second.stderr  # one request failed: reported, files written
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["custom_id"] for r in results) == [f"q{i}" for i in range(6)]
    for r in results:
        assert r["response"]["status_code"] == 200 and r["id"].startswith("batch_req_")
        index = r["custom_id"][1:]
        assert r["response"]["body"]["choices"][0]["message"]["content"] == f"You said: item {index} {tag}"
    errors = [json.loads(line) for line in (tmp_path / "results.errors.jsonl").read_text().splitlines()]
    assert [(e["custom_id"], e["response"]["body"]["error"]["code"]) for e in errors] == [
        ("bad", "model_not_found")
    ]
    assert "6 succeeded, 1 failed" in second.stderr

    # nothing was paid twice: each request reached the model once
    sent = [json.dumps(r.body.get("messages")) for r in fake_upstream.state.message_requests()]
    for i in range(6):
        assert sum(f"item {i} {tag}" in s for s in sent) == 1

    # the state file lost (a crash between creating the batch and saving its id): found by the
    # input's hash in the batch's metadata, still not submitted again
    out.unlink()
    third = run(batch_cmd(svc, source, out, tmp_path / "other-state"))
    assert f"resuming batch {state['batch_id']}" in third.stderr, third.stderr
    assert len(out.read_text().splitlines()) == 6
    sent = [json.dumps(r.body.get("messages")) for r in fake_upstream.state.message_requests()]
    assert sum(f"item 0 {tag}" in s for s in sent) == 1


def test_batch_run_reports_a_bad_input_file(service: Service, tmp_path: Path) -> None:
    svc = service
    source = tmp_path / "broken.jsonl"
    source.write_text('{"custom_id": "a", "method": "POST"}\n')
    done = run(batch_cmd(svc, source, tmp_path / "out.jsonl", tmp_path / "state"))
    assert done.returncode == 1
    assert "HTTP 400" in done.stderr and "Line 1 of the file is invalid" in done.stderr
