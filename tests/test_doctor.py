"""`litellm-claude doctor` as an operator runs it: a subprocess on the real Redis, CLI and fake upstream.

Each failure mode gives its FAIL line, a one-line fix and exit code 1; no secret
reaches the output. `litellm-claude login` runs the CLI's login with the
workers' config dir and without competing sign-ins (checked with a stand-in CLI).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from litellm_claude.config.settings import Settings
from litellm_claude.fake_anthropic import FakeUpstream
from litellm_claude.service.auth_login import login_command, login_env
from litellm_claude.service.doctor import CheckResult, exit_code, redact_url, render, signin_sources
from tests.conftest import API_KEY, REPO, UPSTREAM_SECRET, Service, free_port, service_env


def run_doctor(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "litellm_claude.service.cli", "doctor", *args],
        cwd=cwd,  # a scratch dir: no `.env` from the repository leaks into the settings
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = proc.stdout + proc.stderr
    for secret in (API_KEY, UPSTREAM_SECRET, "hunter2-redis-password"):
        assert secret not in output
    return proc.returncode, proc.stdout.splitlines()


def line(lines: list[str], prefix: str) -> str:
    found = [entry for entry in lines if entry.startswith(prefix)]
    assert found, f"no line starting {prefix!r} in:\n" + "\n".join(lines)
    return found[0]


def fix_after(lines: list[str], prefix: str) -> str:
    index = lines.index(line(lines, prefix))
    assert lines[index + 1].startswith("  fix: "), lines
    return lines[index + 1]


@pytest.fixture
def lonely_env(redis_url: str, fake_upstream: FakeUpstream, tmp_path: Path) -> dict[str, str]:
    """Signed in with an API key against the fake upstream, on a queue no worker consumes."""
    return service_env(
        redis_url=redis_url,
        upstream=fake_upstream,
        home=tmp_path / "home",
        port=free_port(),
        queue=f"lc:test:doctor:{uuid.uuid4().hex[:8]}",
    )


def test_all_ok_with_a_worker_and_a_real_probe(
    service: Service, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    deadline = time.monotonic() + 15
    while True:  # the worker writes its arq health-check key as its first poll
        code, lines = run_doctor(service.env, tmp_path)
        if code == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert code == 0, "\n".join(lines)
    assert line(lines, "ok redis: reachable at redis://127.0.0.1")
    assert "(Claude Code)" in line(lines, "ok cli: ")
    assert line(lines, "ok sign-in: ") == "ok sign-in: using ANTHROPIC_API_KEY"
    assert "answered by" in line(lines, "ok sign-in works: ")
    queue = service.env["QUEUE_NAME"]
    assert "j_complete=" in line(lines, f"ok workers {queue}: a worker reported")
    assert f"{queue}=" in line(lines, "ok queues: ")
    assert not [entry for entry in lines if entry.startswith("FAIL")]
    probes = [r for r in fake_upstream.state.message_requests() if "single word: ok" in json.dumps(r.body)]
    assert len(probes) == 1 and "haiku" in probes[0].model
    assert probes[0].body.get("tools") in (None, [])  # the probe offers the model no tool


def test_no_worker_fails_with_a_fix(lonely_env: dict[str, str], tmp_path: Path) -> None:
    code, lines = run_doctor(lonely_env, tmp_path, "--no-probe")
    assert code == 1
    queue = lonely_env["QUEUE_NAME"]
    assert line(lines, f"FAIL workers {queue}: no worker has reported recently")
    assert "litellm-claude worker" in fix_after(lines, f"FAIL workers {queue}")
    assert line(lines, "skip sign-in works: not probed (--no-probe)")
    assert line(lines, "ok sign-in: using ANTHROPIC_API_KEY")


def test_unreachable_redis_fails_with_a_fix(lonely_env: dict[str, str], tmp_path: Path) -> None:
    env = {**lonely_env, "REDIS_URL": f"redis://:hunter2-redis-password@127.0.0.1:{free_port()}/0"}
    code, lines = run_doctor(env, tmp_path, "--no-probe")
    assert code == 1
    assert line(lines, "FAIL redis: cannot reach redis://***@127.0.0.1:")
    assert "REDIS_URL" in fix_after(lines, "FAIL redis:")
    assert line(lines, "skip workers: ")


def test_no_redis_url_means_embedded_mode(lonely_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in lonely_env.items() if k != "REDIS_URL"}
    code, lines = run_doctor(env, tmp_path, "--no-probe")
    assert code == 0, lines
    assert "embedded mode" in line(lines, "warn redis: REDIS_URL is not set")


def test_no_sign_in_fails_with_a_fix(lonely_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in lonely_env.items() if k != "ANTHROPIC_API_KEY"}
    code, lines = run_doctor(env, tmp_path)
    assert code == 1
    assert line(lines, "FAIL sign-in: the CLI finds no sign-in")
    fix = fix_after(lines, "FAIL sign-in:")
    assert "CLAUDE_CODE_OAUTH_TOKEN" in fix and "litellm-claude login" in fix
    assert line(lines, "skip sign-in works: ")


def test_refused_sign_in_fails_the_probe(
    lonely_env: dict[str, str], fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    fake_upstream.state.script("haiku", ["401"], sticky=True)
    code, lines = run_doctor(lonely_env, tmp_path)
    assert code == 1
    assert line(lines, "ok sign-in: using ANTHROPIC_API_KEY")  # present, but refused upstream
    assert line(lines, "FAIL sign-in works: the upstream refused the sign-in (401)")
    assert "ANTHROPIC_API_KEY" in fix_after(lines, "FAIL sign-in works:")


def test_oauth_token_and_api_key_together_warn(lonely_env: dict[str, str], tmp_path: Path) -> None:
    token = "sk-ant-oat01-test-token-0123456789"
    code, lines = run_doctor({**lonely_env, "CLAUDE_CODE_OAUTH_TOKEN": token}, tmp_path, "--no-probe")
    assert token not in "\n".join(lines)
    assert "ignored: CLAUDE_CODE_OAUTH_TOKEN" in line(lines, "warn sign-in: using ANTHROPIC_API_KEY")
    assert fix_after(lines, "warn sign-in:")
    assert code == 1  # the lonely queue has no worker


def test_an_interactive_login_in_the_config_dir_is_found(lonely_env: dict[str, str], tmp_path: Path) -> None:
    """What `claude auth login` leaves: CLAUDE_CONFIG_DIR/.credentials.json (here a stand-in)."""
    config = Path(lonely_env["CLAUDE_CONFIG_DIR"])
    config.mkdir(parents=True)
    expires = int((time.time() + 86_400) * 1000)
    oauth = {"accessToken": "sk-ant-oat01-x", "refreshToken": "sk-ant-ort01-y", "expiresAt": expires}
    credentials = config / ".credentials.json"
    credentials.write_text(json.dumps({"claudeAiOauth": {**oauth, "scopes": ["user:inference"]}}))
    credentials.chmod(0o600)
    env = {k: v for k, v in lonely_env.items() if k != "ANTHROPIC_API_KEY"}
    _, lines = run_doctor(env, tmp_path, "--no-probe")
    assert line(lines, f"ok sign-in: using interactive login (claude.ai) in {config}")


# --- Pure parts -------------------------------------------------------------------------


def test_render_masks_secrets_and_adds_fixes() -> None:
    results = [
        CheckResult("a", "ok", "fine"),
        CheckResult("b", "FAIL", "token sk-secret-123 refused", "do this"),
        CheckResult("c", "skip", "later", "not shown"),
    ]
    assert render(results, ["sk-secret-123"]) == [
        "ok a: fine",
        "FAIL b: token *** refused",
        "  fix: do this",
        "skip c: later",
    ]
    assert exit_code(results) == 1 and exit_code(results[:1]) == 0


def test_redis_url_loses_its_password() -> None:
    assert redact_url("redis://user:pw@host:6379/0") == "redis://***@host:6379/0"
    assert redact_url("redis://host:6379/0") == "redis://host:6379/0"


def test_signin_sources_in_precedence_order(tmp_path: Path) -> None:
    (tmp_path / ".credentials.json").write_text("{}")
    env = {"CLAUDE_CODE_OAUTH_TOKEN": "t", "ANTHROPIC_API_KEY": "k", "CLAUDE_CONFIG_DIR": str(tmp_path)}
    assert signin_sources(env) == [
        "ANTHROPIC_API_KEY",
        "CLAUDE_CODE_OAUTH_TOKEN",
        f"interactive login in {tmp_path / '.credentials.json'}",
    ]


# --- login --------------------------------------------------------------------------------


def test_login_commands() -> None:
    cli = Path("/x/claude")
    assert login_command(cli, token=False, console=False) == ["/x/claude", "auth", "login"]
    assert login_command(cli, token=False, console=True) == ["/x/claude", "auth", "login", "--console"]
    assert login_command(cli, token=True, console=False) == ["/x/claude", "setup-token"]


def test_login_runs_the_cli_in_the_workers_config_dir(tmp_path: Path) -> None:
    """A stand-in CLI records its arguments and environment; `auth status` reports a login."""
    record = tmp_path / "record.json"
    fake_cli = tmp_path / "claude"
    fake_cli.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "if sys.argv[1:3] == ['auth', 'status']:\n"
        "    print(json.dumps({'loggedIn': True, 'authMethod': 'claude.ai',"
        " 'configDirectory': os.environ['CLAUDE_CONFIG_DIR']}))\n"
        "    sys.exit(0)\n"
        f"json.dump({{'argv': sys.argv[1:], 'env': dict(os.environ)}}, open({str(record)!r}, 'w'))\n"
    )
    fake_cli.chmod(fake_cli.stat().st_mode | stat.S_IEXEC)
    config = tmp_path / "claude-config"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_", "REDIS_URL"))}
    env.update(
        {
            "CLAUDE_CLI_PATH": str(fake_cli),
            "CLAUDE_CONFIG_DIR": str(config),
            "ANTHROPIC_API_KEY": UPSTREAM_SECRET,
            "PYTHONPATH": str(REPO),
        }
    )
    proc = subprocess.run(
        [sys.executable, "-m", "litellm_claude.service.cli", "login"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(record.read_text())
    assert seen["argv"] == ["auth", "login"]
    assert seen["env"]["CLAUDE_CONFIG_DIR"] == str(config)
    assert "ANTHROPIC_API_KEY" not in seen["env"]  # the login must not be shadowed by the key
    assert f"ok sign-in: interactive login (claude.ai) in {config}" in proc.stdout
    assert "ANTHROPIC_API_KEY is set" in proc.stdout
    assert UPSTREAM_SECRET not in proc.stdout + proc.stderr


def test_login_env_keeps_config_dir_and_drops_competing_sign_ins() -> None:
    settings = Settings(claude_config_dir="/data/claude", claude_home="/home/app")
    env = login_env(settings, {"ANTHROPIC_API_KEY": "k", "CLAUDE_CODE_OAUTH_TOKEN": "t", "PATH": "/bin"})
    assert env == {"PATH": "/bin", "CLAUDE_CONFIG_DIR": "/data/claude", "HOME": "/home/app"}
