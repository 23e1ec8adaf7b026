"""Dockerfile, docker-compose.yml, .env.example and .dockerignore, tested without a Docker engine.

No Docker engine runs here, so: the compose file parses and names commands that
exist in this install, with flags they accept, and files that exist; every
variable it or the LiteLLM config references is documented in `.env.example`
(which documents every setting); the build context `.dockerignore` leaves holds
what the install needs and no `.env`; the Dockerfile's own `pip install` line runs
here (as `--dry-run`, against this venv's packages) on that context; the image's
start command serves and its HEALTHCHECK passes; the worker's compose health check
(`litellm-claude doctor --no-probe`) passes against a worker started with the
compose command.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from litellm_claude.config.settings import Settings
from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, REPO, UPSTREAM_SECRET, free_port, service_env

BIN = Path(sys.executable).parent
APP_SERVICES = ("api", "worker", "worker-login", "litellm")
# Variables that are not settings of ours but are documented in .env.example.
EXTERNAL_VARS = {"LITELLM_MASTER_KEY", "LITELLM_LOCAL_MODEL_COST_MAP", "NO_DOCS"}


# --- Parsing helpers ----------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined, current = [], ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        if raw.strip().startswith("#") or not raw.strip():
            continue
        current += raw.rstrip()[:-1] + " " if raw.rstrip().endswith("\\") else raw.strip()
        if not raw.rstrip().endswith("\\"):
            joined.append(current)
            current = ""
    pairs = []
    for entry in joined:
        instruction, _, args = entry.strip().partition(" ")
        pairs.append((instruction.upper(), args.strip()))
    return pairs


def instructions(name: str) -> list[str]:
    return [args for instruction, args in dockerfile() if instruction == name]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in instructions("ENV"):
        env.update(dict(pair.split("=", 1) for pair in shlex.split(args)))
    return env


def as_argv(command: str | list[str]) -> list[str]:
    """A Dockerfile/compose command in exec (JSON list) or shell form, as argv."""
    if isinstance(command, list):
        return [str(part) for part in command]
    text = command.strip()
    if text.startswith("["):
        return [str(part) for part in yaml.safe_load(text)]
    return shlex.split(text)


def env_example() -> tuple[dict[str, str], set[str]]:
    """Uncommented NAME=value pairs, and every NAME documented (commented out or not)."""
    text = (REPO / ".env.example").read_text()
    active = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.MULTILINE))
    documented = set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    return active, documented


def dockerignore_excludes(path: str, rules: list[str]) -> bool:
    """Docker's .dockerignore: last matching rule wins, `!` re-includes, a match covers a subtree."""
    excluded = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule[1:] if negate else rule
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            excluded = not negate
    return excluded


def build_context() -> list[str]:
    """Files a fresh clone holds (tracked, or new and not git-ignored) that .dockerignore lets in."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return sorted(p for p in listed if p and (REPO / p).is_file() and not dockerignore_excludes(p, rules))


def help_text(argv: list[str]) -> str:
    return _help_text(tuple(argv))


@functools.cache
def _help_text(argv: tuple[str, ...]) -> str:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=60, env=env, check=False)
    assert proc.returncode == 0, f"{argv} --help failed:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def assert_command_exists(argv: list[str]) -> None:
    """The console command is installed here; its subcommand and every flag it is given exist."""
    program = BIN / argv[0]
    if argv[0] == "litellm" and not program.exists():
        pytest.skip("litellm is not installed in this venv (the [proxy] extra)")
    assert program.exists(), f"{argv[0]} is not a console command of this install"
    words = [a for a in argv[1:] if not a.startswith("-")]
    subcommand = argv[:2] if argv[0] == "litellm-claude" else argv[:1]
    if argv[0] == "litellm-claude":
        assert words, argv
        assert words[0] in help_text([str(program)]), f"no subcommand {words[0]!r}"
    text = help_text([str(program), *subcommand[1:]])
    for flag in (a.split("=")[0] for a in argv[1:] if a.startswith("--")):
        assert re.search(rf"(^|[\s,]){re.escape(flag)}\b", text), f"{argv}: {flag} is not an option"


# --- docker-compose.yml -----------------------------------------------------------------------


def test_compose_services_and_redis_persistence() -> None:
    services = compose()["services"]
    assert {"redis", *APP_SERVICES} <= set(services)
    redis_service = services["redis"]
    assert redis_service["image"].startswith("redis:7")
    assert redis_service["command"][redis_service["command"].index("--appendonly") + 1] == "yes"
    volume = redis_service["volumes"][0].split(":")
    assert volume[1] == "/data" and volume[0] in compose()["volumes"]  # a named volume
    assert "redis-cli" in redis_service["healthcheck"]["test"]


def test_compose_commands_exist_in_this_install() -> None:
    services = compose()["services"]
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"] == "."
        assert_command_exists(as_argv(service["command"]))
        check = service.get("healthcheck", {}).get("test")
        if check and check[0] == "CMD" and check[1] != "python":
            assert_command_exists(as_argv(check[1:]))


def test_compose_files_and_start_order() -> None:
    data = compose()
    services = data["services"]
    assert (REPO / "Dockerfile").is_file() and (REPO / ".env.example").is_file()
    litellm = as_argv(services["litellm"]["command"])
    assert (REPO / litellm[litellm.index("--config") + 1]).is_file()
    for name in APP_SERVICES:
        service = services[name]
        assert service["env_file"] == [".env"]
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        for dependency, condition in service["depends_on"].items():
            assert dependency in services
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency] or dependency == "api"
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            assert source in data["volumes"] and target == dockerfile_env()["CLAUDE_CONFIG_DIR"]
    assert "ports" not in services["worker"] and "container_name" not in services["worker"]  # scalable
    assert services["api"]["ports"] == ["8080:8080"] and services["litellm"]["ports"] == ["4000:4000"]
    assert services["worker-login"]["profiles"] == ["login"]


def test_every_referenced_variable_is_documented() -> None:
    _, documented = env_example()
    data = compose()
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)", (REPO / "docker-compose.yml").read_text()))
    for service in data["services"].values():
        referenced |= set(service.get("environment") or {})
    referenced |= set(
        re.findall(r"os\.environ/([A-Z0-9_]+)", (REPO / "config/litellm_config.yaml").read_text())
    )
    assert referenced - documented == set()
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - documented == set(), "document these settings in .env.example"
    assert documented - settings - EXTERNAL_VARS == set(), "unknown names in .env.example"
    for name in (
        "REDIS_URL",
        "API_KEYS",
        "LITELLM_MASTER_KEY",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "ANTHROPIC_API_KEY",
    ):
        assert name in documented


def test_env_example_holds_no_secret() -> None:
    active, _ = env_example()
    for name, value in active.items():
        if re.search("KEY|TOKEN|SECRET|PASSWORD", name) and name != "LITELLM_LOCAL_MODEL_COST_MAP":
            assert value == "", f"{name} must be an empty placeholder"
    for value in re.findall(r"sk-ant-[\w-]+", (REPO / ".env.example").read_text()):
        assert value.endswith("-"), f"{value} looks like a real key"  # placeholders end in "-..."


# --- Dockerfile and build context --------------------------------------------------------------


def test_dockerfile_shape() -> None:
    assert instructions("FROM") == ["python:3.11-slim"]
    user = instructions("USER")
    assert user and user[-1] not in ("root", "0")
    env = dockerfile_env()
    assert env["CLAUDE_CONFIG_DIR"] == "/home/app/.claude"
    assert env["CLAUDE_CONFIG_DIR"] in instructions("VOLUME")[0]
    assert instructions("HEALTHCHECK") and "/health" in instructions("HEALTHCHECK")[0]
    for args in instructions("ENV") + instructions("ARG"):
        assert not re.search(r"(KEY|TOKEN|SECRET|PASSWORD)\w*=", args), f"a secret in the image: {args}"
    assert "node" not in " ".join(instructions("RUN")).lower()  # the CLI comes from the wheel
    assert_command_exists(as_argv(instructions("CMD")[0]))


def test_every_package_in_the_tree_is_installed_by_pyproject() -> None:
    """A package missing from `[tool.setuptools] packages` works from a checkout, not in the image."""
    packages = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    in_tree = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    assert in_tree - packages == set()


def test_build_context_has_what_the_install_needs_and_no_secret() -> None:
    context = set(build_context())
    assert "pyproject.toml" in context and "config/litellm_config.yaml" in context
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    for package in packages:
        assert f"{package}/__init__.py" in context, f"{package} missing from the build context"
    assert not [p for p in context if Path(p).name == ".env" or p.startswith((".venv/", ".git/", "tests/"))]
    assert ".env.example" in context


def test_dockerfile_install_command_runs_here(tmp_path: Path) -> None:
    """The Dockerfile's `pip install` on the .dockerignore'd context: a dry run on this venv's packages."""
    install = [args for args in instructions("RUN") if args.startswith("pip install")]
    assert len(install) == 1
    argv = shlex.split(install[0])
    context = tmp_path / "context"
    for path in build_context():
        (context / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / path, context / path)
    proc = subprocess.run(
        [sys.executable, "-m", *argv, "--dry-run"],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Would install litellm-claude-0.1.0" in proc.stdout


# --- The image's start commands and health checks, run here ------------------------------------


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, cwd=log.parent, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def retry_until_ok(
    argv: list[str], env: dict[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + timeout
    while True:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode == 0 or time.monotonic() > deadline:
            return proc
        time.sleep(0.5)


@pytest.fixture
def image_env(redis_url: str, fake_upstream: FakeUpstream, tmp_path: Path) -> dict[str, str]:
    """The image's ENV over a test environment (loopback instead of 0.0.0.0), compose's REDIS_URL role."""
    env = service_env(
        redis_url=redis_url,
        upstream=fake_upstream,
        home=tmp_path / "home",
        port=free_port(),
        queue=f"lc:test:deploy:{uuid.uuid4().hex[:8]}",
    )
    image = dockerfile_env()
    for name in ("PYTHONUNBUFFERED", "LITELLM_LOCAL_MODEL_COST_MAP"):
        env[name] = image[name]
    env.pop("CLAUDE_HOME")
    env.update(
        {
            "HOME": str(tmp_path / "home"),
            "CLAUDE_CONFIG_DIR": str(tmp_path / "home" / ".claude"),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # `python`, `litellm-claude` as in the image
        }
    )
    return env


def test_image_cmd_serves_and_its_healthcheck_passes(image_env: dict[str, str], tmp_path: Path) -> None:
    check = instructions("HEALTHCHECK")[0]
    shell_command = check[check.index("CMD ") + 4 :]
    api = start(as_argv(instructions("CMD")[0]), image_env, tmp_path / "api.log")
    try:
        proc = retry_until_ok(["sh", "-c", shell_command], image_env)
        assert proc.returncode == 0, proc.stderr + (tmp_path / "api.log").read_text(errors="replace")
    finally:
        stop(api)
    assert subprocess.run(["sh", "-c", shell_command], env=image_env, check=False).returncode != 0
    assert API_KEY not in (tmp_path / "api.log").read_text(errors="replace")


def test_compose_worker_and_its_healthcheck(image_env: dict[str, str], tmp_path: Path) -> None:
    service = compose()["services"]["worker"]
    check = as_argv(service["healthcheck"]["test"][1:])
    worker = start(as_argv(service["command"]), image_env, tmp_path / "worker.log")
    try:
        proc = retry_until_ok(check, image_env)
        assert proc.returncode == 0, proc.stdout + (tmp_path / "worker.log").read_text(errors="replace")
    finally:
        stop(worker)
    assert UPSTREAM_SECRET not in proc.stdout + (tmp_path / "worker.log").read_text(errors="replace")
