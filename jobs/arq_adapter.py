"""The one place that reaches past arq's public API; each internal says why.

Public here means what arq exports (`arq.__all__`) and what its documentation names
for users: `arq.connections.RedisSettings` (a WorkerSettings' `redis_settings`) and
`arq.jobs.Job` (a job handle), which other modules import directly.

arq 0.28 is pinned (pyproject), so these names are stable for us; a new arq
release is checked against this module only.

- `serialize_job`: a job is enqueued inside our own MULTI/EXEC (with its record,
  batch and wake-up token), which `ArqRedis.enqueue_job` cannot join; we write
  the same payload it would.
- `job_key_prefix`, `result_key_prefix`: the keys `enqueue_job` checks and writes,
  so our enqueue refuses a duplicate id just as arq's does, and a queued job can
  be taken back out of the queue (cancel before any worker took it).
- `in_progress_key_prefix`: a worker sets it when it takes a job; cancelling
  WATCHes it, the worker shortens its lease, the snapshot counts running jobs.
- `abort_jobs_ss`: arq's abort set; a worker cancels a job's task on its next poll.
- `health_check_key_suffix`: arq's per-queue health key, our proof a worker is alive.
- `Worker._pool`: `Worker.pool` raises before the worker has connected; the
  wake-up listener must wait for it instead.
"""

from __future__ import annotations

from typing import Any

from arq import Worker
from arq.constants import (
    abort_jobs_ss,
    health_check_key_suffix,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
)
from arq.jobs import serialize_job

from litellm_claude.jobs import codec

ABORT_SET = abort_jobs_ss


def job_key(job_id: str) -> str:
    return job_key_prefix + job_id


def result_key(job_id: str) -> str:
    return result_key_prefix + job_id


def in_progress_key(job_id: str) -> str:
    return in_progress_key_prefix + job_id


def health_key(queue: str) -> str:
    return queue + health_check_key_suffix


def payload(function: str, args: tuple[Any, ...], enqueued_ms: int) -> bytes:
    """What `ArqRedis.enqueue_job` stores under the job key, serialized as JSON (`codec`)."""
    return serialize_job(function, args, {}, None, enqueued_ms, serializer=codec.dumps)


def connected(worker: Worker) -> bool:
    """Whether the worker has its Redis pool yet (`Worker.pool` raises until then)."""
    return worker._pool is not None
