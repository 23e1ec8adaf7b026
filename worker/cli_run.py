"""One Claude Code CLI run through the Claude Agent SDK, its messages turned into job events.

Options come from `cli_options` (locked down: the CLI never runs a tool for a
caller). A job runs on a warm process of `warm_pool` when it serves the job,
else on a fresh process of its own (`run_cold`); `CliRun` reads either.
Text deltas are emitted as they arrive; trouble worth a fallback is
spotted early; the CLI's process tree is killed at once on cancellation,
timeout or silence; the scratch directory and session transcript are removed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from claude_agent_sdk import (
    AssistantMessage,
    ClaudeSDKError,
    Message,
    RateLimitEvent,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    TextBlock,
    ToolUseBlock,
    query,
)

from litellm_claude.config.settings import Settings
from litellm_claude.config.signins import SignIn, cli_config_dir
from litellm_claude.jobs.contract import CompletionJob, FinishReason, ResultEvent, Usage
from litellm_claude.worker import failures, limits
from litellm_claude.worker.cli_options import build_options, log_stderr, output_format
from litellm_claude.worker.failures import Failure
from litellm_claude.worker.function_calling import decision_result, tools_active
from litellm_claude.worker.notice_guard import NoticeGuard
from litellm_claude.worker.process_tree import kill_tree_in
from litellm_claude.worker.scratch import scratch_dir
from litellm_claude.worker.stop_sequences import StopScanner, apply_stops
from litellm_claude.worker.transcript import remove_transcripts

if TYPE_CHECKING:
    from litellm_claude.worker.warm_pool import WarmPool

log = logging.getLogger(__name__)

# (text, the model answering once the CLI has said which, else None)
EmitText = Callable[[str, str | None], Awaitable[None]]
SYNTHETIC_MODEL = "<synthetic>"
FALLBACK_STATUSES = (429, 529)


@dataclass(slots=True)
class RunOutcome:
    result: ResultEvent | None = None
    failure: Failure | None = None
    emitted_text: bool = False


@dataclass(slots=True)
class _RunState:
    model: str
    text_parts: list[str] = field(default_factory=list)
    answered_model: str | None = None
    assistant_failure: Failure | None = None
    tool_uses: list[str] = field(default_factory=list)  # tools the model called (none is offered)
    result: ResultMessage | None = None
    emitted: bool = False
    stderr_tail: list[str] = field(default_factory=list)

    def stderr_line(self, line: str) -> None:
        log_stderr(line)
        self.stderr_tail = [*self.stderr_tail[-19:], line.rstrip()]


async def run_cli(
    job: CompletionJob,
    model: str,
    settings: Settings,
    emit_text: EmitText,
    *,
    may_fall_back: bool,
    scratch_root: str | None = None,
    signin: SignIn | None = None,
    limit_events: list[dict[str, Any]] | None = None,
    warm: WarmPool | None = None,
) -> RunOutcome:
    """Run `job` on `model`; stream text through `emit_text` as it arrives.

    A job the warm pool serves runs on a warm process (`warm_pool`); any other
    starts a fresh CLI process of its own (the cold path). `signin` picks the
    credential (default: the deployment's environment); the raw `rate_limit_event`s
    of the run are appended to `limit_events`.
    """
    if warm is not None and warm.serves(job):
        return await warm.run(
            job, model, emit_text, may_fall_back=may_fall_back, signin=signin, limit_events=limit_events
        )
    return await run_cold(
        job,
        model,
        settings,
        emit_text,
        may_fall_back=may_fall_back,
        scratch_root=scratch_root,
        signin=signin,
        limit_events=limit_events,
    )


async def run_cold(
    job: CompletionJob,
    model: str,
    settings: Settings,
    emit_text: EmitText,
    *,
    may_fall_back: bool,
    scratch_root: str | None = None,
    signin: SignIn | None = None,
    limit_events: list[dict[str, Any]] | None = None,
) -> RunOutcome:
    """Run a fresh CLI process for `job`; it ends with the job."""
    run = CliRun(job, model, settings, emit_text, may_fall_back=may_fall_back, limit_events=limit_events)
    with scratch_dir(scratch_root) as scratch:
        options, prompt = build_options(job, model, scratch, settings, run.state.stderr_line, signin=signin)
        if scratch_root:
            options.env["TMPDIR"] = scratch_root  # the CLI's own temporary files go when the worker does
        try:
            # claude-agent-sdk annotates `query`, an async generator, as an AsyncIterator
            messages_gen = cast("AsyncGenerator[Message, None]", query(prompt=prompt, options=options))
            async with aclosing(messages_gen) as messages:
                early = await run.read(messages, lambda: kill_tree_in(scratch))
                if early is not None:
                    return early
        except ClaudeSDKError as exc:
            crashed = run.crashed(exc)
            if crashed is not None:
                return crashed
        finally:
            if options.resume:
                remove_transcripts(cli_config_dir(options.env), scratch)
    return await run.finish()


class CliRun:
    """One job's reading of a CLI's messages: early trouble, filtered text, the final outcome."""

    def __init__(
        self,
        job: CompletionJob,
        model: str,
        settings: Settings,
        emit_text: EmitText,
        *,
        may_fall_back: bool,
        limit_events: list[dict[str, Any]] | None = None,
    ) -> None:
        self.job = job
        self.events = limit_events if limit_events is not None else []  # raw rate_limit_events
        self.state = _RunState(model=model)
        self.stops = StopScanner(job.params.stop)
        self.notice = NoticeGuard()
        self.structured = output_format(job) is not None
        self.inactivity_s = settings.inactivity_timeout_s
        self.may_fall_back = may_fall_back
        self._emit_text = emit_text
        self.sent = ""  # text already handed to `emit_text`

    async def emit(self, text: str) -> None:
        self.state.emitted = True
        self.sent += text
        await self._emit_text(text, self.state.answered_model)

    async def read(self, messages: AsyncIterator[object], kill: Callable[[], object]) -> RunOutcome | None:
        """Read `messages` to their end (None) or to early trouble (its outcome; the CLI is killed).

        Cancellation and silence kill the CLI too: it must not outlive the job.
        """
        clean = False
        try:
            async for message in _guarded(messages, self.inactivity_s, kill):
                if isinstance(message, RateLimitEvent):
                    self.events.append(limits.event_raw(message.rate_limit_info))
                early = _early_failure(message, self.may_fall_back)
                if early is not None:
                    return RunOutcome(failure=early, emitted_text=self.state.emitted)
                text = _observe(message, self.state)
                if text and not self.structured:
                    safe = self.stops.feed(self.notice.feed(text))
                    if safe:
                        await self.emit(safe)
            clean = True
        except TimeoutError:
            return RunOutcome(failure=failures.failure("inactivity"), emitted_text=self.state.emitted)
        finally:
            if not clean:
                kill()
        return None

    def crashed(self, exc: ClaudeSDKError) -> RunOutcome | None:
        """The outcome of a run the SDK gave up on, unless its result had already arrived."""
        if self.state.result is not None:
            return None
        failure = (
            self.state.assistant_failure
            or failures.from_cli_stderr(self.state.stderr_tail)
            or failures.failure("cli_crash", type(exc).__name__)
        )
        log.warning("cli run failed: %s", exc)
        return RunOutcome(failure=failure, emitted_text=self.state.emitted)

    async def finish(self) -> RunOutcome:
        """The job's outcome once the CLI's messages have ended; the held-back tail is emitted."""
        tail = "" if self.structured else self.stops.feed(self.notice.flush()) + self.stops.flush()
        if tail:
            await self.emit(tail)
        outcome = _finish(self.job, self.state, stopped=self.stops.stopped, structured=self.structured)
        if outcome.failure is not None and outcome.failure.kind == "usage_limit":
            # the structured event, when one came, says more than the text
            hit = next((h for raw in self.events if (h := limits.hit_from_event(raw))), None)
            if hit is not None:
                outcome.failure = failures.limit_failure(hit)
        if self.structured and outcome.result is not None and outcome.result.text:
            # structured answers are complete only at the end: stream them as one delta
            await self.emit(outcome.result.text)
            outcome.emitted_text = True
        return outcome


async def _guarded(
    messages: AsyncIterator[object], limit_s: float, kill: Callable[[], object]
) -> AsyncIterator[object]:
    """Yield the CLI's messages; kill the CLI at once on cancellation or `limit_s` of silence.

    Each message is awaited in a task of its own, so a cancellation reaches this
    code (which kills the process) before the SDK's own cleanup, which would
    otherwise wait seconds for a graceful exit first.
    """
    iterator = aiter(messages)
    while True:
        pending: asyncio.Future[object] = asyncio.ensure_future(anext(iterator))
        try:
            done, _ = await asyncio.wait({pending}, timeout=limit_s)
        except asyncio.CancelledError:
            await _abandon(pending, kill)
            raise
        if not done:
            await _abandon(pending, kill)
            raise TimeoutError
        try:
            message = pending.result()
        except StopAsyncIteration:
            return
        yield message


async def _abandon(pending: asyncio.Future[object], kill: Callable[[], object]) -> None:
    """Kill the CLI, then let the SDK's pending read finish (quickly: its process is gone)."""
    kill()
    pending.cancel()
    await asyncio.wait({pending})


def _early_failure(message: object, may_fall_back: bool) -> Failure | None:
    """Trouble worth abandoning this model for at once, before the CLI's own retries."""
    if isinstance(message, RateLimitEvent) and message.rate_limit_info.status == "rejected":
        # a subscription window refused: the account (or family) is limited until its reset
        hit = limits.hit_from_event(limits.event_raw(message.rate_limit_info))
        return failures.limit_failure(hit) if hit else None
    if not may_fall_back:
        return None
    if isinstance(message, SystemMessage) and message.subtype == "api_retry":
        status = message.data.get("error_status")
        if status in FALLBACK_STATUSES:
            return failures.from_status(int(status))
    return None


def _observe(message: object, state: _RunState) -> str | None:
    """Update the run state from one SDK message; return new answer text, if any."""
    if isinstance(message, StreamEvent) and message.parent_tool_use_id is None:
        event = message.event
        if event.get("type") == "message_start":
            state.answered_model = event.get("message", {}).get("model") or state.answered_model
        if event.get("type") == "content_block_delta":
            delta = event.get("delta", {})
            if delta.get("type") == "text_delta":
                state.text_parts.append(delta.get("text", ""))
                return str(delta.get("text", ""))
    elif isinstance(message, AssistantMessage):
        if message.model and message.model != SYNTHETIC_MODEL:
            state.answered_model = message.model
        state.tool_uses += [b.name for b in message.content if isinstance(b, ToolUseBlock)]
        if message.error:
            text = "".join(b.text for b in message.content if isinstance(b, TextBlock))
            state.assistant_failure = failures.from_assistant_error(message.error, text)
    elif isinstance(message, ResultMessage):
        state.result = message
    return None


def _finish(job: CompletionJob, state: _RunState, *, stopped: bool, structured: bool) -> RunOutcome:
    result = state.result
    if result is None:
        failure = state.assistant_failure or failures.failure("cli_crash", "no result")
        return RunOutcome(failure=failure, emitted_text=state.emitted)
    text = result.result or "".join(state.text_parts)
    limited = failures.usage_limit(text) if not state.emitted or result.is_error else None
    if limited is None and state.assistant_failure is not None and result.is_error:
        limited = state.assistant_failure if state.assistant_failure.kind == "usage_limit" else None
    if limited:
        return RunOutcome(failure=limited, emitted_text=state.emitted)
    if result.is_error and result.subtype != "error_max_turns":
        failure = state.assistant_failure or _result_failure(result)
        return RunOutcome(failure=failure, emitted_text=state.emitted)
    if structured:
        if result.structured_output is None:
            return RunOutcome(failure=failures.failure("invalid_output"))
        if tools_active(job.params):
            text, tool_calls = decision_result(result.structured_output)
        else:
            text, tool_calls = json.dumps(result.structured_output, ensure_ascii=False), None
    else:
        text = "".join(state.text_parts) or text
        if not text and state.tool_uses:
            # the CLI's tools are off: a bare tool call is no answer, not an empty success
            names = ", ".join(sorted(set(state.tool_uses)))
            return RunOutcome(failure=failures.failure("tool_use_only", names), emitted_text=state.emitted)
        if job.params.stop:
            text, _ = apply_stops(text, job.params.stop)
        tool_calls = None
    finish: FinishReason = "length" if result.stop_reason == "max_tokens" and not stopped else "stop"
    if tool_calls:
        finish = "tool_calls"
    return RunOutcome(
        result=ResultEvent(
            text=text,
            finish_reason=finish,
            model=state.answered_model or state.model,
            usage=_usage(result),
            tool_calls=tool_calls,
            duration_ms=result.duration_ms,
        ),
        emitted_text=state.emitted,
    )


def _result_failure(result: ResultMessage) -> Failure:
    if result.api_error_status:
        return failures.from_status(result.api_error_status)
    if result.subtype == "error_max_turns":
        return failures.failure("max_turns")
    return failures.from_text(result.result or "") or failures.failure("cli_crash", result.subtype)


def _usage(result: ResultMessage) -> Usage:
    raw = result.usage or {}
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        cache_read_input_tokens=int(raw.get("cache_read_input_tokens") or 0),
        cache_creation_input_tokens=int(raw.get("cache_creation_input_tokens") or 0),
        total_cost_usd=result.total_cost_usd,
    )
