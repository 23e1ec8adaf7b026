"""The image and the compose stack, built and run for real with podman, checked as a user would.

Run alone: `pytest -m containers`. Needs root and the shared script
`shared/containers/standin-images.sh` beside the checkout (or STANDIN_IMAGES_SCRIPT): it
installs podman and podman-compose and builds local stand-ins for `python:3.11-slim` and
`redis:7`, since no registry is reachable here. One build (through `podman-compose build`,
as a user would) serves every check; the stack is `docker-compose.yml` plus
`tests/containers/compose.fake-upstream.yml` (the fake Anthropic upstream as a service, test
keys instead of `.env`), under a project name and host ports of its own, and is removed with
everything it created (containers, volumes, networks, pod, image) even when a check fails.
CONTAINER_TEST_IMAGE=<name> builds under that name and keeps it (its layers then serve as
the build cache of the next run).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from litellm_claude.fake_anthropic.answers import reply_text
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.containers

OVERRIDE = REPO / "tests" / "containers" / "compose.fake-upstream.yml"
APP_SERVICES = ("api", "worker", "litellm")
APP_UID = "10001"
READY_TIMEOUT_S = 300.0
PYTHON_STANDIN = "python:3.11-slim"


def standin_script() -> Path | None:
    """The shared script: STANDIN_IMAGES_SCRIPT, else `shared/` beside the checkout or above it."""
    if env := os.environ.get("STANDIN_IMAGES_SCRIPT"):
        return Path(env) if Path(env).is_file() else None
    for parent in REPO.parents:
        candidate = parent / "shared" / "containers" / "standin-images.sh"
        if candidate.is_file():
            return candidate
    return None


def run(
    argv: list[str], *, timeout: float = 600, check: bool = True, **kw: Any
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{shlex.join(argv)} -> {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def wait_until(what: str, ok: Any, timeout: float = READY_TIMEOUT_S, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Stack:
    """One compose project: its files, environment, ports and keys."""

    project: str
    image: str
    compose_bin: str
    env: dict[str, str]
    api_url: str
    proxy_url: str
    fake_url: str
    api_key: str
    master_key: str
    build_log: str = ""

    def compose(
        self, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        argv = [self.compose_bin, "-p", self.project, "-f", "docker-compose.yml", "-f", str(OVERRIDE), *args]
        return run(argv, timeout=timeout, check=check, cwd=REPO, env=self.env)

    def containers(self, service: str | None = None, *, all_states: bool = False) -> list[str]:
        argv = ["podman", "ps", "--filter", f"label=io.podman.compose.project={self.project}"]
        if service:
            argv += ["--filter", f"label=com.docker.compose.service={service}"]
        out = run([*argv, *(["-a"] if all_states else []), "--format", "{{.Names}}"]).stdout
        return sorted(out.split())

    def one(self, service: str) -> str:
        names = self.containers(service)
        assert len(names) == 1, f"{service}: {names}"
        return names[0]

    def exec(self, container: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(["podman", "exec", container, *argv], timeout=120, check=check)

    def healthy(self, container: str) -> bool:
        return run(["podman", "healthcheck", "run", container], timeout=60, check=False).returncode == 0

    def leftovers(self) -> dict[str, list[str]]:
        label = f"label=io.podman.compose.project={self.project}"
        found = {
            "containers": run(["podman", "ps", "-a", "--filter", label, "--format", "{{.Names}}"]).stdout,
            "volumes": run(["podman", "volume", "ls", "--filter", label, "--format", "{{.Name}}"]).stdout,
            "networks": run(["podman", "network", "ls", "--filter", label, "--format", "{{.Name}}"]).stdout,
            "pods": run(
                ["podman", "pod", "ps", "--filter", f"name=pod_{self.project}", "--format", "{{.Name}}"]
            ).stdout,
        }
        return {kind: out.split() for kind, out in found.items() if out.split()}

    def down(self, *args: str) -> None:
        """`down --remove-orphans`: podman-compose 1.6 takes down replica 1 only and cannot remove
        what the others `--requires` (Redis) while they exist; a second pass removes it."""
        for _ in range(2):
            self.compose("down", "--remove-orphans", "-t", "10", *args, timeout=300)
            if not self.containers(all_states=True):
                return

    def remove_everything(self) -> None:
        """`down -v`, then whatever it left, by this project's label only."""
        self.compose("down", "--remove-orphans", "-v", "-t", "5", timeout=300, check=False)
        for kind, names in self.leftovers().items():
            command = {"containers": ["rm", "-f"], "volumes": ["volume", "rm", "-f"]}.get(kind)
            command = command or {"networks": ["network", "rm", "-f"], "pods": ["pod", "rm", "-f"]}[kind]
            run(["podman", *command, *names], check=False)

    def chat(self, url: str, key: str, prompt: str, *, stream: bool = False, model: str = "sonnet") -> str:
        body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": stream}
        headers = {"Authorization": f"Bearer {key}"}
        if not stream:
            response = httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=180)
            assert response.status_code == 200, response.text
            data = response.json()
            return f"{data['id']}\n{data['choices'][0]['message']['content']}"
        chunks, ids, finishes = [], set(), []
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers, timeout=180) as r:
            assert r.status_code == 200, r.read().decode()
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                assert "error" not in chunk, chunk
                ids.add(chunk["id"])
                for choice in chunk.get("choices", []):
                    chunks.append(choice.get("delta", {}).get("content") or "")
                    if choice.get("finish_reason"):
                        finishes.append(choice["finish_reason"])
        assert len(ids) == 1 and finishes == ["stop"], (ids, finishes)
        return f"{ids.pop()}\n{''.join(chunks)}"

    def fake(self, method: str, path: str, **kw: Any) -> Any:
        response = httpx.request(method, f"{self.fake_url}{path}", timeout=10, **kw)
        response.raise_for_status()
        return response.json()

    def logs(self, container: str) -> str:
        proc = run(["podman", "logs", container], check=False)
        return proc.stdout + proc.stderr


def message_requests(stack: Stack) -> list[dict[str, Any]]:
    return [r for r in stack.fake("GET", "/_fake/requests") if r.get("path") == "/v1/messages"]


def runs_the_cli(container: str) -> bool:
    """The container's processes include the Claude Code CLI (the SDK's bundled binary)."""
    return "_bundled/claude" in run(["podman", "top", container, "args"]).stdout


def started_a_job(stack: Stack, container: str, log_before: int) -> bool:
    """The worker logged a CLI run since `log_before` (idle warm CLIs run in every worker)."""
    return "running the CLI on" in stack.logs(container)[log_before:]


def job_id_of(completion_id: str) -> str:
    return "job_" + completion_id.removeprefix("chatcmpl-")


def ensure_container_init() -> None:
    """compose's `init: true` needs podman's init binary, catatonit; the shared script lacks it."""
    if Path("/usr/libexec/podman/catatonit").exists():
        return
    install = ["apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", "--no-install-recommends"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if run([*install, "catatonit"], env=env, check=False).returncode != 0:
        run(["apt-get", "update", "-qq", "-o", "DPkg::Lock::Timeout=300"], env=env)
        run([*install, "catatonit"], env=env)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the run as Ctrl-C does: teardown still removes the stack."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    script = standin_script()
    if script is None:
        pytest.skip("no shared/containers/standin-images.sh beside the checkout (or STANDIN_IMAGES_SCRIPT)")
    if os.geteuid() != 0:
        pytest.skip("the container tests run podman as root (CI runs as root)")
    prepared = run(["bash", str(script)], timeout=900)
    ensure_container_init()
    compose_bin = re.findall(r"^PODMAN_COMPOSE=(.+)$", prepared.stdout, re.MULTILINE)[-1]
    build_args = run(["bash", str(script), "--build-args"]).stdout.strip()

    tag = uuid.uuid4().hex[:8]
    ports = {"API_PORT": free_port(), "LITELLM_PORT": free_port(), "FAKE_UPSTREAM_PORT": free_port()}
    api_key, master_key = f"sk-test-{secrets.token_urlsafe(24)}", f"sk-master-{secrets.token_urlsafe(24)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_", "LITELLM_"))}
    env.update({k: str(v) for k, v in ports.items()})
    env.update(
        {
            "LITELLM_CLAUDE_IMAGE": os.environ.get(
                "CONTAINER_TEST_IMAGE", f"localhost/litellm-claude:test-{tag}"
            ),
            "TEST_API_KEY": api_key,
            "TEST_MASTER_KEY": master_key,
            "TEST_OAUTH_TOKEN": f"sk-ant-oat01-test-{secrets.token_urlsafe(16)}",
        }
    )
    s = Stack(
        project=f"lctest-{tag}",
        image=env["LITELLM_CLAUDE_IMAGE"],
        compose_bin=compose_bin,
        env=env,
        api_url=f"http://127.0.0.1:{ports['API_PORT']}",
        proxy_url=f"http://127.0.0.1:{ports['LITELLM_PORT']}",
        fake_url=f"http://127.0.0.1:{ports['FAKE_UPSTREAM_PORT']}",
        api_key=api_key,
        master_key=master_key,
    )
    with sigterm_as_interrupt():
        yield from _stack_up(s, build_args)


def _stack_up(s: Stack, build_args: str) -> Iterator[Stack]:
    try:
        # One build, as a user would run it; the stand-in base and the host's CA bundle for pip.
        build = s.compose(
            "--podman-build-args",
            f"--format docker {build_args}",
            "build",
            "--build-arg",
            f"PYTHON_IMAGE={PYTHON_STANDIN}",
            timeout=1800,
        )
        s.build_log = build.stdout + build.stderr
        s.compose("up", "-d", "--scale", "worker=2", timeout=600)
        wait_until_healthy(s)
        yield s
    finally:
        s.remove_everything()
        if "CONTAINER_TEST_IMAGE" not in os.environ:
            run(["podman", "rmi", "-f", s.image], check=False)


def wait_until_healthy(s: Stack) -> None:
    """podman-compose ignores `condition: service_healthy` and no timer runs health checks here."""
    for service in ("redis", *APP_SERVICES, "fake-upstream"):
        names = s.containers(service)
        assert names, f"no container for {service}: {s.compose('ps', check=False).stdout}"
        for name in names:
            wait_until(f"{name} healthy", lambda name=name: s.healthy(name))


# --- The image -------------------------------------------------------------------------------


def test_one_build_for_all_services_and_no_leftovers_in_the_image(stack: Stack) -> None:
    commits = re.findall(rf"COMMIT {re.escape(stack.image)}$", stack.build_log, re.MULTILINE)
    assert len(commits) == 1, stack.build_log[-3000:]  # one build, whatever the number of services
    info = json.loads(run(["podman", "image", "inspect", stack.image]).stdout)[0]
    config = info["Config"]
    assert config["User"] == "app" and not config.get("Volumes"), config
    check = info.get("Healthcheck") or config.get("Healthcheck")  # kept: built with --format docker
    assert check and "/health" in " ".join(check["Test"]), info
    print(f"image size: {int(info['Size']) / 1e9:.2f} GB")  # shown with -s; the report's size
    probe = (
        "import glob, importlib.util, sys; "
        "print(sorted(glob.glob('/app/**', recursive=True))); "
        "print(glob.glob('/usr/local/lib/python3*/site-packages/*.egg-info')); "
        "print(importlib.util.find_spec('polars'))"
    )
    out = run(["podman", "run", "--rm", stack.image, "python", "-c", probe]).stdout.splitlines()
    assert out[0] == "['/app/', '/app/config', '/app/config/litellm_config.yaml']", out[0]
    assert out[1] == "[]" and out[2] == "None", out


def test_the_lock_pins_everything_the_image_installs(stack: Stack) -> None:
    frozen = run(["podman", "run", "--rm", stack.image, "pip", "freeze", "--exclude-editable"]).stdout
    installed = {line.split("==")[0].lower(): line.split("==")[1] for line in frozen.split() if "==" in line}
    lock = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, rest = line.partition("==")
            lock[name.lower()] = rest.split(";")[0].strip()
    installed.pop("litellm-claude", None)
    assert {n: v for n, v in installed.items() if lock.get(n) != v} == {}


def test_fake_upstream_host_flag_is_documented(stack: Stack) -> None:
    out = run(["podman", "run", "--rm", stack.image, "litellm-claude", "fake-upstream", "--help"]).stdout
    assert "--host" in out


# --- The running stack -----------------------------------------------------------------------


def test_health_checks_pass(stack: Stack) -> None:
    for service in ("redis", *APP_SERVICES, "fake-upstream"):
        for name in stack.containers(service):
            # Each check passes (again: these machines are loaded, so a slow run may time out once).
            wait_until(f"{name}'s health check", lambda name=name: stack.healthy(name), timeout=120)


def test_containers_run_as_non_root(stack: Stack) -> None:
    for service in (*APP_SERVICES, "fake-upstream"):
        for name in stack.containers(service):
            assert stack.exec(name, "id", "-u").stdout.strip() == APP_UID, name
    assert stack.exec(stack.one("redis"), "id", "-u").stdout.strip() != "0"


def test_completion_through_the_api_and_the_proxy(stack: Stack) -> None:
    stack.fake("DELETE", "/_fake/requests")
    for url, key in ((stack.api_url, stack.api_key), (stack.proxy_url, stack.master_key)):
        prompt = f"hello from the container test {uuid.uuid4().hex[:6]}"
        _, content = stack.chat(url, key, prompt).split("\n", 1)
        assert content == reply_text(prompt)
        _, streamed = stack.chat(url, key, prompt, stream=True).split("\n", 1)
        assert streamed == reply_text(prompt)
    assert len(message_requests(stack)) >= 4, "the answers did not come from the fake upstream"


def test_doctor_passes_inside_the_worker(stack: Stack) -> None:
    worker = stack.containers("worker")[0]
    proc = stack.exec(worker, "litellm-claude", "doctor", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok sign-in works" in proc.stdout and "CLAUDE_CODE_OAUTH_TOKEN" in proc.stdout
    assert stack.env["TEST_OAUTH_TOKEN"] not in proc.stdout + proc.stderr


def test_two_workers_share_the_work(stack: Stack) -> None:
    workers = stack.containers("worker")
    assert len(workers) == 2
    stack.fake("POST", "/_fake/config", json={"first_token_delay": 0.5, "token_delay": 0.2})
    try:
        prompts = [f"share the work {i} one two three four" for i in range(4)]
        with concurrent.futures.ThreadPoolExecutor(len(prompts)) as pool:
            answers = list(pool.map(lambda p: stack.chat(stack.api_url, stack.api_key, p), prompts))
    finally:
        stack.fake("POST", "/_fake/config", json={"first_token_delay": 0.0, "token_delay": 0.0})
    jobs = set()
    for prompt, answer in zip(prompts, answers, strict=True):
        completion_id, content = answer.split("\n", 1)
        assert content == reply_text(prompt)
        jobs.add(job_id_of(completion_id))
    ran = {name: {job for job in jobs if job in stack.logs(name)} for name in workers}
    assert all(ran.values()), ran  # WORKER_MAX_JOBS=1 in the test stack: both must have run jobs
    assert set().union(*ran.values()) == jobs


def test_a_job_in_flight_survives_stop_of_its_worker(stack: Stack) -> None:
    """`stop` of the worker running a job: the caller still gets the whole answer, once."""
    worker_service = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["worker"]
    grace = int(str(worker_service["stop_grace_period"]).removesuffix("s"))
    prompt = "drain " + " ".join(f"w{i}" for i in range(20))
    stack.fake("DELETE", "/_fake/requests")
    stack.fake("POST", "/_fake/config", json={"first_token_delay": 0.0, "token_delay": 0.4})
    log_before = {name: len(stack.logs(name)) for name in stack.containers("worker")}
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            call = pool.submit(stack.chat, stack.api_url, stack.api_key, prompt, stream=True)
            wait_until("the job's first request upstream", lambda: bool(message_requests(stack)), 120)
            running = [name for name, n in log_before.items() if started_a_job(stack, name, n)]
            assert len(running) == 1 and runs_the_cli(running[0]), running
            started = time.monotonic()
            run(["podman", "stop", "-t", str(grace), running[0]], timeout=grace + 60)
            stopped_after = time.monotonic() - started
            exit_code = run(
                ["podman", "inspect", "--format", "{{.State.ExitCode}}", running[0]]
            ).stdout.strip()
            _, content = call.result(timeout=240).split("\n", 1)
    finally:
        stack.fake("POST", "/_fake/config", json={"first_token_delay": 0.0, "token_delay": 0.0})
        for name in stack.containers("worker", all_states=True):
            run(["podman", "start", name], check=False)
    assert content == reply_text(prompt)  # whole, and once: one id, one finish_reason (chat())
    assert exit_code != "137" and stopped_after < grace, (exit_code, stopped_after)  # drained, not killed


def test_redis_data_survives_down_and_up(stack: Stack) -> None:
    redis_name = stack.one("redis")
    marker = uuid.uuid4().hex
    stack.exec(redis_name, "redis-cli", "SET", "lctest:survives", marker)
    stack.down()
    assert stack.containers(all_states=True) == []
    stack.compose("up", "-d", "redis", timeout=300)
    redis_name = stack.one("redis")
    wait_until("redis healthy", lambda: stack.healthy(redis_name))
    assert stack.exec(redis_name, "redis-cli", "GET", "lctest:survives").stdout.strip() == marker


def test_down_leaves_nothing(stack: Stack) -> None:
    stack.down("-v")
    assert stack.leftovers() == {}
