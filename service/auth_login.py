"""`litellm-claude login`: sign the Claude Code CLI in, into the config directory the workers use.

Two ways, both run the CLI bundled in claude-agent-sdk interactively:
- `litellm-claude login`: `claude auth login` stores a login (with a refresh token)
  in CLAUDE_CONFIG_DIR/.credentials.json. One such directory per worker.
- `litellm-claude login --token`: `claude setup-token` prints a long-lived OAuth
  token; put it in `.env` as CLAUDE_CODE_OAUTH_TOKEN. Any number of workers can share it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from litellm_claude.config.settings import Settings
from litellm_claude.service.doctor import cli_auth_status, config_dir, describe_auth, resolve_cli

# Variables that would make the CLI ignore (or prompt about) the login being made.
SHADOWING = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")


def login_command(cli: Path, *, token: bool, console: bool) -> list[str]:
    if token:
        return [str(cli), "setup-token"]
    return [str(cli), "auth", "login", *(["--console"] if console else [])]


def login_env(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The inherited environment with the workers' config dir and HOME, without competing sign-ins."""
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if k not in SHADOWING}
    if settings.claude_config_dir:
        env["CLAUDE_CONFIG_DIR"] = settings.claude_config_dir
    if settings.claude_home:
        env["HOME"] = settings.claude_home
    return env


def run_login(settings: Settings, *, token: bool = False, console: bool = False) -> int:
    cli = resolve_cli(settings)
    if cli is None or not cli.is_file():
        print("FAIL cli: the Claude Code CLI is missing; reinstall or set CLAUDE_CLI_PATH", file=sys.stderr)
        return 1
    env = login_env(settings)
    if token:
        print("The CLI prints a long-lived token: put it in .env as CLAUDE_CODE_OAUTH_TOKEN=<token>.")
    else:
        print(f"Signing in into {config_dir(env)} (keep one such directory per worker).")
    present = (
        ("ANTHROPIC_API_KEY", settings.anthropic_api_key),
        ("CLAUDE_CODE_OAUTH_TOKEN", settings.claude_code_oauth_token),
    )
    shadowing = [name for name, value in present if value]
    if shadowing and not token:
        print(f"note: {', '.join(shadowing)} is set for the workers and takes precedence over this login.")
    code = subprocess.run(login_command(cli, token=token, console=console), env=env, check=False).returncode
    if code == 0 and not token:
        status = cli_auth_status(cli, env)
        if status and status.get("loggedIn"):
            print(f"ok sign-in: {describe_auth(status, env)}")
        else:
            print("FAIL sign-in: the CLI reports no login after `claude auth login`", file=sys.stderr)
            return 1
    return code
