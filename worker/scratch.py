"""Scratch directories: one root per worker process holding each CLI process's empty working directory.

The worker holds an exclusive lock on a file in its root for as long as it
lives; the kernel drops the lock when the process dies, however it dies. A
worker starting up removes every root whose lock it can take (its worker is
dead), after killing any process still working in it (a CLI's own children).

A CLI process's directory is named `<prefix><n>`, n the lowest number not in
use, so names come back once their process is gone. A warm CLI process records
its working directory in `.claude.json` of its config dir (a `projects` entry
the CLI never prunes); with a fresh name per process that file grew for as long
as a config dir lived (a login volume: for good). Now it holds about as many
entries per worker as CLI processes ran at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from litellm_claude.worker.process_tree import JOB_PREFIX, kill_tree_in

log = logging.getLogger(__name__)
ROOT_PREFIX = "lc-worker-"
LOCK_NAME = ".owner.lock"


def claim_dir(parent: str | None, prefix: str) -> str:
    """Make `<parent>/<prefix><n>` for the lowest n not in use (mkdir is the claim); remove it to free n."""
    base = Path(parent or tempfile.gettempdir())
    for n in itertools.count():
        path = base / f"{prefix}{n}"
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return str(path)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def scratch_dir(parent: str | None, prefix: str = JOB_PREFIX) -> Iterator[str]:
    """An empty working directory for one CLI process, removed (and its name freed) afterwards."""
    path = claim_dir(parent, prefix)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


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

    def job_dir(self) -> contextlib.AbstractContextManager[str]:
        return scratch_dir(str(self.path))

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
