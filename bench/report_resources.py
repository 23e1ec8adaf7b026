"""Sections 'Memory', 'Worker profile' and 'Past the spawn-per-job ceiling'."""

from __future__ import annotations

import math
from typing import Any

from cpu import PART_NAMES, PARTS
from report_format import mb, table


def memory_section(results: dict[str, Any]) -> list[str]:
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
        out += table(["figure", "value"], rows)
        out.append("")
    cli = streams.get("cli") or {}
    out.append(
        f"**One running CLI process** (median of {cli.get('count', 0)} CLI processes waiting on their first "
        "token): RSS counts pages shared with the other CLI processes (the mapped 400 MB binary); "
        "private is what each one adds."
    )
    out.append("")
    out += table(
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


def profile_section(results: dict[str, Any]) -> list[str]:
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
    out += table(
        ["group", "share of worker Python samples"],
        [[name, f"{count / total:.0%}"] for name, count in prof["groups"]],
    )
    out.append("")
    out.append("Hottest functions by own time:")
    out.append("")
    out += table(
        ["function", "own samples"],
        [[f"`{name}`", f"{count / total:.1%}"] for name, count in prof["self"]],
    )
    out.append("")
    return out


def beyond_section(results: dict[str, Any]) -> list[str]:
    sat = results.get("saturation", {})
    cli_cpu = sat.get("cli_cpu_per_completion", math.nan)
    service = sat.get("cpu_per_completion", math.nan)
    rest = service - cli_cpu  # worker Python + API + Redis
    worker = sat.get("worker_cpu_per_completion", math.nan)
    cores = float(results["meta"]["machine"]["cores"])
    spawn_cap = cores / service if service else math.nan
    best = sat.get("best", {})
    warm_rows = [r for r in results.get("warm", {}).get("throughput", []) if r.get("path") == "warm"]
    warm = max(warm_rows, key=lambda r: r["tput"], default=None)
    passed = (
        f"In this run the warm path served {warm['tput']:.2f} completions/s at "
        f"{warm['cpu_per_completion']:.3f} CPU-seconds each ({warm['cli_per_completion']:.3f} s of it CLI), "
        f"{warm['tput'] / spawn_cap:.1f}x this ceiling."
        if warm and spawn_cap == spawn_cap
        else "This run did not measure the warm path."
    )
    return [
        "## Past the spawn-per-job ceiling",
        "",
        f"On the cold path each completion spawns a fresh Claude Code CLI process: {cli_cpu:.2f} "
        f"CPU-seconds of CLI per completion at the throughput peak ({best.get('label', 'n/a')}), plus "
        f"{rest:.3f} s for the rest of the service (worker Python {worker:.3f} s, API, Redis). "
        f"{cores:.0f} cores therefore cap that path near {spawn_cap:.1f} completions/s (measured "
        f"{best.get('tput', math.nan):.2f}/s), whatever the queue, the API or Redis do, and more worker "
        "processes on the same cores add no CPU.",
        "",
        "Warm CLI processes (the default; section 'Warm CLI processes') pass that ceiling: each worker "
        "keeps `ClaudeSDKClient` processes per fixed configuration and resets them with `/clear` between "
        f"jobs instead of spawning. {passed} Conversations with earlier turns keep the cold path. How "
        "one caller's state is kept from the next on a shared process (the README's 'What the model "
        "sees'): a process is reset before it is reused and killed, never reused, after a cancel, a "
        "timeout, a crash or an interrupted stream; `tests/test_warm_processes.py` proves it with the "
        "fake upstream's recorded requests after answered, failed, rate-limited, structured, timed-out "
        "and cancelled jobs on one process.",
        "",
    ]
