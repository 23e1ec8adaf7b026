"""Where the service saturates, in sentences for the report, from the throughput cells."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

from cpu import PARTS
from loadgen import median

if TYPE_CHECKING:
    from services import Bench


def analyse(bench: Bench) -> None:
    cells = bench.results["throughput"]
    sat: dict[str, Any] = {"lines": []}
    bench.results["saturation"] = sat
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
    capped = bench.results.get("cap_experiment")
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
    by_workers = {c["workers"]: med(c, "tput") for c in api_cells if c["concurrency"] == top["concurrency"]}
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
