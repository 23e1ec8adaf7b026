"""Sections 'Throughput' and 'Where it saturates'."""

from __future__ import annotations

from typing import Any

from cpu import PART_NAMES, PARTS
from loadgen import median
from report_format import ms, table

ALL_PARTS = [*PARTS, "other"]


def _cell_label(cell: dict[str, Any]) -> str:
    path = "API" if cell["path"] == "api" else "LiteLLM proxy"
    return f"{path}, {cell['workers']} worker(s), concurrency {cell['concurrency']}"


def throughput_section(results: dict[str, Any]) -> list[str]:
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
    out += table(
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
    out += table(["path", "workers", "concurrency"] + [PART_NAMES[p] for p in ALL_PARTS], cpu_rows)
    out.append("")
    errors = [e for cell in cells for r in cell["runs"] for e in r.get("error_samples", [])]
    if errors:
        out.append("First errors seen: " + "; ".join(f"`{e}`" for e in errors[:3]))
        out.append("")
    return out


def saturation_section(results: dict[str, Any]) -> list[str]:
    out = ["## Where it saturates", ""]
    sat = results.get("saturation", {})
    out += [f"- {line}" for line in sat.get("lines", ["not measured"])]
    out.append("")
    return out
