"""`litellm-claude doctor`: check Redis, the Claude Code CLI, the Claude sign-in, workers and queues.

Every check is a function returning `CheckResult`s; `run_checks` runs them in
order and `render` turns them into lines `ok|warn|FAIL|skip <check>: <detail>`,
each FAIL followed by a one-line fix. Secrets are never printed: sign-in
sources are named, never shown, and every known secret is masked in the output.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO
from urllib.parse import urlsplit

import redis

from litellm_claude.config.settings import Settings
from litellm_claude.config.signins import cli_config_dir, load_signins, signin_sources
from litellm_claude.jobs import arq_adapter
from litellm_claude.jobs.accounts import AccountState, iso, read_accounts
from litellm_claude.jobs.connection import async_client, sync_client, sync_reply
from litellm_claude.jobs.redis_url import RedisUrlError
from litellm_claude.jobs.windows import label

Status = Literal["ok", "warn", "FAIL", "skip"]
MASK = "***"
PROBE_PROMPT = "Reply with the single word: ok"
PROBE_TIMEOUT_S = 90.0
SIGN_IN_FIX = (
    "set CLAUDE_CODE_OAUTH_TOKEN (from `litellm-claude login --token`) or ANTHROPIC_API_KEY in .env, "
    "or run `litellm-claude login` to sign in into CLAUDE_CONFIG_DIR"
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    fix: str | None = None


# --- Redis, workers, queues ---------------------------------------------------------


REDIS_URL_FORMS = "use redis://host:6379/0, or redis+sentinel://host:26379,host2:26379/<primary-name>/0"


def redact_url(url: str) -> str:
    """A Redis URL without its user and password."""
    return re.sub(r"(sentinel_password=)[^&]*", rf"\g<1>{MASK}", re.sub(r"//[^@/]*@", f"//{MASK}@", url))


def url_password(url: str) -> str | None:
    match = re.search(r"//(?:[^:@/]*):([^@/]+)@", url)
    return match.group(1) if match else None


def check_redis(settings: Settings) -> tuple[list[CheckResult], redis.Redis | None]:
    """Reachability (and AOF persistence) of REDIS_URL; the open client when reachable."""
    if not settings.redis_url:
        return [
            CheckResult(
                "redis",
                "warn",
                "REDIS_URL is not set: embedded mode (`litellm-claude serve` starts its own redis-server; "
                "jobs are not durable and api/worker cannot run as separate processes)",
                "set REDIS_URL (e.g. redis://redis:6379/0 in docker compose) for a durable, scalable queue",
            )
        ], None
    shown = redact_url(settings.redis_url)
    try:
        client = sync_client(settings.redis_url, socket_connect_timeout=3, socket_timeout=5)
    except RedisUrlError as exc:
        return [CheckResult("redis", "FAIL", f"REDIS_URL {shown} is not valid: {exc}", REDIS_URL_FORMS)], None
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        return [
            CheckResult(
                "redis",
                "FAIL",
                f"cannot reach {shown}: {type(exc).__name__}: {exc}",
                "start Redis or point REDIS_URL at a reachable server (compose: `docker compose up -d`)",
            )
        ], None
    try:  # INFO may be refused by an ACL on a managed Redis: then say less
        server, persistence = sync_reply(client.info("server")), sync_reply(client.info("persistence"))
    except redis.RedisError:
        server, persistence = {}, {"aof_enabled": "?"}
    results = [CheckResult("redis", "ok", f"reachable at {shown} (Redis {server.get('redis_version', '?')})")]
    if str(persistence.get("aof_enabled")) == "0":
        results.append(
            CheckResult(
                "redis persistence",
                "warn",
                "appendonly is off: jobs accepted but not yet run are lost if Redis restarts",
                "run redis-server with --appendonly yes on a persistent volume",
            )
        )
    return results, client


def queue_names(settings: Settings) -> list[str]:
    """QUEUE_NAME first, then any other `*_queue_name` setting (the settings grow queues over time)."""
    names = [settings.queue_name]
    for field in type(settings).model_fields:
        value = getattr(settings, field)
        if field.endswith("queue_name") and isinstance(value, str) and value:
            names.append(value)
    return list(dict.fromkeys(names))


def health_key(queue: str) -> str:
    """arq keeps one health-check key per queue, refreshed by any worker on it, expiring after it."""
    return arq_adapter.health_key(queue)


def check_workers(client: redis.Redis, settings: Settings) -> list[CheckResult]:
    """A live arq health-check key per queue (it proves at least one worker, not how many)."""
    results = []
    for queue in queue_names(settings):
        report = sync_reply(client.get(health_key(queue)))
        name = f"workers {queue}"
        if report is not None:
            results.append(CheckResult(name, "ok", f"a worker reported {report.decode(errors='replace')}"))
            continue
        depth = int(sync_reply(client.zcard(queue)))
        if queue == settings.queue_name:
            results.append(
                CheckResult(
                    name,
                    "FAIL",
                    f"no worker has reported recently ({depth} job(s) waiting)",
                    "start one: `litellm-claude worker` (compose: `docker compose up -d --scale worker=N`; "
                    "see `docker compose logs worker`)",
                )
            )
        elif depth:
            results.append(
                CheckResult(
                    name,
                    "warn",
                    f"{depth} job(s) waiting and no worker reporting",
                    f"start a worker that consumes {queue}",
                )
            )
        else:
            results.append(CheckResult(name, "ok", "no worker reporting; queue empty"))
    return results


def check_queues(client: redis.Redis, settings: Settings) -> CheckResult:
    """Jobs waiting per queue (arq ZSET, scored by enqueue time in ms) and the oldest one's age."""
    now_ms = time.time() * 1000
    parts = []
    for queue in queue_names(settings):
        depth = int(sync_reply(client.zcard(queue)))
        part = f"{queue}={depth}"
        oldest = sync_reply(client.zrange(queue, 0, 0, withscores=True))
        if depth and oldest:
            part += f" (oldest {max(0.0, (now_ms - float(oldest[0][1])) / 1000):.0f} s)"
        parts.append(part)
    return CheckResult("queues", "ok", ", ".join(parts))


# --- The CLI and the sign-in --------------------------------------------------------


def resolve_cli(settings: Settings) -> Path | None:
    """The CLI the SDK runs: CLAUDE_CLI_PATH, else the wheel's bundled binary, else `claude` on PATH."""
    if settings.claude_cli_path:
        return Path(settings.claude_cli_path)
    import claude_agent_sdk

    bundled = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if bundled.is_file():
        return bundled
    found = shutil.which("claude")
    return Path(found) if found else None


def cli_environment(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """What a CLI process sees: the inherited environment with the settings' CLI env over it."""
    return {**(os.environ if environ is None else environ), **settings.cli_env()}


def check_cli(settings: Settings) -> tuple[CheckResult, Path | None]:
    cli = resolve_cli(settings)
    fix = "reinstall the project (the claude-agent-sdk wheel bundles the CLI) or fix CLAUDE_CLI_PATH"
    if cli is None or not cli.is_file():
        detail = f"Claude Code CLI not found ({cli or 'no bundled binary'})"
        return CheckResult("cli", "FAIL", detail, fix), None
    try:
        proc = subprocess.run(
            [str(cli), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            env=cli_environment(settings),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult("cli", "FAIL", f"{cli} does not run: {type(exc).__name__}: {exc}", fix), None
    if proc.returncode != 0:
        detail = f"{cli} --version exited {proc.returncode}: {proc.stderr.strip()[:200]}"
        return CheckResult("cli", "FAIL", detail, fix), None
    return CheckResult("cli", "ok", f"{proc.stdout.strip()} at {cli}"), cli


def check_upstream(settings: Settings) -> CheckResult:
    """Where the CLI sends prompts: Anthropic's API unless ANTHROPIC_BASE_URL says otherwise."""
    base = cli_environment(settings).get("ANTHROPIC_BASE_URL", "")
    host = urlsplit(base).hostname or ""
    if not base or host == "anthropic.com" or host.endswith(".anthropic.com"):
        return CheckResult("upstream", "ok", f"Anthropic's API ({base or 'the CLI default'})")
    return CheckResult(
        "upstream",
        "warn",
        f"ANTHROPIC_BASE_URL points at {redact_url(base)}, not Anthropic: every prompt goes there",
        "unset ANTHROPIC_BASE_URL unless you mean that endpoint (a gateway or the fake upstream)",
    )


def cli_auth_status(cli: Path, env: Mapping[str, str]) -> dict[str, object] | None:
    """`claude auth status --json` (offline, fast); None when the CLI cannot answer."""
    try:
        proc = subprocess.run(
            [str(cli), "auth", "status", "--json"],
            capture_output=True,
            text=True,
            timeout=30,
            env=dict(env),
            cwd=tempfile.gettempdir(),
            check=False,
        )
        status = json.loads(proc.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return status if isinstance(status, dict) else None


def describe_auth(status: Mapping[str, object], env: Mapping[str, str]) -> str:
    method = str(status.get("authMethod"))
    if method == "api_key":
        return str(status.get("apiKeySource") or "ANTHROPIC_API_KEY")
    if method == "oauth_token":
        return "CLAUDE_CODE_OAUTH_TOKEN"
    where = status.get("configDirectory") or cli_config_dir(env)
    return f"interactive login ({method}) in {where}"


def check_signin(settings: Settings, cli: Path | None) -> CheckResult:
    env = cli_environment(settings)
    sources = signin_sources(env)
    status = cli_auth_status(cli, env) if cli else None
    if status is None:
        if not sources:
            return CheckResult("sign-in", "FAIL", "no Claude sign-in found", SIGN_IN_FIX)
        return CheckResult("sign-in", "ok", f"{sources[0]} (not confirmed: the CLI could not be asked)")
    if not status.get("loggedIn"):
        checked = f"ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, {cli_config_dir(env) / '.credentials.json'}"
        return CheckResult("sign-in", "FAIL", f"the CLI finds no sign-in (checked {checked})", SIGN_IN_FIX)
    used = describe_auth(status, env)
    unused = [s for s in sources if not s.startswith(used.split(" ")[0])]
    if unused:
        return CheckResult(
            "sign-in",
            "warn",
            f"using {used}; also present and ignored: {', '.join(unused)}",
            "remove the sign-in you do not mean to use (an API key wins and is billed per token)",
        )
    return CheckResult("sign-in", "ok", f"using {used}")


def check_signins(settings: Settings, cli: Path | None) -> list[CheckResult]:
    """SIGNINS: each named sign-in as the CLI sees it with that sign-in's own environment."""
    try:
        signins = load_signins(settings)
    except (ValueError, OSError) as exc:
        return [CheckResult("sign-ins", "FAIL", str(exc), "fix SIGNINS / SIGNINS_FILE (docs/operations.md)")]
    results = []
    for signin in signins:
        env = {**os.environ, **signin.cli_env(settings)}
        status = cli_auth_status(cli, env) if cli else None
        name = f"sign-in {signin.name} ({signin.kind})"
        if status is None:
            results.append(CheckResult(name, "ok", "configured (not confirmed: the CLI could not be asked)"))
        elif not status.get("loggedIn"):
            results.append(CheckResult(name, "FAIL", "the CLI finds no sign-in with it", SIGN_IN_FIX))
        else:
            results.append(CheckResult(name, "ok", f"using {describe_auth(status, env)}"))
    return results


# --- The probe: one real request through the CLI ------------------------------------


def _probe_failure(status: int | None, error: str | None, text: str, used: str) -> CheckResult:
    used = used.removeprefix("using ").split(";")[0]
    if status in (401, 403) or error in ("authentication_failed", "billing_error"):
        if used.startswith("CLAUDE_CODE_OAUTH_TOKEN"):
            fix = "mint a new token with `litellm-claude login --token` and update CLAUDE_CODE_OAUTH_TOKEN"
        elif used.startswith("interactive login"):
            fix = "sign in again: `litellm-claude login` (with the same CLAUDE_CONFIG_DIR)"
        else:
            fix = "check ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL if set)"
        detail = f"the upstream refused the sign-in ({status}): {text}"
        return CheckResult("sign-in works", "FAIL", detail, fix)
    if status in (429, 529) or error == "rate_limit" or "limit reached" in text.lower():
        return CheckResult(
            "sign-in works", "warn", f"signed in, but limited right now ({status}): {text}", "retry later"
        )
    return CheckResult(
        "sign-in works",
        "FAIL",
        f"the probe request failed ({status or error or 'no status'}): {text}",
        "run `litellm-claude doctor` again; check network access to the API and the worker logs",
    )


async def _probe(settings: Settings, cli: Path, model: str, used: str) -> CheckResult:
    from claude_agent_sdk import (
        AssistantMessage,
        ClaudeSDKError,
        ResultMessage,
        TextBlock,
        query,
    )

    from litellm_claude.worker.cli_options import locked_down_options

    answered, error, text = None, None, ""
    result: ResultMessage | None = None
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="lc-doctor-") as scratch,
        tempfile.TemporaryDirectory(prefix="lc-doctor-tmp-") as cli_tmp,  # the CLI's own temp files
    ):
        options = locked_down_options(
            cwd=scratch,
            model=model,
            env={**settings.cli_env(), "TMPDIR": cli_tmp},
            cli_path=str(cli),
            system_prompt="Answer with one word.",
            max_turns=1,
        )
        try:
            async for message in query(prompt=PROBE_PROMPT, options=options):
                if isinstance(message, AssistantMessage):
                    answered = message.model
                    error = message.error or error
                    text = "".join(b.text for b in message.content if isinstance(b, TextBlock)) or text
                elif isinstance(message, ResultMessage):
                    result = message
        except ClaudeSDKError as exc:
            if result is None and error is None:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                return _probe_failure(None, None, f"{type(exc).__name__}: {first[:200]}", used)
    seconds = time.monotonic() - started
    status = result.api_error_status if result else None
    if result is None or result.is_error or error:
        return _probe_failure(status, error, (text or (result.result if result else "") or "")[:200], used)
    detail = f"a {model!r} request was answered by {answered} in {seconds:.1f} s"
    return CheckResult("sign-in works", "ok", detail)


def probe_signin(settings: Settings, cli: Path, model: str = "haiku", used: str = "") -> CheckResult:
    """One tiny request through the real CLI with the workers' environment: tools off, empty cwd.

    `used` names the sign-in the CLI uses (the sign-in check's detail), to pick the fix.
    """
    try:
        return asyncio.run(asyncio.wait_for(_probe(settings, cli, model, used), PROBE_TIMEOUT_S))
    except TimeoutError:
        return CheckResult(
            "sign-in works",
            "FAIL",
            f"no answer within {PROBE_TIMEOUT_S:.0f} s",
            "check network access from this host to the Anthropic API (or ANTHROPIC_BASE_URL)",
        )


# --- Running and printing -------------------------------------------------------------


def run_checks(settings: Settings, *, probe: bool = True, probe_model: str = "haiku") -> list[CheckResult]:
    results, client = check_redis(settings)
    cli_result, cli = check_cli(settings)
    results.append(cli_result)
    results.append(check_upstream(settings))
    if settings.signins or settings.signins_file:
        results.extend(check_signins(settings, cli))
        results.append(
            CheckResult("sign-in works", "skip", "not probed with SIGNINS (see the account lines)")
        )
    else:
        signin = check_signin(settings, cli)
        results.append(signin)
        if not probe:
            results.append(CheckResult("sign-in works", "skip", "not probed (--no-probe)"))
        elif cli is None or signin.status == "FAIL":
            results.append(CheckResult("sign-in works", "skip", "no CLI or no sign-in to probe"))
        else:
            results.append(probe_signin(settings, cli, probe_model, signin.detail))
    if client is None:
        results.append(CheckResult("workers", "skip", "no shared Redis to look at"))
        return results
    try:
        results.extend(check_workers(client, settings))
        results.append(check_queues(client, settings))
        results.extend(check_accounts(settings))
    except redis.RedisError as exc:
        results.append(CheckResult("workers", "FAIL", f"Redis error: {exc}", "check Redis and run again"))
    finally:
        client.close()
    return results


def check_accounts(settings: Settings) -> list[CheckResult]:
    """Each sign-in's limit windows as the workers last saw them (utilization, resets, cooldowns)."""
    try:
        signins = load_signins(settings)
    except (ValueError, OSError) as exc:
        return [CheckResult("sign-ins", "FAIL", str(exc), "fix SIGNINS / SIGNINS_FILE (docs/operations.md)")]
    assert settings.redis_url is not None

    async def read() -> list[AccountState]:
        client = async_client(settings.redis_url or "", socket_connect_timeout=3)
        try:
            return await read_accounts(client, settings.queue_name, [(s.name, s.kind) for s in signins])
        finally:
            await client.aclose()

    return [describe_account(state) for state in asyncio.run(read())]


def describe_account(state: AccountState, now: float | None = None) -> CheckResult:
    now = time.time() if now is None else now
    name = f"account {state.name} ({state.kind})"
    windows = [
        (w, w.utilization) for w in state.windows.values() if w.current(now) and w.utilization is not None
    ]
    shown = ", ".join(
        f"{label(w.window)} {used * 100:.0f}% (resets {iso(w.reset_at) or '?'})"
        for w, used in sorted(windows, key=lambda pair: pair[0].window)
    )
    live = sorted((c for c in state.cooldowns.values() if c.reset_at > now), key=lambda c: c.reset_at)
    if live:
        limited = "; ".join(f"{label(c.window)} reached ({c.scope}) until {iso(c.reset_at)}" for c in live)
        return CheckResult(
            name,
            "warn",
            f"limited: {limited}" + (f"; {shown}" if shown else ""),
            "wait for the reset, or add another sign-in (SIGNINS)",
        )
    return CheckResult(name, "ok", shown or "no limit readings yet (they arrive with OAuth answers)")


def exit_code(results: Iterable[CheckResult]) -> int:
    return 1 if any(r.status == "FAIL" for r in results) else 0


def secrets_of(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    env = cli_environment(settings, environ)
    values = [*settings.secrets(), env.get("ANTHROPIC_API_KEY", ""), env.get("CLAUDE_CODE_OAUTH_TOKEN", "")]
    if settings.redis_url and (password := url_password(settings.redis_url)):
        values.append(password)
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def render(results: Iterable[CheckResult], secrets: Iterable[str] = ()) -> list[str]:
    lines = []
    for r in results:
        lines.append(f"{r.status} {r.name}: {r.detail}")
        if r.fix and r.status in ("FAIL", "warn"):
            lines.append(f"  fix: {r.fix}")
    masked = []
    for line in lines:
        for secret in secrets:
            line = line.replace(secret, MASK)
        masked.append(line)
    return masked


def run_doctor(
    settings: Settings, *, probe: bool = True, probe_model: str = "haiku", out: TextIO | None = None
) -> int:
    results = run_checks(settings, probe=probe, probe_model=probe_model)
    stream = out or sys.stdout
    for line in render(results, secrets_of(settings)):
        print(line, file=stream, flush=True)
    return exit_code(results)
