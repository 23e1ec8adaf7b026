"""Run the CLI under a parent-death signal: if its worker dies, even by SIGKILL, the kernel kills it.

The CLI also gets a session of its own, so a signal to the worker's process
group (Ctrl-C in a terminal sends SIGINT to the whole group) reaches the worker,
which drains, and not its CLIs, which would die mid-answer.

The Agent SDK starts the CLI itself (anyio.open_process, no pre-exec hook), so
the hook is the CLI path: it points at `setpriv --pdeathsig KILL -- setsid <real
CLI>` (util-linux), or the same calls through Python where those are missing,
written once per worker as a two-line script in its scratch root. Elsewhere
(not Linux, noexec temp dir) the real CLI runs as before and the worker's own
kill-on-cancel and start-up clean-up remain.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import sys
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
    cli = real_cli(configured)
    if cli is None or not sys.platform.startswith("linux"):
        log.warning("no parent-death signal here: a CLI may outlive a worker killed by SIGKILL")
        return configured
    if os.statvfs(directory).f_flag & os.ST_NOEXEC:
        log.warning("%s is mounted noexec: a CLI may outlive a worker killed by SIGKILL", directory)
        return configured
    setpriv, setsid = shutil.which("setpriv"), shutil.which("setsid")
    if setpriv is not None and setsid is not None:
        # setsid execs in place (the child is no group leader), keeping the parent-death signal
        launch = f"{shlex.quote(setpriv)} --pdeathsig KILL -- {shlex.quote(setsid)}"
    else:  # the same through Python's ctypes (slower to start: ~30 ms per CLI)
        launch = f"{shlex.quote(sys.executable)} -S -c {shlex.quote(_PRCTL_EXEC)}"
    script = directory / SCRIPT_NAME
    script.write_text(f'#!/bin/sh\nexec {launch} {shlex.quote(cli)} "$@"\n')
    script.chmod(0o755)
    return str(script)


# prctl(PR_SET_PDEATHSIG, SIGKILL); if the parent died already, stop; else a session of its
# own, then become the CLI.
_PRCTL_EXEC = (
    "import ctypes, os, sys; ppid = os.getppid(); ctypes.CDLL(None, use_errno=True).prctl(1, 9); "
    "os.getppid() == ppid or sys.exit(1); os.setsid(); os.execv(sys.argv[1], sys.argv[1:])"
)
