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


# Keys below are scoped by the deployment's queue name: every API and worker
# sharing a queue shares its CLI cap, cooldowns and metrics.


def cli_slots(queue: str) -> str:
    """Sorted set of CLI process leases (score = lease expiry, ms): the global cap."""
    return f"{queue}:cli-slots"


def cli_slots_freed(queue: str) -> str:
    """List pushed on every slot release, so waiting workers wake without polling."""
    return f"{queue}:cli-slots:freed"


def wakeup(queue: str) -> str:
    """List a submit pushes to, so an idle worker starts the job without waiting for its poll."""
    return f"{queue}:wakeup"


def cooldowns(queue: str, signin: str) -> str:
    """Hash of a sign-in's cooldowns (field = scope: account or a model family; value = JSON window/reset)."""
    return f"{queue}:account:{signin}:cooldowns"


def account_windows(queue: str, signin: str) -> str:
    """Hash of a sign-in's limit windows (field = window, value = JSON status/utilization/reset)."""
    return f"{queue}:account:{signin}:windows"


def held(job_id: str) -> str:
    """Counts how often a bulk job was put back to wait (not failures: arq's tries minus these)."""
    return f"{PREFIX}:job:{job_id}:held"


def metrics_counters(queue: str) -> str:
    return f"{queue}:metrics:counters"


def metrics_histogram(queue: str, name: str) -> str:
    return f"{queue}:metrics:hist:{name}"


# --- Async jobs, batches and the OpenAI Batch API (records expire after RESULT_TTL_S) ---------


def record(job_id: str) -> str:
    """JSON job record written at submit: the job, its owner, metadata, batch membership."""
    return f"{PREFIX}:job:{job_id}"


def tombstone(job_id: str) -> str:
    """Outlives the record: tells an expired job (410) from one that never existed (404)."""
    return f"{PREFIX}:job:{job_id}:gone"


def idempotency(owner: str, key_hash: str) -> str:
    """Job id created for an `Idempotency-Key` (hashed) by one API key's owner."""
    return f"{PREFIX}:idem:{owner}:{key_hash}"


def batch(batch_id: str) -> str:
    """JSON record of a `POST /v1/jobs/batch`: its items, each a job id or an input error."""
    return f"{PREFIX}:batch:{batch_id}"


def file(file_id: str) -> str:
    """JSON metadata of an uploaded or generated file (OpenAI Files API)."""
    return f"{PREFIX}:file:{file_id}"


def file_content(file_id: str) -> str:
    """The bytes of a file."""
    return f"{PREFIX}:file:{file_id}:content"


def owned(owner: str | None, kind: str) -> str:
    """Sorted set (score = creation time) of one owner's `files` or `batches`, for list endpoints."""
    return f"{PREFIX}:owner:{owner or 'anonymous'}:{kind}"


def openai_batch(batch_id: str) -> str:
    """JSON record of an OpenAI Batch API batch."""
    return f"{PREFIX}:obatch:{batch_id}"


def openai_batch_final(batch_id: str) -> str:
    """Set once (NX) when the batch's output files are written: its final counts and file ids."""
    return f"{PREFIX}:obatch:{batch_id}:final"


def openai_batch_cancel(batch_id: str) -> str:
    """Set (NX, value = unix time) when the caller cancels an OpenAI Batch API batch."""
    return f"{PREFIX}:obatch:{batch_id}:cancel"


def http_requests(queue: str) -> str:
    """Hash of HTTP request counts by route template and status, summed over every API process."""
    return f"{queue}:metrics:http"


# --- What `litellm-claude status` and the dashboard read (telemetry/snapshot.py) ----------------
# Written by workers and front doors, every one expiring: a dead writer's records fade away.


def worker_reports(queue: str) -> str:
    """Sorted set of worker ids with a report on `queue` (score = the report's expiry, ms): the live
    workers are those scored from now on (jobs/workers.py); the fail-fast check counts them."""
    return f"{queue}:worker-reports"


def worker_report(queue: str, worker_id: str) -> str:
    """JSON a worker refreshes every 2 s (host, pid, jobs running, its CLI processes); TTL 6 s."""
    return f"{queue}:worker:{worker_id}"


def recent_failures(queue: str) -> str:
    """List of the last failed jobs, newest first (JSON: id, code, type, status, model, owner hash, at)."""
    return f"{queue}:failures"


def timeline(queue: str, bucket: int) -> str:
    """Hash of the jobs that ended in a 10 s bucket (counts, duration and wait sums); TTL 1 h."""
    return f"{queue}:metrics:tl:{bucket}"


def recent_batches(queue: str) -> str:
    """Sorted set of the ids of batches queued on `queue` (`jbatch_`, `batch_`; score = creation time)."""
    return f"{queue}:batches"
