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
