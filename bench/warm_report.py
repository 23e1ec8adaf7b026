"""The 'Warm CLI processes' section of docs/benchmarks.md, from `bench/warm.py`'s results."""

from __future__ import annotations

import math
from typing import Any

NAMES = {
    "sdk": "`claude_agent_sdk.query`, one-shot (cold floor)",
    "warm_sdk": "ClaudeSDKClient, one warm process (warm floor)",
    "cli": "`claude -p --output-format json`",
    "warm": "API, warm path (default)",
    "cold": "API, cold path (WARM_PROCESSES=false)",
}


def _ms(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value * 1000:.0f} ms"


def _signed(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value * 1000:+.0f} ms"


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def warm_figures(results: dict[str, Any]) -> dict[str, float]:
    """The figures the targets are judged on (NaN when not measured)."""
    warm = results.get("warm") or {}
    lat = warm.get("latency") or {}
    nan = math.nan
    p50 = {k: (lat.get(k) or {}).get("p50", nan) for k in ("sdk", "warm_sdk", "cli", "warm", "cold")}
    rows = [r for r in warm.get("throughput") or [] if r["path"] == "warm"]
    best = max(rows, key=lambda r: r["tput"]) if rows else None
    graphiti = warm.get("graphiti") or {}
    cold_wall = (graphiti.get("cold") or {}).get("wall", nan)
    warm_wall = (graphiti.get("warm") or {}).get("wall", nan)
    return {
        "warm_p50": p50["warm"],
        "cold_p50": p50["cold"],
        "cli_p50": p50["cli"],
        "sdk_p50": p50["sdk"],
        "warm_sdk_p50": p50["warm_sdk"],
        "warm_vs_cli": p50["warm"] / p50["cli"] if p50["cli"] else nan,
        "tput": best["tput"] if best else nan,
        "cpu_per_completion": best["cpu_per_completion"] if best else nan,
        "graphiti_speedup": cold_wall / warm_wall if warm_wall else nan,
        "graphiti_cold_wall": cold_wall,
        "graphiti_warm_wall": warm_wall,
    }


def warm_targets(results: dict[str, Any]) -> list[list[str]]:
    f = warm_figures(results)
    return [
        [
            "End-to-end p50, concurrency 1, warm path",
            "<= 250 ms",
            _ms(f["warm_p50"]),
            _met(f["warm_p50"] <= 0.25),
        ],
        [
            "... against a cold `claude -p` in the same run",
            "<= 0.55x",
            f"{f['warm_vs_cli']:.2f}x ({_ms(f['warm_p50'])} vs {_ms(f['cli_p50'])})",
            _met(f["warm_vs_cli"] <= 0.55),
        ],
        ["Throughput on 2 cores, warm path", ">= 18 /s", f"{f['tput']:.2f} /s", _met(f["tput"] >= 18)],
        [
            "CPU per completion (service + CLI), at that throughput",
            "<= 0.1 s",
            f"{f['cpu_per_completion']:.3f} s",
            _met(f["cpu_per_completion"] <= 0.1),
        ],
        [
            "Graphiti-shaped run, wall clock cold / warm",
            ">= 3x",
            f"{f['graphiti_speedup']:.2f}x "
            f"({f['graphiti_cold_wall']:.1f} s vs {f['graphiti_warm_wall']:.1f} s)",
            _met(f["graphiti_speedup"] >= 3),
        ],
    ]


def warm_section(results: dict[str, Any]) -> list[str]:
    warm = results.get("warm")
    out = ["## Warm CLI processes", ""]
    if not warm:
        return [*out, "Not measured in this run.", ""]
    caps = warm.get("caps") or {"warm": 4, "cold": 4}
    out += [
        "Written by `bench/warm.py` (part of `bench/run.py`; alone: `.venv/bin/python bench/warm.py`). "
        "Two service pairs side by side, each an API and one worker with the product defaults on a queue "
        f"of its own: the warm path (the default; WORKER_MAX_JOBS={caps['warm']}, GLOBAL_MAX_CLI="
        f"{caps['warm']}, WARM_MAX_IDLE=8) and the cold path (WARM_PROCESSES=false; WORKER_MAX_JOBS="
        f"{caps['cold']}, GLOBAL_MAX_CLI={caps['cold']}), same Redis, fake upstream and CLI.",
        "",
        _row(["target", "goal", "measured", "verdict"]),
        _row(["---"] * 4),
        *(_row(r) for r in warm_targets(results)),
        "",
    ]
    lat = warm["latency"]
    sizes = warm["sizes"]
    out += [
        f"Latency, concurrency 1: {sizes['latency']} requests of each kind, kinds interleaved, each after a "
        "random pause of 0-500 ms, one warm-up request of each kind first (it starts the warm processes). "
        "Added = this path's p50 minus the floor's p50 in the same run.",
        "",
        _row(["path", "p50", "p95", "added over one-shot SDK p50", "added over warm SDK p50", "errors"]),
        _row(["---"] * 6),
    ]
    for kind, name in NAMES.items():
        fig = lat.get(kind) or {}
        p50 = fig.get("p50", math.nan)
        out.append(
            _row(
                [
                    name,
                    _ms(p50),
                    _ms(fig.get("p95")),
                    _signed(p50 - lat["sdk"]["p50"]) if kind != "sdk" else "floor",
                    _signed(p50 - lat["warm_sdk"]["p50"]) if kind != "warm_sdk" else "floor",
                    str(fig.get("errors", "")),
                ]
            )
        )
    out += [
        "",
        "Throughput: closed loop, non-streaming, one worker, product defaults. CPU per completion = CPU "
        "seconds of the worker with its CLI processes, the API, the fake upstream and Redis, per answered "
        "request; 'other' = share of the machine used by processes that are not this benchmark's.",
        "",
        _row(
            [
                "path",
                "concurrency",
                "requests",
                "completions/s",
                "p50",
                "p95",
                "CPU/completion",
                "of it CLI",
                "errors",
                "other",
            ]
        ),
        _row(["---"] * 10),
    ]
    for r in warm["throughput"]:
        out.append(
            _row(
                [
                    NAMES[r["path"]],
                    str(r["concurrency"]),
                    str(r["n"]),
                    f"**{r['tput']:.2f}**",
                    _ms(r["p50"]),
                    _ms(r["p95"]),
                    f"{r['cpu_per_completion']:.3f} s",
                    f"{r['cli_per_completion']:.3f} s",
                    str(r["errors"]),
                    f"{r['other_share']:.0%}",
                ]
            )
        )
    g = warm["graphiti"]
    out += [
        "",
        f"Graphiti-shaped run: {warm['callers']} concurrent callers, {warm['pairs']} distinct system "
        f"prompt + JSON schema pairs, {sizes['graphiti']} structured-output requests "
        "(response_format json_schema), cold path first, then warm.",
        "",
        _row(["path", "wall clock", "p50 per request", "errors"]),
        _row(["---"] * 4),
        *(
            _row([NAMES[p], f"{g[p]['wall']:.1f} s", _ms(g[p]["p50"]), str(g[p]["errors"])])
            for p in ("cold", "warm")
        ),
        "",
        "Warm pool counters of the warm worker after the run (/metrics): "
        + (", ".join(f"`{k}` {v:g}" for k, v in sorted(warm.get("counters", {}).items())) or "none")
        + ".",
        "",
    ]
    errors = [e for fig in lat.values() for e in fig.get("error_samples", [])]
    errors += [e for p in ("cold", "warm") for e in g[p].get("error_samples", [])]
    if errors:
        out += ["Errors seen: " + "; ".join(f"`{e}`" for e in errors[:4]), ""]
    return out
