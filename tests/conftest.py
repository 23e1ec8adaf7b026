"""Test fixtures: a real Redis, the fake Anthropic upstream, and the service as real processes.

Only the model is fake. The worker runs the real Claude Code CLI (bundled in
claude-agent-sdk) against `fake_anthropic`; API and worker are separate
processes talking through a real Redis server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from litellm_claude.fake_anthropic import FakeUpstream
from tests.helpers.waiting import wait_http_ok

API_KEY = "sk-test-caller-0123456789abcdef"
UPSTREAM_SECRET = "sk-ant-test-upstream-fedcba9876543210"
# For services started with it beside the API key (which the CLI prefers), to check logs for it.
OAUTH_SECRET = "sk-ant-oat01-test-oauth-0a1b2c3d4e5f6789"
REPO = Path(__file__).resolve().parent.parent
# Every process this test session starts inherits this marker, so the session can
# tell at its end whether it left any of them (redis-server, CLI, service) behind.
SESSION_MARKER = "LC_TEST_SESSION"
os.environ[SESSION_MARKER] = uuid.uuid4().hex
# Each service gets a TMPDIR of its own (see service_env): a daemonized redis-server rewrites
# its environment with its process title, but its working directory stays in there.
SERVICE_TMPDIRS: list[Path] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_group(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM a process started in a session of its own (its whole group), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # pragma: no cover - .ci/run starts one
        pytest.exit(f"no Redis at {url} ({exc}); start redis-server or set TEST_REDIS_URL", 2)
    client.close()  # no flush: sessions share the database; unique queue names keep them apart
    return url


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture(autouse=True)
def _reset_upstream(fake_upstream: FakeUpstream) -> None:
    fake_upstream.state.clear_requests()
    fake_upstream.state.clear_script()
    fake_upstream.state.clear_limits()
    fake_upstream.state.set_delays(first_token_delay=0.0, token_delay=0.0)


@dataclass
class Service:
    """The service as separate OS processes: one API, N workers."""

    url: str
    env: dict[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    sessions: set[int] = field(default_factory=set)

    def start(self, name: str, *args: str, extra_env: dict[str, str] | None = None) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        env = {**self.env, **(extra_env or {})}
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "litellm_claude.service.cli", *args],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.sessions.add(self.processes[name].pid)

    def stop(self, name: str) -> None:
        proc = self.processes.pop(name, None)
        if proc and proc.poll() is None:
            proc.terminate()  # a graceful stop: the drain grace periods are 5 s (service_env)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def cli_pids(self) -> list[int]:
        """CLI processes run by this service's workers, and by no other process on the machine.

        Each job's CLI works in its own `lc-job-*` directory inside its worker's scratch
        root, in this service's own TMPDIR (see service_env), even after a worker was killed.
        """
        tmpdir = f"{self.env['TMPDIR']}/"
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd.startswith(tmpdir) and os.path.basename(cwd).startswith("lc-job-"):
                pids.append(int(entry.name))
        return pids

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))

    def wait_ready(self, timeout: float = 30) -> None:
        url = f"{self.url}/health"
        wait_http_ok(url, "service", self.processes, lambda: self.logs()[-3000:], timeout, every=0.1)

    def wait_workers(self, timeout: float = 60) -> None:
        """Until `/ready` says a worker consumes the queue (front doors refuse requests before)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if httpx.get(f"{self.url}/ready", timeout=5).status_code == 200:
                return
            time.sleep(0.05)
        raise RuntimeError(f"no worker became ready:\n{self.logs()[-3000:]}")


def service_env(
    *, redis_url: str | None, upstream: FakeUpstream, home: Path, port: int, queue: str
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC_", "CLAUDE_", "REDIS_URL", "API_KEYS"))
    }
    env.update(
        {
            "API_KEYS": API_KEY,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "ANTHROPIC_BASE_URL": upstream.url,
            "ANTHROPIC_API_KEY": UPSTREAM_SECRET,
            "CLAUDE_HOME": str(home),
            "CLAUDE_CONFIG_DIR": str(home / ".claude"),
            "QUEUE_NAME": queue,
            "WORKER_MAX_JOBS": "4",
            "JOB_TIMEOUT_S": "60",
            "REQUEST_TIMEOUT_S": "60",
            "PYTHONUNBUFFERED": "1",
            # A test that stops a service with a job in flight waits at most this long.
            "WORKER_DRAIN_GRACE_S": "5",
            "API_DRAIN_GRACE_S": "5",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    SERVICE_TMPDIRS.append(tmp)
    env["TMPDIR"] = str(tmp)
    return env


@pytest.fixture(scope="session")
def service(
    redis_url: str, fake_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """API and one worker as separate processes on the real Redis."""
    home = tmp_path_factory.mktemp("claude-home")
    port = free_port()
    env = service_env(
        redis_url=redis_url,
        upstream=fake_upstream,
        home=home,
        port=port,
        queue=f"lc:test:{uuid.uuid4().hex[:8]}",
    )
    svc = Service(url=f"http://127.0.0.1:{port}", env=env, log_dir=tmp_path_factory.mktemp("logs"))
    svc.start("api", "api")
    svc.start("worker-1", "worker")
    try:
        svc.wait_ready()
        svc.wait_workers()
        yield svc
    finally:
        for name in list(svc.processes):
            svc.stop(name)


Factory = Callable[..., Service]


def start_service(
    redis_url: str,
    upstream: FakeUpstream,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    workers: int = 1,
    embedded: bool = False,
    **overrides: str,
) -> Service:
    """A service of one's own: its own queue, `workers` workers, env overrides.

    `embedded=True` runs `serve` (API and worker in one process) with no REDIS_URL.
    The caller stops it (`stop_all`).
    """
    port = free_port()
    env = service_env(
        redis_url=None if embedded else redis_url,
        upstream=upstream,
        home=tmp_path_factory.mktemp("home"),
        port=port,
        queue=f"lc:test:{uuid.uuid4().hex[:8]}",
    )
    env.update(overrides)
    svc = Service(url=f"http://127.0.0.1:{port}", env=env, log_dir=tmp_path_factory.mktemp("logs"))
    try:
        if embedded:
            svc.start("serve", "serve")
        else:
            svc.start("api", "api")
            for i in range(workers):
                svc.start(f"worker-{i + 1}", "worker")
        svc.wait_ready(timeout=60)
        if embedded or workers:
            svc.wait_workers()
    except BaseException:
        svc.stop_all()
        raise
    return svc


@pytest.fixture
def service_factory(
    redis_url: str, fake_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Factory]:
    """`start_service` for one test; everything it started is stopped afterwards."""
    started: list[Service] = []

    def make(workers: int = 1, embedded: bool = False, **overrides: str) -> Service:
        svc = start_service(
            redis_url, fake_upstream, tmp_path_factory, workers=workers, embedded=embedded, **overrides
        )
        started.append(svc)
        return svc

    yield make
    for svc in started:
        svc.stop_all()


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


def processes_left_behind(tmpdirs: list[Path] | None = None) -> dict[int, str]:
    """Live processes (other than this one) this session started: pid -> command line.

    Those working in a service's TMPDIR (of `tmpdirs` if given), and, for the
    whole session (no `tmpdirs`), those carrying the session's marker in their environment.
    """
    marker = f"{SESSION_MARKER}={os.environ[SESSION_MARKER]}".encode() if tmpdirs is None else None
    roots = tuple(f"{d}/" for d in (SERVICE_TMPDIRS if tmpdirs is None else tmpdirs))
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            ours = marker is not None and marker in (entry / "environ").read_bytes().split(b"\0")
            ours = ours or (f"{os.readlink(entry / 'cwd')}/".startswith(roots) and bool(roots))
            if ours:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return found


def files_left_behind(tmpdirs: list[Path] | None = None) -> list[Path]:
    """What services left in their TMPDIR: scratch roots, the embedded Redis's directories."""
    return sorted(
        p for d in (SERVICE_TMPDIRS if tmpdirs is None else tmpdirs) if d.exists() for p in d.iterdir()
    )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The suite leaves nothing behind: fail the run if a process it started is still alive,
    or a service left files in its TMPDIR (scratch directories, the embedded Redis's).

    Runs after every fixture is torn down. Stragglers get a few seconds to exit
    (a stop in progress), then are named, killed and the run fails.
    """
    deadline = time.monotonic() + 5
    while (left := processes_left_behind()) and time.monotonic() < deadline:
        time.sleep(0.1)
    files = files_left_behind()
    for pid in left:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    if left:
        lines = "\n".join(f"  {pid}: {cmd}" for pid, cmd in sorted(left.items()))
        sys.stderr.write(f"\nFAILED: the test session left {len(left)} process(es) behind:\n{lines}\n")
    if files:
        lines = "\n".join(f"  {p}" for p in files)
        sys.stderr.write(f"\nFAILED: services left {len(files)} temporary file(s) behind:\n{lines}\n")
    if left or files:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
