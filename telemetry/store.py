"""Counters and histograms kept in Redis, so every worker's figures add up in one place."""

from __future__ import annotations

from collections.abc import Mapping

from redis.asyncio import Redis

from litellm_claude.jobs import keys

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def series(name: str, labels: Mapping[str, str] | None = None) -> str:
    """A Prometheus series name with its labels, used as the hash field."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


class MetricsRecorder:
    """Batches one job's metric updates into a single pipeline."""

    def __init__(self, redis: Redis, queue: str) -> None:
        self.pipe = redis.pipeline(transaction=False)
        self.queue = queue

    def inc(self, name: str, amount: float = 1.0, labels: Mapping[str, str] | None = None) -> None:
        self.pipe.hincrbyfloat(keys.metrics_counters(self.queue), series(name, labels), amount)

    def observe(self, name: str, seconds: float) -> None:
        key = keys.metrics_histogram(self.queue, name)
        for bound in BUCKETS:
            if seconds <= bound:
                self.pipe.hincrby(key, f"le_{bound}", 1)
        self.pipe.hincrby(key, "le_+Inf", 1)
        self.pipe.hincrbyfloat(key, "sum", seconds)
        self.pipe.hincrby(key, "count", 1)

    async def flush(self) -> None:
        await self.pipe.execute()
