"""CPU seconds spent by each part of the system between two snapshots, read from /proc.

CLI processes live about half a second each, too short to sample. Their time is
read exactly instead: when a worker reaps a CLI process, the kernel adds its CPU
time to the worker's cutime/cstime, and CLIs still running are read directly.
Redis reports its own CPU (INFO cpu), which also works for a server we did not start.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from procs import cpu_seconds, machine_busy, tree_cpu_seconds

PARTS = ["cli", "worker", "api", "proxy", "redis", "upstream", "driver"]
PART_NAMES = {
    "cli": "CLI processes",
    "worker": "worker (Python)",
    "api": "API",
    "proxy": "LiteLLM proxy",
    "redis": "Redis",
    "upstream": "fake upstream",
    "driver": "load driver",
    "other": "other processes",
}


class CpuMeter:
    def __init__(
        self,
        pids: Callable[[], dict[str, list[int]]],
        redis_cpu: Callable[[], float],
    ) -> None:
        """`pids()` maps "worker", "api", "proxy", "upstream" to the current pids of each."""
        self.pids = pids
        self.redis_cpu = redis_cpu

    def snapshot(self) -> dict[str, float]:
        pids = self.pids()
        snap = dict.fromkeys(PARTS, 0.0)
        for pid in pids.get("worker", []):
            own, below = tree_cpu_seconds(pid)
            snap["worker"] += own
            snap["cli"] += below
        for part in ("api", "proxy", "upstream"):
            for pid in pids.get(part, []):
                own, below = tree_cpu_seconds(pid)
                snap[part] += own + below
        snap["redis"] = self.redis_cpu()
        times = os.times()
        snap["driver"] = times.user + times.system
        snap["machine"], _ = machine_busy()
        return snap

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """CPU seconds per part between two snapshots; "other" = the rest of the machine's busy time."""
        out = {k: max(0.0, after[k] - before.get(k, 0.0)) for k in after}
        out["other"] = max(0.0, out["machine"] - sum(out[p] for p in PARTS))
        return out


def own_cpu(pid: int) -> float:
    return cpu_seconds(pid)[0]
