"""Section 'Throughput': closed-loop load at each concurrency with 1 and 2 workers (and the
LiteLLM proxy), and the cap experiment (GLOBAL_MAX_CLI at 2 per core)."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

import httpx
from cpu import PARTS, CpuMeter
from loadgen import Sample, chat, closed_loop, percentile
from options import MODEL, requests_for

if TYPE_CHECKING:
    from services import Bench


async def measure_cell(
    bench: Bench, client: httpx.AsyncClient, path: str, workers: int, concurrency: int, n: int
) -> dict[str, Any]:
    meter = CpuMeter(bench.pids, bench.redis_cpu)
    url, key = (bench.api_url, bench.api_key) if path == "api" else (bench.proxy_url, bench.master_key)
    assert url is not None

    async def one(_i: int) -> Sample:
        return await chat(client, url, key, MODEL, bench.prompt, stream=False, expect=bench.expect)

    before = meter.snapshot()
    samples, wall = await closed_loop(n, concurrency, one)
    after = meter.snapshot()
    cpu = CpuMeter.delta(before, after)
    ok = [s.total for s in samples if s.ok]
    cores = os.cpu_count() or 1
    bench.other_busy.append(cpu["other"] / (wall * cores))
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


def _results_cell(bench: Bench, path: str, workers: int, concurrency: int) -> dict[str, Any]:
    for cell in bench.results["throughput"]:
        if (cell["path"], cell["workers"], cell["concurrency"]) == (path, workers, concurrency):
            return cell
    cell = {"path": path, "workers": workers, "concurrency": concurrency, "runs": []}
    bench.results["throughput"].append(cell)
    return cell


async def run(bench: Bench, client: httpx.AsyncClient) -> None:
    for workers in sorted(bench.args.workers):
        while len(bench.workers) < workers:
            bench.start_worker(f"worker-{len(bench.workers) + 1}")
        paths = ["api"] + (["proxy"] if bench.proxy_url and workers == max(bench.args.workers) else [])
        for path in paths:
            for conc in bench.args.concurrency:
                n = requests_for(conc, bench.args.quick)
                row = await measure_cell(bench, client, path, workers, conc, n)
                _results_cell(bench, path, workers, conc)["runs"].append(row)
    while len(bench.workers) > 1:
        bench.stop_worker(bench.workers[-1])


async def cap_experiment(bench: Bench, client: httpx.AsyncClient) -> None:
    """The highest concurrency again, with CLI processes capped at 2 per core (GLOBAL_MAX_CLI)."""
    cores = os.cpu_count() or 1
    conc = max(bench.args.concurrency)
    cap = 2 * cores
    if conc <= cap:
        return
    print(f"cap experiment: GLOBAL_MAX_CLI={cap} at concurrency {conc}", flush=True)
    for name in list(bench.workers):
        bench.stop_worker(name)
    bench.start_worker("worker-cap", GLOBAL_MAX_CLI=str(cap))
    try:
        row = await measure_cell(bench, client, "api", 1, conc, requests_for(conc, bench.args.quick))
    finally:
        bench.stop_worker("worker-cap")
    bench.results["cap_experiment"] = {"cap": cap, "concurrency": conc, **row}
