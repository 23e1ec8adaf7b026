"""A worker's graceful stop: take no new job, let running jobs finish, hand the rest back.

Jobs still running when the grace period ends (or on a second signal) are
cancelled with `HandBack.active` set: the job function then leaves the job's
event stream open and arq puts the job back in the queue, where another worker
runs it as the next attempt. The caller's event follower (jobs/client.py) skips
the text it already delivered, so the caller still gets exactly one answer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from arq import Worker

log = logging.getLogger(__name__)
HAND_BACK_WAIT_S = 15.0


@dataclass(slots=True)
class HandBack:
    """Shared with the job function through arq's ctx: set while unfinished jobs are given back."""

    active: bool = False


async def drain(worker: Worker, *, grace_s: float, forced: asyncio.Event, hand_back: HandBack) -> None:
    """Stop taking jobs; wait up to `grace_s` (or until `forced`) for running ones; hand back the rest."""
    worker.allow_pick_jobs = False
    running = _running(worker)
    if running:
        log.info("draining: waiting up to %.0f s for %d running job(s)", grace_s, len(running))
        finished = asyncio.ensure_future(asyncio.wait(running))
        force = asyncio.ensure_future(forced.wait())
        await asyncio.wait({finished, force}, timeout=max(0.0, grace_s), return_when=asyncio.FIRST_COMPLETED)
        finished.cancel()
        force.cancel()
    unfinished = [job_id for job_id, task in worker.tasks.items() if not task.done()]
    if not unfinished:
        log.info("drained: no job left running")
        return
    log.warning("handing %d unfinished job(s) back to the queue: %s", len(unfinished), ", ".join(unfinished))
    hand_back.active = True
    for job_id in unfinished:
        # Cancel the job function itself: arq's run_job then re-queues the job (retry_jobs).
        task = worker.job_tasks.get(job_id) or worker.tasks[job_id]
        task.cancel()
    await asyncio.wait([worker.tasks[job_id] for job_id in unfinished], timeout=HAND_BACK_WAIT_S)


def _running(worker: Worker) -> list[asyncio.Task[None]]:
    return [task for task in worker.tasks.values() if not task.done()]
