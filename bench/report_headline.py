"""The report's first sections: the targets (headline) and the machine, versions, settings."""

from __future__ import annotations

import math
from typing import Any

from report_figures import latency_figures, stage_p50
from report_format import mb, met, ms, ratio, signed_ms, table


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
                met(per_request <= goal) if not math.isnan(per_request) else "not measured",
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
        verdict = met(peak < 300 * 1024 and opened == n)
        if n < 1000:
            verdict += f" (only {n} streams: --quick)"
        rows.append([label, "< 300 MB", f"{mb(peak)} ({opened:,} open)", "", verdict])
    return rows


def headline_section(results: dict[str, Any]) -> list[str]:
    fig = latency_figures(results)
    out = ["## Headline", ""]
    out += table(
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


def machine_section(results: dict[str, Any]) -> list[str]:
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
