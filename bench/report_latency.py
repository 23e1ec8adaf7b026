"""Sections 'Floor and added latency' and 'Where a request's time goes'."""

from __future__ import annotations

from typing import Any

from loadgen import percentile
from report_figures import latency_figures, per_run
from report_format import ms, ratio, signed_ms, table
from stages import STAGES

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


def latency_section(results: dict[str, Any]) -> list[str]:
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
    out += table(
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
    added = ", ".join(signed_ms(v) for v in per_run(results, "api_added_p50"))
    per_run_ttft = ", ".join(signed_ms(v) for v in per_run(results, "api_stream_added_ttft_p50"))
    out.append(f"Per run, API added p50: {added}; added first token p50: {per_run_ttft}.")
    out.append("")
    return out


def fig_errors(lat: dict[str, Any], kind: str) -> int:
    return sum(run.get(f"{kind}_errors", 0) for run in lat["added"])


def stages_section(results: dict[str, Any]) -> list[str]:
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

    rows = [[label] + [cell(k, key) for k in kinds] for key, label in STAGES]
    rows.append(
        ["API: first token published -> caller has it (streaming)"] + [cell(k, "first_out") for k in kinds]
    )
    rows.append(
        ["**service's added latency** (all but the CLI stages)"] + [cell(k, "overhead") for k in kinds]
    )
    rows.append(
        ["**service's added time to first token** (streaming)"] + [cell(k, "overhead_ttft") for k in kinds]
    )
    out += table(header, rows)
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
