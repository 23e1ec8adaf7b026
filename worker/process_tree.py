"""Find and kill a job's CLI processes (and their children) by the job's scratch directory.

Each job runs its CLI in a fresh directory, so the processes whose working
directory is that directory are exactly the job's, whatever the SDK does.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

PROC = Path("/proc")
JOB_PREFIX = "lc-job-"  # the working directory of every job's CLI process starts with it (worker/scratch.py)


def _pids() -> list[int]:
    return [int(p.name) for p in PROC.iterdir() if p.name.isdigit()] if PROC.exists() else []


def _parent(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name may hold spaces or parentheses: the fields after the last ')' are fixed
    return int(stat.rsplit(")", 1)[1].split()[1])


def processes_in(directory: str) -> list[int]:
    """Pids whose working directory is `directory`."""
    target = os.path.realpath(directory)
    found = []
    for pid in _pids():
        try:
            if os.readlink(PROC / str(pid) / "cwd") == target:
                found.append(pid)
        except OSError:
            continue
    return found


def kill_tree_in(directory: str) -> list[int]:
    """SIGKILL every process working in `directory` and all their descendants."""
    roots = set(processes_in(directory))
    if not roots:
        return []
    children: dict[int, list[int]] = {}
    for pid in _pids():
        parent = _parent(pid)
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    doomed: list[int] = []
    stack = list(roots)
    while stack:
        pid = stack.pop()
        doomed.append(pid)
        stack.extend(children.get(pid, []))
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return doomed


def cli_processes_under(root: int) -> list[tuple[int, float | None]]:
    """(pid, resident MB) of each job CLI process (cwd `lc-job-*`) descended from `root`."""
    children: dict[int, list[int]] = {}
    for pid in _pids():
        parent = _parent(pid)
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    found: list[tuple[int, float | None]] = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            if not os.path.basename(os.readlink(PROC / str(pid) / "cwd")).startswith(JOB_PREFIX):
                continue
            if _parent(pid) is not None and _cwd_is_job(_parent(pid)):
                continue  # a child of the CLI, not a CLI
            pages = int((PROC / str(pid) / "statm").read_text().split()[1])
            found.append((pid, round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(found)


def _cwd_is_job(pid: int | None) -> bool:
    try:
        return os.path.basename(os.readlink(PROC / str(pid) / "cwd")).startswith(JOB_PREFIX)
    except OSError:
        return False
