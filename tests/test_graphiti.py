"""Graphiti bulk ingestion end to end: the real graphiti-core, our service, the real CLI, the fake model.

Graphiti (`add_episode_bulk`) talks to our API through its own OpenAI clients; the graph
goes into an embedded Kuzu database; embeddings come from the example's deterministic hash
embedder. Needs `graphiti-core[kuzu]` (skipped without it). Run alone: `pytest -m graphiti -s`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import sys
import threading
import time
from pathlib import Path
from types import ModuleType

import pytest

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, REPO, Factory, Service

os.environ.setdefault("GRAPHITI_TELEMETRY_ENABLED", "false")
try:
    import graphiti_core  # noqa: F401
    import kuzu  # noqa: F401
except ImportError as exc:  # not installed, or installed but broken
    pytest.skip(
        f"graphiti-core with its kuzu extra is not importable ({exc}); "
        "install it with: pip install 'graphiti-core[kuzu]'",
        allow_module_level=True,
    )

pytestmark = [
    pytest.mark.graphiti,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # graphiti's Kuzu driver is deprecated
]

WARM_IDLE = 2  # idle warm CLI processes per worker
CAP = 4  # GLOBAL_MAX_CLI
WORKERS = 2
EPISODES = 12
_ACCESS = re.compile(r'"(?:GET|POST|DELETE|PUT) (\S+) HTTP/[\d.]+\\?" (\d{3})')


def _load_example() -> ModuleType:
    path = REPO / "examples" / "graphiti_ingest.py"
    spec = importlib.util.spec_from_file_location("graphiti_ingest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


example = _load_example()


@pytest.fixture
def graphiti_service(service_factory: Factory) -> Service:
    """API and two workers sharing a global cap of CAP CLI processes."""
    # Graphiti fires up to SEMAPHORE_LIMIT (20) calls per gather, so most wait in the queue.
    return service_factory(
        workers=WORKERS,
        GLOBAL_MAX_CLI=str(CAP),
        WORKER_MAX_JOBS="4",
        REQUEST_TIMEOUT_S="300",
        QUEUE_WAIT_TIMEOUT_S="300",
        JOB_TIMEOUT_S="120",
        WARM_MAX_IDLE=str(WARM_IDLE),
    )


def cli_bound(svc: Service) -> int:
    """Busy CLI processes stay under the cap; warm idle ones (WARM_MAX_IDLE per worker) come on top."""
    warm = svc.env.get("WARM_PROCESSES", "true").lower() not in ("0", "false", "no")
    return CAP + (WORKERS * WARM_IDLE if warm else 0)


class Sampler:
    """Samples the number of live CLI processes of a service in a thread."""

    def __init__(self, svc: Service) -> None:
        self.svc = svc
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, len(self.svc.cli_pids()))
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def failed_requests(svc: Service) -> list[str]:
    """API access-log lines with a 4xx or 5xx status (text or JSON log format).

    `/ready` is left out: it answers 503 until a worker is live, and the fixtures poll it.
    """
    logs = (svc.log_dir / "api.log").read_text(errors="replace")
    statuses = [(line, int(m.group(2))) for line in logs.splitlines() if (m := _ACCESS.search(line))]
    assert statuses, "no access-log lines found: has the log format changed?"
    return [line for line, status in statuses if status >= 400 and "/ready" not in line]


def run_ingest(svc: Service, client_kind: str, episodes: int, db_path: Path) -> tuple[object, object]:
    calls = example.CallLog()
    report = asyncio.run(
        example.ingest(
            base_url=f"{svc.url}/v1",
            api_key=API_KEY,
            model="sonnet",
            small_model="haiku",
            client_kind=client_kind,
            episodes=example.sample_episodes(episodes),
            db_path=str(db_path),
            embedder=example.HashEmbedder(),
            calls=calls,
        )
    )
    return report, calls


def test_add_episode_bulk_through_chat_completions(
    graphiti_service: Service, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    svc = graphiti_service
    with Sampler(svc) as sampler:
        report, calls = run_ingest(svc, "generic", EPISODES, tmp_path / "graph.kuzu")
    upstream = fake_upstream.state.stats()
    print(
        f"\ngraphiti add_episode_bulk via chat completions: {EPISODES} episodes in {report.wall_s:.1f} s, "
        f"{report.llm_calls} LLM calls (peak {report.peak_in_flight} in flight at the client), "
        f"{upstream['total_requests']} upstream Messages requests, CLI peak {sampler.peak} "
        f"(cap {CAP}), upstream peak {upstream['peak_in_flight']}, graph {report.counts}"
    )
    assert calls.failures == [], calls.failures
    assert set(report.statuses) == {200}, report.statuses
    assert failed_requests(svc) == []
    assert report.counts["episodes"] == EPISODES
    assert report.counts["entities"] > 0, report.counts
    assert report.counts["edges"] > 0, report.counts
    assert report.counts["mentions"] > 0, report.counts
    assert report.llm_calls >= EPISODES  # at least one extraction call per episode
    assert report.peak_in_flight > CAP  # Graphiti really did push more than the cap at once
    assert 1 <= sampler.peak <= cli_bound(svc), sampler.peak
    assert upstream["peak_in_flight"] <= CAP, upstream


def test_add_episode_bulk_through_responses_api(
    graphiti_service: Service, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    """Graphiti's default OpenAIClient: `responses.parse` with a strict json_schema text format."""
    svc = graphiti_service
    episodes = 3
    report, calls = run_ingest(svc, "openai", episodes, tmp_path / "graph.kuzu")
    print(
        f"\ngraphiti add_episode_bulk via the Responses API: {episodes} episodes in {report.wall_s:.1f} s, "
        f"{report.llm_calls} LLM calls, graph {report.counts}"
    )
    assert calls.failures == [], calls.failures
    assert failed_requests(svc) == []
    assert report.counts["entities"] > 0 and report.counts["edges"] > 0, report.counts
    models = {r.model for r in fake_upstream.state.message_requests()}
    assert any("haiku" in m for m in models), models  # OpenAIClient sends small_model for small prompts


def test_ingest_own_files_with_progress_and_search(
    graphiti_service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example on a user's folder of notes: episodes from files, a progress bar, a search."""
    notes = tmp_path / "notes"
    (notes / "team").mkdir(parents=True)
    (notes / "team" / "people.md").write_text(
        "# People\n\nAlice Moreau leads research at Northwind Labs.\n\n"
        "Bob Okafor reports to Alice Moreau and studies lithium recovery.\n"
    )
    (notes / "plants.txt").write_text("Carmen Ruiz runs the Rotterdam plant of Tidewater Energy.\n")
    (notes / "ignored.bin").write_bytes(b"\x00\x01")
    episodes = example.load_episodes(notes, max_chars=60)
    assert [e.name for e in episodes] == ["plants.txt#1", "team/people.md#1", "team/people.md#2"]
    assert episodes[1].content.startswith("# People\n\nAlice Moreau")  # short paragraphs joined

    code = example.main(
        [
            "--base-url",
            f"{graphiti_service.url}/v1",
            "--api-key",
            API_KEY,
            "--input",
            str(notes),
            "--max-chars",
            "60",
            "--chunk",
            "2",
            "--query",
            "Alice Moreau research",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "3/3" in out  # the progress bar, at its end
    assert f"episodes:        3 from {notes}" in out
    # the search ran over the new graph; the fake model's facts are words of its prompt, so
    # whether this query finds any is not something to assert on
    match = re.search(r"search:\s+'Alice Moreau research': (\d+) fact", out)
    assert match, out
    assert out.count("\n  - ") == int(match.group(1))
    assert "'episodes': 3" in out
