"""Section 'Latency the service adds' (and the idle cost of the queue poll): each kind of request
at concurrency 1, in random arrival, against the floor (a direct SDK call, `claude -p`)."""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import TYPE_CHECKING

import httpx
import redis
from cpu import CpuMeter
from floor import claude_p, sdk_direct
from loadgen import Sample, chat, percentile
from options import MODEL, PAUSE_S, POLL_EXPERIMENT_S
from procs import cpu_seconds
from stages import breakdown

if TYPE_CHECKING:
    from services import Bench


async def call(bench: Bench, kind: str, client: httpx.AsyncClient) -> Sample:
    if kind == "sdk":
        return await sdk_direct(bench.settings, MODEL, bench.prompt, bench.expect)
    if kind == "cli":
        return await claude_p(bench.settings, MODEL, bench.prompt, bench.expect)
    if kind.startswith("api_fast"):
        url, key = bench.api_fast_url, bench.api_key
    elif kind.startswith("api"):
        url, key = bench.api_url, bench.api_key
    else:
        url, key = bench.proxy_url, bench.master_key
    assert url is not None
    return await chat(
        client, url, key, MODEL, bench.prompt, stream=kind.endswith("stream"), expect=bench.expect
    )


async def run(bench: Bench, client: httpx.AsyncClient, run: int) -> None:
    kinds = ["sdk", "cli", "api", "api_stream"]
    if bench.proxy_url:
        kinds += ["proxy", "proxy_stream"]
    if not bench.args.no_poll_experiment and bench.product_poll is not None:
        kinds += ["api_fast", "api_fast_stream"]
        start_fast_pair(bench)
    try:
        await _measure(bench, client, run, kinds)
    finally:
        bench.procs.stop("worker-fast")
        bench.procs.stop("api-fast")


def start_fast_pair(bench: Bench) -> None:
    """An API and a worker polling every POLL_EXPERIMENT_S, on a queue of their own."""
    extra = {"QUEUE_NAME": f"{bench.queue}:fast", "WORKER_POLL_DELAY_S": str(POLL_EXPERIMENT_S)}
    bench.api_fast_url = bench.start_api("api-fast", **extra)
    bench.start_worker_process("worker-fast", **extra)
    if "experiment" not in bench.results["idle"]:
        bench.results["idle"]["experiment"] = idle_cost(bench, ["worker-fast"], POLL_EXPERIMENT_S)


def idle_cost(bench: Bench, names: list[str], poll_s: float, seconds: float = 3.0) -> dict[str, float]:
    """Share of one core used by idle workers `names` (and by Redis, everything else idle too)."""
    pids = [bench.procs.pid(n) for n in names]
    redis0, t0 = bench.redis_cpu(), time.perf_counter()
    cpu0 = sum(cpu_seconds(p)[0] for p in pids)
    time.sleep(seconds)
    wall = time.perf_counter() - t0
    return {
        "poll_s": poll_s,
        "worker_core": (sum(cpu_seconds(p)[0] for p in pids) - cpu0) / wall,
        "redis_core": (bench.redis_cpu() - redis0) / wall,
    }


async def _measure(bench: Bench, client: httpx.AsyncClient, run: int, kinds: list[str]) -> None:
    lat = bench.results["latency"]
    for kind in kinds:  # warm-up, not counted
        warm = await call(bench, kind, client)
        if not warm.ok:
            bench.notes.append(f"run {run + 1}: warm-up {kind} failed: {warm.error}")
    samples: dict[str, list[Sample]] = {k: [] for k in kinds}
    meter = CpuMeter(bench.pids, bench.redis_cpu)
    before, t0 = meter.snapshot(), time.perf_counter()
    rng = random.Random(run)
    for i in range(bench.args.latency_requests):
        for kind in kinds[i % len(kinds) :] + kinds[: i % len(kinds)]:
            # A random pause first: arrivals independent of the workers' 0.5 s queue poll, as
            # a real caller's are (back to back, each request would start in phase with it).
            await asyncio.sleep(rng.uniform(0, PAUSE_S))
            samples[kind].append(await call(bench, kind, client))
    other = CpuMeter.delta(before, meter.snapshot())["other"]
    bench.other_busy.append(other / ((time.perf_counter() - t0) * (os.cpu_count() or 1)))
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
            if not s.ok and len(bench.notes) < 30:
                bench.notes.append(f"run {run + 1}: {kind} failed: {s.error}")
    for kind in kinds[1:]:
        fig[f"{kind}_added_p50"] = fig[f"{kind}_p50"] - fig["sdk_p50"]
        fig[f"{kind}_added_p95"] = fig[f"{kind}_p95"] - fig["sdk_p95"]
        if f"{kind}_ttft_p50" in fig:
            fig[f"{kind}_added_ttft_p50"] = fig[f"{kind}_ttft_p50"] - fig["sdk_ttft_p50"]
    lat["kinds"] = kinds
    lat["added"].append(fig)
    async with redis.asyncio.Redis.from_url(bench.redis_url) as aredis:
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
