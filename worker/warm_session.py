"""One warm Claude Code CLI process: a ClaudeSDKClient in streaming-input mode, reset between jobs.

Everything fixed for the life of a process (model, system prompt, output
schema, environment, sign-in) is set when it starts; `warm_pool` only hands it
jobs of that same configuration. Between jobs the conversation is dropped with
the CLI's `/clear` command, the only clean slate the CLI offers short of a new
process (a new `session_id` per query does not isolate: measured). `/clear`
is also sent once right after start, so every job on a warm process sees the
same shape of request (README, "What the model sees"). A process whose state
is uncertain (cancelled, timed out, crashed, interrupted) is killed, never
reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

from claude_agent_sdk import (
    ClaudeAgentOptions,
    ClaudeSDKClient,
    ClaudeSDKError,
    ConversationResetMessage,
    ResultMessage,
)

from litellm_claude.worker.cli_options import Prompt, log_stderr
from litellm_claude.worker.process_tree import JOB_PREFIX, kill_tree_in
from litellm_claude.worker.scratch import claim_dir

CLEAR_COMMAND = "/clear"
RESET_TIMEOUT_S = 30.0  # generous: a loaded machine is slow, a hung CLI is rare
CLOSE_TIMEOUT_S = 5.0
SCRATCH_PREFIX = f"{JOB_PREFIX}warm-"


class WarmSession:
    """A CLI process working in a scratch directory of its own (so it can be found and killed)."""

    def __init__(self, key: str, *, scratch_root: str | None = None) -> None:
        self.key = key
        self.scratch = claim_dir(scratch_root, SCRATCH_PREFIX)
        self.started = time.monotonic()
        self.last_used = self.started
        self.jobs = 0
        self.claimed = False  # a job is waiting for this session's reset to finish
        self.frozen = False  # stopped (SIGSTOP) while idle: an idle CLI still spends ~2-3% of a core
        self.stderr_sink: Callable[[str], None] | None = None
        self._client: ClaudeSDKClient | None = None

    def _stderr(self, line: str) -> None:
        sink = self.stderr_sink
        (sink or log_stderr)(line)

    async def start(self, options: ClaudeAgentOptions) -> None:
        """Start the process with `options` (its cwd and stderr are this session's) and reset it."""
        self._client = ClaudeSDKClient(replace(options, cwd=self.scratch, stderr=self._stderr))
        await self._client.connect()
        if not await self.reset():
            raise ClaudeSDKError("the new CLI process did not take /clear")

    async def ask(self, prompt: Prompt) -> AsyncIterator[object]:
        """Send one job's prompt; yield the CLI's messages up to and including its result."""
        assert self._client is not None
        await self._client.query(prompt)
        async for message in self._client.receive_response():
            yield message

    async def reset(self) -> bool:
        """Drop the conversation (`/clear`); False if the process did not confirm it in time."""
        if self._client is None or not self.alive():
            return False
        try:
            async with asyncio.timeout(RESET_TIMEOUT_S):
                await self._client.query(CLEAR_COMMAND)
                cleared = False
                async for message in self._client.receive_response():
                    cleared = cleared or isinstance(message, ConversationResetMessage)
                    if isinstance(message, ResultMessage):
                        return cleared and not message.is_error
        except (TimeoutError, ClaudeSDKError):
            return False
        return False

    def pid(self) -> int | None:
        process = getattr(getattr(self._client, "_transport", None), "_process", None)
        return getattr(process, "pid", None)

    def alive(self) -> bool:
        process = getattr(getattr(self._client, "_transport", None), "_process", None)
        return process is not None and process.returncode is None

    def rss_mb(self) -> float:
        """Resident memory of the CLI process, in MB (0 when unknown)."""
        pid = self.pid()
        try:
            pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return 0.0
        return pages * 4096 / 1_048_576

    def freeze(self) -> None:
        """Stop the idle process (SIGSTOP): its timers and garbage collector cost CPU while it waits."""
        pid = self.pid()
        if pid is not None and not self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                self.frozen = True

    def thaw(self) -> None:
        """Let a frozen process run again (SIGCONT) before it is given a job."""
        pid = self.pid()
        if pid is not None and self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = False

    def kill(self) -> None:
        """SIGKILL the process tree at once (it must not outlive a job it failed)."""
        kill_tree_in(self.scratch)

    async def close(self) -> None:
        """Kill the process, let the SDK notice, remove the scratch directory."""
        self.kill()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await client.disconnect()
        shutil.rmtree(self.scratch, ignore_errors=True)
