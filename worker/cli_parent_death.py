"""Run the CLI under a parent-death signal: if its worker dies, even by SIGKILL, the kernel kills it.

The Agent SDK starts the CLI itself (anyio.open_process, no pre-exec hook), so
the hook is the CLI path: it points at `setpriv --pdeathsig KILL -- <real CLI>`
(util-linux, on every Debian image), written once per worker as a two-line
script in its scratch root. Without setpriv (not Linux) the real CLI runs as
before and the worker's own kill-on-cancel and start-up clean-up remain.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
from pathlib import Path

import claude_agent_sdk

log = logging.getLogger(__name__)
SCRIPT_NAME = "claude-with-pdeathsig"


def real_cli(configured: str | None) -> str | None:
    """The CLI the SDK would run: CLAUDE_CLI_PATH, else the bundled one, else `claude` on PATH."""
    if configured:
        return configured
    bundled = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    return str(bundled) if bundled.is_file() else shutil.which("claude")


def guarded_cli_path(configured: str | None, directory: Path) -> str | None:
    """A launcher for the CLI with a parent-death signal, or `configured` unchanged if none can be made."""
    setpriv = shutil.which("setpriv")
    cli = real_cli(configured)
    if setpriv is None or cli is None:
        log.warning("setpriv not found: CLI processes may outlive a worker killed by SIGKILL")
        return configured
    if os.statvfs(directory).f_flag & os.ST_NOEXEC:
        log.warning("%s is mounted noexec: CLI processes may outlive a worker killed by SIGKILL", directory)
        return configured
    script = directory / SCRIPT_NAME
    script.write_text(f'#!/bin/sh\nexec {shlex.quote(setpriv)} --pdeathsig KILL -- {shlex.quote(cli)} "$@"\n')
    script.chmod(0o755)
    return str(script)
