"""The benchmark command runs end to end in its tiny `--quick` form and writes every section.

No timing is asserted here: speed and memory targets live in the benchmark's report
(docs/benchmarks.md), not in tests. This only proves the command works: it starts its
own processes, measures each figure without errors, writes the report, and stops
everything it started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.waiting import wait_for

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench" / "run.py"


def _load_sections() -> list[str]:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from report import SECTIONS

        return list(SECTIONS)
    finally:
        sys.path.remove(str(REPO / "bench"))


def _bench_pids() -> set[int]:
    """Processes started by a benchmark: it marks their environment with LC_BENCH_RUN."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"LC_BENCH_RUN=" in (entry / "environ").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    out_dir = tmp_path_factory.mktemp("bench")
    out, raw = out_dir / "benchmarks.md", out_dir / "results.json"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}  # the bench starts its own Redis
    before = _bench_pids()
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(out), "--json", str(raw)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    assert not (_bench_pids() - before), "the benchmark left processes running"
    return out.read_text(), json.loads(raw.read_text())


def test_report_has_every_section_in_order(quick_report: tuple[str, dict]) -> None:
    text, _ = quick_report
    positions = [text.find(section + "\n") for section in _load_sections()]
    assert all(p >= 0 for p in positions), [
        s for s, p in zip(_load_sections(), positions, strict=True) if p < 0
    ]
    assert positions == sorted(positions)
    for heading in _load_sections():
        body = text.split(heading + "\n", 1)[1].split("\n## ", 1)[0]
        assert body.strip(), f"{heading} is empty"


def test_every_figure_was_measured_without_errors(quick_report: tuple[str, dict]) -> None:
    text, results = quick_report
    (run,) = results["latency"]["added"]
    for kind in results["latency"]["kinds"]:
        assert run[f"{kind}_errors"] == 0, kind
        assert run[f"{kind}_p50"] > 0, kind
    assert {"sdk", "cli", "api", "api_stream"} <= set(results["latency"]["kinds"])
    assert results["latency"]["stage_rows"]["api"], "no stage breakdown"
    cells = results["throughput"]
    assert [(c["workers"], c["concurrency"]) for c in cells] == [(1, 1), (1, 2)]
    for cell in cells:
        (row,) = cell["runs"]
        assert row["errors"] == 0 and row["ok"] == row["n"], row
        assert row["cpu"]["cli"] > 0, "CLI CPU was not accounted"
    streams = results["memory"]["streams"]
    assert streams["opened"] == streams["streams"] and streams["failure_count"] == 0
    assert streams["cli"]["count"] >= 1 and streams["cli"]["rss"] > 0
    assert results["memory"]["redis_job"]["queued"] == results["memory"]["redis_job"]["jobs"]
    assert "| `claude_agent_sdk.query`, direct (floor) |" in text
    assert "| API | 1 | 2 |" in text


def test_the_warm_comparison_was_measured_without_errors(quick_report: tuple[str, dict]) -> None:
    text, results = quick_report
    warm = results["warm"]
    for kind, fig in warm["latency"].items():
        assert fig["errors"] == 0 and fig["p50"] > 0, (kind, fig)
    for row in warm["throughput"]:
        assert row["errors"] == 0 and row["tput"] > 0, row
    for path in ("cold", "warm"):
        assert warm["graphiti"][path]["errors"] == 0, warm["graphiti"][path]
    assert warm["counters"].get('lc_warm_jobs_total{result="hit"}', 0) > 0
    assert "| API, warm path (default) |" in text


def _commands(pids: set[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return out


def test_a_benchmark_killed_with_sigkill_takes_its_processes_along(tmp_path: Path) -> None:
    """`stop_all` covers exit, SIGTERM and Ctrl-C; a SIGKILL leaves it no chance: the parent-death signal."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    before = _bench_pids()
    bench = subprocess.Popen(
        [sys.executable, str(BENCH), "--quick", "--out", str(tmp_path / "b.md")],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: any("service.cli" in c for c in _commands(_bench_pids() - before)),
            "the benchmark to start its Redis, fake upstream and service",
            120,
        )
    finally:
        bench.kill()
        bench.wait()
    wait_for(lambda: not (_bench_pids() - before), "the killed benchmark's processes to exit", 60)


def test_a_worker_profile_renders_in_the_report(tmp_path: Path) -> None:
    """--quick skips the profile where py-spy is missing (as in CI): its figures still reach the report."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from profiling import profile_figures
        from pyspy import summarize
        from report_resources import profile_section
    finally:
        sys.path.remove(str(REPO / "bench"))
    raw = tmp_path / "raw.txt"
    raw.write_text(
        "process 1:python;thread (0x1):MainThread;_run_once (asyncio/base_events.py:1900);"
        "publish (litellm_claude/jobs/event_stream.py:40) 30\n"
        "process 1:python;thread (0x1):MainThread;select (selectors.py:468) 10\n"
    )
    figures = profile_figures(summarize(raw, 100))
    cpu = {"worker": 1.0, "cli": 5.0}
    profile = {"tool": "py-spy", "rate": 100, "label": "a test", "completions": 3, "wall": 1.0, "cpu": cpu}
    text = "\n".join(profile_section({"profile": {**profile, **figures}}))
    assert "`publish (" in text and "40 busy samples" in text, text
