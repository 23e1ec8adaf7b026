"""Figures the report and the run's findings take from the latency results."""

from __future__ import annotations

import math
from typing import Any

from loadgen import median, percentile


def per_run(results: dict[str, Any], key: str) -> list[float]:
    return [run[key] for run in results["latency"]["added"] if key in run]


def latency_figures(results: dict[str, Any]) -> dict[str, float]:
    """Median over runs of every per-run latency figure."""
    runs = results["latency"]["added"]
    keys = sorted({k for run in runs for k in run})
    return {k: median(per_run(results, k)) for k in keys}


def stage_p50(results: dict[str, Any], kind: str, key: str) -> float:
    rows = results["latency"].get("stage_rows", {}).get(kind) or []
    return percentile([r[key] for r in rows if key in r], 50) / 1000 if rows else math.nan
