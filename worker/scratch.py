"""Scratch directories: one root per worker process holding each job's empty working directory.

The worker holds an exclusive lock on a file in its root for as long as it
lives; the kernel drops the lock when the process dies, however it dies. A
worker starting up removes every root whose lock it can take (its worker is
dead), after killing any process still working in it (a CLI's own children).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

from litellm_claude.worker.process_tree import kill_tree_in

log = logging.getLogger(__name__)
ROOT_PREFIX = "lc-worker-"
LOCK_NAME = ".owner.lock"


class ScratchRoot:
    """This worker's root; `job_dir()` makes a fresh directory for one job inside it."""

    def __init__(self, parent: str | None = None, *, prefix: str = ROOT_PREFIX) -> None:
        self.parent = Path(parent or tempfile.gettempdir())
        # Made and locked under a name no cleaner looks at, then renamed into view.
        staging = Path(tempfile.mkdtemp(prefix="lc-starting-", dir=self.parent))
        self._lock: IO[bytes] | None = open(staging / LOCK_NAME, "wb")
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.path = self.parent / f"{prefix}{os.getpid()}-{staging.name.removeprefix('lc-starting-')}"
        staging.rename(self.path)

    def job_dir(self) -> tempfile.TemporaryDirectory[str]:
        return tempfile.TemporaryDirectory(prefix="lc-job-", dir=self.path)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def remove_dead_roots(parent: str | None = None, *, prefix: str = ROOT_PREFIX) -> list[Path]:
    """Remove the roots of processes that died (their lock is free); return what was removed."""
    removed = []
    for root in Path(parent or tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            lock = open(root / LOCK_NAME, "rb")
        except OSError:
            continue  # not one of ours, or already gone
        with lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its worker is alive
            for job_dir in root.iterdir():
                if job_dir.is_dir():
                    kill_tree_in(str(job_dir))
            shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    if removed:
        log.info("removed %d scratch root(s) of dead processes", len(removed))
    return removed
