"""How the CLI is configured for a job: locked-down options, system prompt, history, prompt.

The CLI never runs a tool for a caller: built-in tools off, nothing auto-allowed,
no settings files, no MCP servers, an empty scratch working directory, no
session files left behind. It is configured only through the environment given
to its own process. Earlier turns go into a session transcript the CLI resumes;
structured output (response_format, function calling) becomes `output_format`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable
from pathlib import Path
from typing import Any

from claude_agent_sdk import ClaudeAgentOptions

from litellm_claude.config.settings import Settings
from litellm_claude.jobs.contract import CompletionJob
from litellm_claude.worker.function_calling import decision_schema, tools_active, tools_prompt
from litellm_claude.worker.prompt import flat_transcript, plan_prompt
from litellm_claude.worker.transcript import Turn, write_transcript

log = logging.getLogger(__name__)
Prompt = str | AsyncIterable[dict[str, Any]]


def output_format(job: CompletionJob) -> dict[str, Any] | None:
    if tools_active(job.params):
        return {"type": "json_schema", "schema": decision_schema(job.params)}
    fmt = job.params.response_format or {}
    if fmt.get("type") == "json_schema":
        return {"type": "json_schema", "schema": fmt["json_schema"]["schema"]}
    if fmt.get("type") == "json_object":
        return {"type": "json_schema", "schema": {"type": "object"}}
    return None


def build_options(
    job: CompletionJob,
    model: str,
    scratch_dir: str,
    settings: Settings,
    stderr: Callable[[str], None] | None = None,
) -> tuple[ClaudeAgentOptions, Prompt]:
    """CLI options and prompt for one run; earlier turns go into a session the CLI resumes."""
    plan = plan_prompt(job.messages, system_mode=settings.system_prompt_mode)
    env = settings.cli_env()
    if job.params.max_tokens:
        env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = str(job.params.max_tokens)
    text, resume = plan.prompt, None
    if plan.history:
        try:
            resume = write_transcript(cli_config_dir(env), scratch_dir, plan.history, model)
        except OSError as exc:
            log.warning("cannot write the session transcript (%s); flattening the conversation", exc)
            text = flat_transcript(plan)
    prompt: Prompt = text
    if plan.prompt_images:
        prompt = _one_message(Turn("user", text, plan.prompt_images))
    structured = output_format(job)
    system_prompt = plan.system_prompt
    if tools_active(job.params):
        system_prompt = _with_extra_system(system_prompt, tools_prompt(job.params))
    options = locked_down_options(
        cwd=scratch_dir,
        model=model,
        env=env,
        cli_path=settings.claude_cli_path,
        system_prompt=system_prompt,
        include_partial_messages=True,
        max_turns=3 if structured else 1,
        output_format=structured,
        resume=resume,
        stderr=stderr or log_stderr,
    )
    return options, prompt


async def _one_message(turn: Turn) -> AsyncIterator[dict[str, Any]]:
    """A prompt with content blocks (images), in the SDK's streaming-input shape."""
    yield {
        "type": "user",
        "session_id": "",
        "message": {"role": "user", "content": turn.content()},
        "parent_tool_use_id": None,
    }


def locked_down_options(
    *, cwd: str, model: str, env: dict[str, str], cli_path: str | Path | None, **extra: Any
) -> ClaudeAgentOptions:
    """The one way this service configures the CLI: it never runs a tool for a caller.

    Built-in tools off, nothing auto-allowed, no settings files, no MCP servers,
    an empty scratch working directory, no session files left behind.
    """
    return ClaudeAgentOptions(
        tools=[],
        allowed_tools=[],
        setting_sources=[],
        mcp_servers={},
        strict_mcp_config=True,
        cwd=cwd,
        model=model,
        env=env,
        cli_path=cli_path,
        extra_args={"no-session-persistence": None},
        **extra,
    )


def _with_extra_system(system_prompt: str | dict[str, Any], extra: str) -> str | dict[str, Any]:
    if isinstance(system_prompt, dict):
        return {**system_prompt, "append": f"{system_prompt.get('append', '')}\n\n{extra}".strip()}
    return f"{system_prompt}\n\n{extra}".strip()


def cli_config_dir(env: dict[str, str]) -> Path:
    """The CLAUDE_CONFIG_DIR the CLI will use, from its own environment."""
    if env.get("CLAUDE_CONFIG_DIR"):
        return Path(env["CLAUDE_CONFIG_DIR"])
    home = env.get("HOME") or os.environ.get("HOME") or str(Path.home())
    return Path(home) / ".claude"


def log_stderr(line: str) -> None:
    log.debug("cli stderr: %s", line.rstrip())
