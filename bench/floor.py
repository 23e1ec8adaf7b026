"""The floor: the same request without the service, through `claude_agent_sdk.query` and `claude -p`.

The SDK call uses the worker's own option builder (`worker.cli_run.build_options`):
no tools, no settings files, an empty scratch directory, partial messages on,
the same environment, so the only difference left is the service around it.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from contextlib import aclosing
from pathlib import Path

from loadgen import Sample

from litellm_claude.config.settings import Settings
from litellm_claude.openai_compat.request import ChatCompletionBody, build_job
from litellm_claude.worker.cli_options import build_options


def bundled_cli() -> str:
    import claude_agent_sdk

    return str(Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude")


def cli_path(settings: Settings) -> str:
    return settings.claude_cli_path or bundled_cli()


async def sdk_direct(settings: Settings, model: str, prompt: str, expect: str) -> Sample:
    from claude_agent_sdk import ResultMessage, StreamEvent, query

    body = ChatCompletionBody.model_validate(
        {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": True}
    )
    job = build_job(body, settings=settings)
    sent_at = time.time()
    t0 = time.perf_counter()
    ttft: float | None = None
    parts: list[str] = []
    result: ResultMessage | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sdk-") as scratch:
            options, cli_prompt = build_options(job, job.cli_model, scratch, settings)
            options.stderr = None
            async with aclosing(query(prompt=cli_prompt, options=options)) as messages:
                async for message in messages:
                    if (
                        isinstance(message, StreamEvent)
                        and message.event.get("type") == "content_block_delta"
                    ):
                        delta = message.event.get("delta", {})
                        if delta.get("type") == "text_delta":
                            if ttft is None:
                                ttft = time.perf_counter() - t0
                            parts.append(delta.get("text", ""))
                    elif isinstance(message, ResultMessage):
                        result = message
    except Exception as exc:
        return Sample(False, time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}"[:200])
    total = time.perf_counter() - t0
    text = "".join(parts)
    ok = result is not None and not result.is_error and text == expect
    return Sample(ok, total, ttft, None if ok else f"answer {text[:80]!r}", None, sent_at, time.time())


async def claude_p(settings: Settings, model: str, prompt: str, expect: str) -> Sample:
    """`claude -p PROMPT --output-format json` with the worker's flags and environment."""
    argv = [
        cli_path(settings),
        "-p",
        prompt,
        "--output-format",
        "json",
        "--model",
        model,
        "--system-prompt",
        "",
        "--tools",
        "",
        "--setting-sources",
        "",
        "--strict-mcp-config",
        "--no-session-persistence",
        "--max-turns",
        "1",
    ]
    env = {**os.environ, **settings.cli_env()}
    t0 = time.perf_counter()
    sent_at = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as scratch:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=scratch,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 120)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return Sample(False, time.perf_counter() - t0, error="claude -p timed out")
    total = time.perf_counter() - t0
    try:
        text = json.loads(out)["result"]
    except (ValueError, KeyError, TypeError):
        return Sample(False, total, error=f"exit {proc.returncode}: {(out or err)[:200]!r}")
    ok = text == expect
    return Sample(ok, total, None, None if ok else f"answer {text[:80]!r}", None, sent_at, time.time())


async def cli_version(settings: Settings) -> str:
    proc = await asyncio.create_subprocess_exec(
        cli_path(settings), "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    return out.decode(errors="replace").strip()
