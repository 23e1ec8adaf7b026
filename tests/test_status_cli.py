"""`litellm-claude status` for real: a busy service, read from Redis by the command, API up and down."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import signal
import subprocess
import sys
import threading
from typing import Any

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import REPO, Factory, Service
from tests.helpers.signals import default_sigint
from tests.ops_scene import FAILED_CODE, SLOW_MACHINE, build_scene, end_scene, wait_for


def status(svc: Service, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "litellm_claude.service.cli", "status", *args],
        env={**svc.env, "COLUMNS": "200"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _read_until_closed(fd: int) -> None:
    with contextlib.suppress(OSError):  # EIO once the other side is closed
        while os.read(fd, 65536):
            pass


def snapshot(svc: Service) -> dict[str, Any]:
    done = status(svc, "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_status_shows_queue_workers_cli_cooldowns_failures_and_batches(
    service_factory: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = service_factory(GLOBAL_MAX_CLI="3", **SLOW_MACHINE)
    scene = build_scene(svc, fake_upstream)
    try:

        def reported_cli(s: dict[str, Any]) -> set[int]:
            return {p["pid"] for w in s["workers"] for p in w["cli_processes"]}

        # a worker reports every few seconds: wait for a report made while the hanging CLI runs
        snap = wait_for(
            lambda: s if reported_cli(s := snapshot(svc)) == set(svc.cli_pids()) != set() else None,
            "the worker to report its CLI process",
        )
        assert (snap["queue"]["waiting"], snap["queue"]["running"]) == (0, 1)
        assert snap["queue"]["worker_heartbeat"] is True
        assert snap["cli"] == {"running": 1, "cap": 3}
        (worker,) = snap["workers"]
        assert len(worker["jobs"]) == 1 and worker["max_jobs"] == 4
        assert worker["cli_processes"][0]["rss_mb"] > 10
        assert [c["scope"] for c in snap["cooldowns"]] == ["opus"]
        assert 3000 < snap["cooldowns"][0]["seconds_left"] <= 3600
        assert snap["failures_by_code"] == {FAILED_CODE: 1}
        assert snap["recent_failures"][0]["code"] == FAILED_CODE
        assert snap["recent_failures"][0]["status"] == 401
        (batch,) = [b for b in snap["batches"] if b["id"] == scene.batch_id]
        assert (batch["total"], batch["succeeded"], batch["failed"], batch["running"]) == (3, 2, 0, 1)
        assert batch["status"] == "in_progress"
        assert sum(p["succeeded"] for p in snap["timeline"]) == 4  # fine, limited, two of the batch
        assert sum(p["failed"] for p in snap["timeline"]) == 1

        text = status(svc).stdout
        (REPO / "tests" / "artifacts").mkdir(exist_ok=True)
        (REPO / "tests" / "artifacts" / "status.txt").write_text(text)
        for shown in ("1 running", "workers (1)", scene.batch_id, "2/3", FAILED_CODE, "opus", "1/3 slots"):
            assert shown in text, f"{shown!r} not in:\n{text}"

        # --watch on a terminal (a pty): drawn, then redrawn in place until Ctrl-C
        leader, follower = pty.openpty()
        watch = subprocess.Popen(
            [sys.executable, "-m", "litellm_claude.service.cli", "status", "--watch", "--interval", "0.2"],
            env={**svc.env, "COLUMNS": "200", "LINES": "100"},
            cwd=REPO,
            stdin=follower,
            stdout=follower,
            stderr=follower,
            preexec_fn=default_sigint,
        )
        os.close(follower)
        try:
            seen = b""
            while seen.count(scene.batch_id.encode()) < 3:
                chunk = os.read(leader, 65536)
                assert chunk, seen.decode(errors="replace")
                seen += chunk
            assert b"\x1b[" in seen  # cursor movement: the table is redrawn where it was
            watch.send_signal(signal.SIGINT)
            # a terminal keeps reading: a pty nobody reads fills, and the last redraw would block
            drain = threading.Thread(target=_read_until_closed, args=(leader,), daemon=True)
            drain.start()
            assert watch.wait(30) == 0
            drain.join(10)
        finally:
            watch.kill()
            watch.wait()
            os.close(leader)
    finally:
        end_scene(svc, fake_upstream, scene)

    svc.stop("api")  # status reads Redis: it does not need the API
    after = snapshot(svc)
    (batch,) = [b for b in after["batches"] if b["id"] == scene.batch_id]
    assert batch["status"] == "cancelled" and (batch["succeeded"], batch["failed"]) == (2, 1)
    assert after["queue"]["running"] == 0 and after["failures_by_code"] == {FAILED_CODE: 1}


def test_status_needs_redis_url() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "litellm_claude.service.cli", "status"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "REDIS_URL" in done.stdout
