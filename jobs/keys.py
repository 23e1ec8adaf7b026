"""Every Redis key the service uses, in one place."""

from __future__ import annotations

PREFIX = "lc"
WORKER_FUNCTION = "run_completion"


def events(job_id: str) -> str:
    """Redis Stream of a job's events (deltas, result, error), capped and expiring."""
    return f"{PREFIX}:job:{job_id}:events"


def cancel(job_id: str) -> str:
    """Set when a caller gives up on a job; the worker stops its CLI process."""
    return f"{PREFIX}:job:{job_id}:cancel"


CLI_SLOTS = f"{PREFIX}:cli-slots"
"""Sorted set of CLI process leases (score = lease expiry, ms): the global cap."""

CLI_SLOTS_FREED = f"{PREFIX}:cli-slots:freed"
"""List pushed on every slot release, so waiting workers wake without polling."""

FALLBACKS = f"{PREFIX}:stats:fallbacks"
"""Counter of jobs answered by a fallback model."""


def cooldown(model: str) -> str:
    """Set while `model` is usage-limited; value and TTL are the reset time."""
    return f"{PREFIX}:cooldown:{model}"
