"""The private Redis servers of the outage and Sentinel tests start on a port of their own.

Their ports are picked before they start; a port taken meanwhile (it happened: a Sentinel got
the replica's port, saw the replica answer PING and took it for itself) is swapped on a first
start, and readiness means this process answers, not any server on the port.
"""

from __future__ import annotations

import socket
from pathlib import Path

from tests.redis_procs import RedisProc


def test_a_port_taken_before_the_first_start_is_swapped(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        server = RedisProc("swap", tmp_path, port=taken)
        try:
            server.start()
            assert server.port != taken and server.alive()
            assert int(server.client().info("server")["process_id"]) == server.proc.pid  # type: ignore[union-attr]
        finally:
            server.kill()
