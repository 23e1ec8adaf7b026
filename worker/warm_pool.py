"""A worker's warm CLI processes: run a job on an idle process whose fixed configuration matches it.

The path of a warm job: `serves` (single-turn jobs only; a conversation with
earlier turns takes the cold path, which resumes a session transcript) ->
`run` builds the job's locked-down options exactly as the cold path does, and
their fixed part (model, system prompt and placement, output or
function-calling schema, max output tokens, environment and sign-in, CLI path)
is the key -> an idle process with that key (a hit), else one of that key finishing a job
within WARM_WAIT_S (a hit too: a start costs far more), else a new one (a miss)
-> `CliRun` reads its messages as it reads a cold run's -> a process whose job
ended with a result is reset (`/clear`) in the background and becomes idle; any
other (cancelled, timed out, abandoned for a fallback, crashed) is killed.

A warm process that dies mid-job is replaced by a cold run of the same job;
text the caller already has is not sent twice. Idle processes are bounded per
worker (WARM_MAX_IDLE; the configuration with most processes loses one first), closed after
WARM_IDLE_TTL_S, and recycled after WARM_MAX_JOBS jobs, WARM_MAX_AGE_S
seconds or WARM_MAX_RSS_MB of memory. Busy processes stay under the global CLI
cap and WORKER_MAX_JOBS, as cold ones do. Counters reach /metrics once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import Counter, OrderedDict
from typing import Any, Protocol, TypeVar

from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKError
from redis.asyncio import Redis

from litellm_claude.config.settings import Settings
from litellm_claude.config.signins import SignIn
from litellm_claude.jobs.contract import CompletionJob
from litellm_claude.jobs.redis_down import is_redis_down
from litellm_claude.telemetry.store import MetricsRecorder
from litellm_claude.worker import failures
from litellm_claude.worker.cli_options import build_options
from litellm_claude.worker.cli_run import CliRun, EmitText, RunOutcome, run_cold
from litellm_claude.worker.prompt import plan_prompt
from litellm_claude.worker.warm_session import WarmSession

log = logging.getLogger(__name__)
UNSET_CWD = "/nonexistent/lc-warm"  # replaced by each process's own scratch directory
REAP_INTERVAL_S = 1.0


def config_key(options: ClaudeAgentOptions) -> str:
    """What is fixed for a process's life, as a digest (the environment holds secrets)."""
    fixed: dict[str, Any] = {
        "model": options.model,
        "fallback_model": options.fallback_model,
        "system_prompt": options.system_prompt,
        "output_format": options.output_format,
        "max_turns": options.max_turns,
        "env": sorted(options.env.items()),
        "cli_path": str(options.cli_path or ""),
        "tools": options.tools,
        "allowed_tools": options.allowed_tools,
        "setting_sources": options.setting_sources,
        "extra_args": options.extra_args,
        "partial": options.include_partial_messages,
    }
    return hashlib.sha256(json.dumps(fixed, sort_keys=True, default=str).encode()).hexdigest()


class Keyed(Protocol):
    key: str


K = TypeVar("K", bound=Keyed)


def eviction_victim(idle: list[K], processes: Counter[str], released: K | None = None) -> K:
    """Which process to close when the idle budget is full: one of the configuration with most processes.

    `idle` least recently used first; `processes` counts every live process (busy, resetting,
    idle) per configuration key; `released` a process just back from a job, not reset yet.
    Closing from the configuration with the most processes keeps one warm for as many
    configurations as the budget allows (plain LRU across configurations let a burst of one
    configuration push every other out, and the next job of each started a process again).
    Between configurations with as many, the least recently used loses; within the chosen
    one the process just released goes first (its reset is saved), then the least recently used.
    """
    candidates = [*idle, released] if released is not None else idle
    oldest: dict[str, int] = {}
    for rank, s in enumerate(candidates):
        oldest.setdefault(s.key, rank)
    key = max(oldest, key=lambda k: (processes[k], -oldest[k]))
    if released is not None and released.key == key:
        return released
    return candidates[oldest[key]]


class WarmPool:
    def __init__(
        self,
        settings: Settings,
        redis: Redis | None = None,
        queue: str | None = None,
        *,
        scratch_root: str | None = None,
    ) -> None:
        """`scratch_root`: the worker's (worker/scratch.py); each process works in a directory there."""
        self.settings = settings
        self.scratch_root = scratch_root
        self.enabled = settings.warm_processes and settings.warm_max_idle > 0
        self.redis = redis
        self.queue = queue or settings.queue_name
        self._idle: OrderedDict[WarmSession, None] = OrderedDict()  # least recently used first
        self._resetting: dict[WarmSession, asyncio.Task[bool]] = {}
        self._all: set[WarmSession] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._busy: Counter[str] = Counter()  # processes running a job, per configuration key
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}  # jobs waiting for a busy one
        self._counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._reaper: asyncio.Task[None] | None = None

    # -- the job path ------------------------------------------------------------
    def serves(self, job: CompletionJob) -> bool:
        """Warm path for single-turn jobs; a conversation with earlier turns runs cold."""
        if not self.enabled:
            return False
        if plan_prompt(job.messages, system_mode=self.settings.system_prompt_mode).history:
            self._count("lc_warm_jobs_total", result="cold")
            return False
        return True

    async def run(
        self,
        job: CompletionJob,
        model: str,
        emit_text: EmitText,
        *,
        may_fall_back: bool,
        signin: SignIn | None = None,
        limit_events: list[dict[str, Any]] | None = None,
    ) -> RunOutcome:
        """Run `job` on a warm process of its configuration (the sign-in's environment included)."""
        settings = self.settings
        cold: dict[str, Any] = {
            "scratch_root": self.scratch_root,
            "signin": signin,
            "limit_events": limit_events,
        }
        options, prompt = build_options(job, model, UNSET_CWD, settings, signin=signin)
        if self.scratch_root:
            options.env["TMPDIR"] = self.scratch_root  # the CLI's own temporary files go with the worker
        key = config_key(options)
        session = await self._take(key, options)
        if session is None:  # no warm process could start: today's path, with its error reporting
            return await run_cold(job, model, settings, emit_text, may_fall_back=may_fall_back, **cold)
        self._busy[key] += 1
        run = CliRun(job, model, settings, emit_text, may_fall_back=may_fall_back, limit_events=limit_events)
        session.stderr_sink = run.state.stderr_line
        verdict, early = "cancelled", None
        try:
            try:
                early = await run.read(session.ask(prompt), session.kill)
                died = early is None and run.state.result is None
            except ClaudeSDKError as exc:
                log.warning("warm CLI process failed mid-job: %s", exc)
                died = True
            if died:
                verdict = "crashed"
            elif early is not None:
                kind = early.failure.kind if early.failure else ""
                verdict = "inactivity" if kind == "inactivity" else "abandoned"
            else:
                verdict = "reuse"
        finally:
            session.stderr_sink = None
            self._busy[key] -= 1
            if self._busy[key] <= 0:
                del self._busy[key]
            if verdict == "reuse":
                self._release(session)
            else:
                self._discard(session, verdict, killed=True)
            self._wake(key)
        if verdict == "crashed":
            return await self._rerun_cold(job, model, run, emit_text, may_fall_back, cold)
        if early is not None:
            return early
        return await run.finish()

    async def _rerun_cold(
        self,
        job: CompletionJob,
        model: str,
        run: CliRun,
        emit_text: EmitText,
        may_fall_back: bool,
        cold: dict[str, Any],
    ) -> RunOutcome:
        """The warm process died mid-job: run it again on a fresh process, as a re-run job would."""
        replay = _Replay(run.sent, emit_text)
        outcome = await run_cold(job, model, self.settings, replay, may_fall_back=may_fall_back, **cold)
        if replay.diverged:
            detail = "the answer changed when the job was run again"
            return RunOutcome(failure=failures.failure("cli_crash", detail), emitted_text=True)
        outcome.emitted_text = outcome.emitted_text or bool(run.sent)
        return outcome

    # -- taking and giving back processes ---------------------------------------------
    async def _take(self, key: str, options: ClaudeAgentOptions) -> WarmSession | None:
        session = self._idle_match(key) or await self._claim_resetting(key)
        if session is None:
            session = await self._wait_for_busy(key)
        if session is not None:
            self._count("lc_warm_jobs_total", result="hit")
            log.info("running on a warm CLI process (%d jobs so far)", session.jobs)
            return session
        self._count("lc_warm_jobs_total", result="miss")
        log.info("starting a warm CLI process for this job's configuration")
        while self._idle and len(self._idle) >= self.settings.warm_max_idle:
            self._discard(self._victim(), "evicted")
        session = WarmSession(key, scratch_root=self.scratch_root)
        self._all.add(session)
        try:
            await session.start(options)
        except asyncio.CancelledError:
            self._discard(session, "cancelled", killed=True)
            raise
        except Exception as exc:  # the SDK raises a bare Exception when `initialize` times out
            log.warning("a warm CLI process did not start (%s); running the job cold", exc)
            self._discard(session, "start_failed", killed=True)
            return None
        self._count("lc_warm_processes_started_total")
        return session

    def _idle_match(self, key: str) -> WarmSession | None:
        """The most recently used idle process of this key (dead ones found on the way are closed)."""
        for session in [s for s in reversed(self._idle) if s.key == key]:
            del self._idle[session]
            if session.alive():
                session.thaw()
                return session
            self._discard(session, "died", killed=True)
        return None

    async def _claim_resetting(self, key: str) -> WarmSession | None:
        """A process of this key still resetting after its last job: waiting beats a new start."""
        session = next((s for s, _ in self._resetting.items() if s.key == key and not s.claimed), None)
        if session is None:
            return None
        task = self._resetting[session]
        session.claimed = True
        try:
            ok = await asyncio.shield(task)
        except asyncio.CancelledError:
            session.claimed = False
            if task.done() and not task.cancelled() and task.result():
                self._make_idle(session)
            raise
        session.claimed = False  # it is this job's now (busy), no longer waited for
        return session if ok else None

    async def _wait_for_busy(self, key: str) -> WarmSession | None:
        """Wait up to WARM_WAIT_S for a busy process of this key; waiting jobs take them in turn.

        A warm job takes tens of milliseconds and a start about a second of CPU, so a job
        that can be served within the wait by a process finishing is served sooner and
        cheaper than by a start; one that cannot (long answers, a deep burst) starts one.
        """
        if self.settings.warm_wait_s <= 0 or self._busy[key] == 0:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.warm_wait_s
        while self._busy[key] > 0:
            woken: asyncio.Future[None] = loop.create_future()
            waiters = self._waiters.setdefault(key, [])
            waiters.append(woken)
            try:
                async with asyncio.timeout_at(deadline):
                    await woken
            except TimeoutError:
                self._count("lc_warm_waits_total", outcome="timed_out")
                return None
            finally:
                if woken in waiters:
                    waiters.remove(woken)
                if not waiters and self._waiters.get(key) is waiters:
                    del self._waiters[key]  # no entry is kept for a configuration nobody waits for
            session = self._idle_match(key) or await self._claim_resetting(key)
            if session is not None:
                self._count("lc_warm_waits_total", outcome="taken")
                return session
        self._count("lc_warm_waits_total", outcome="none_left")  # the busy ones failed and were closed
        return None

    def _wake(self, key: str) -> None:
        """A busy process of this key finished (kept or closed): let the first waiting job look."""
        waiters = self._waiters.get(key)
        while waiters:
            woken = waiters.pop(0)
            if not woken.done():
                woken.set_result(None)
                return

    def _release(self, session: WarmSession) -> None:
        """A job ended cleanly: recycle the process, or reset it in the background and keep it."""
        session.jobs += 1
        session.last_used = time.monotonic()
        reason = self._recycle_reason(session)
        if reason:
            self._discard(session, reason)
            return
        waited_for = bool(self._waiters.get(session.key))  # a job will take it at once: not idle
        while not waited_for and len(self._idle) + len(self._resetting) >= self.settings.warm_max_idle:
            victim = self._victim(session)
            self._discard(victim, "evicted")
            if victim is session:  # closing it saves its reset
                return
        self._resetting[session] = asyncio.create_task(self._reset(session))

    async def _reset(self, session: WarmSession) -> bool:
        ok = await session.reset()
        self._resetting.pop(session, None)
        if not ok:
            self._discard(session, "reset_failed", killed=True)
            return False
        if not session.claimed:
            self._make_idle(session)
        return True

    def _make_idle(self, session: WarmSession) -> None:
        session.claimed = False
        self._idle[session] = None
        while len(self._idle) > self.settings.warm_max_idle:
            self._discard(self._victim(), "evicted")

    def _victim(self, released: WarmSession | None = None) -> WarmSession:
        """The process to close when the idle budget is full (see `eviction_victim`)."""
        return eviction_victim(list(self._idle), Counter(s.key for s in self._all), released)

    def _recycle_reason(self, session: WarmSession) -> str | None:
        settings = self.settings
        if session.jobs >= settings.warm_max_jobs:
            return "jobs"
        if time.monotonic() - session.started >= settings.warm_max_age_s:
            return "age"
        if session.rss_mb() > settings.warm_max_rss_mb:
            return "memory"
        return None

    def _discard(self, session: WarmSession, reason: str, *, killed: bool = False) -> None:
        """Close a process (killed: its state was uncertain, or it failed)."""
        self._idle.pop(session, None)
        self._all.discard(session)
        session.kill()
        name = "lc_warm_processes_killed_total" if killed else "lc_warm_processes_recycled_total"
        self._count(name, reason=reason)
        log.info("warm CLI process %s: %s", "killed" if killed else "closed", reason)
        task = asyncio.create_task(session.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # -- housekeeping ------------------------------------------------------------------
    def start(self) -> None:
        """Start housekeeping (idle TTL, dead processes, counters to /metrics); in the worker's loop."""
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap_forever())

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(min(REAP_INTERVAL_S, self.settings.warm_idle_ttl_s / 4))
            try:
                self.reap()
                await self.flush_metrics()
            except Exception as exc:  # never let housekeeping die
                if is_redis_down(exc):  # the supervisor logs the outage; counters go with the next flush
                    log.debug("warm pool counters kept for later: Redis is away")
                else:
                    log.exception("warm pool housekeeping failed")

    def reap(self) -> None:
        """Close idle processes that died, outlived the idle TTL or their maximum age; freeze the rest.

        A process idle for WARM_FREEZE_AFTER_S is stopped (SIGSTOP) until a job takes it: waiting,
        a CLI still spends 2-3% of a core (timers, garbage collection), and a worker holds up to
        WARM_MAX_IDLE of them. Its first job after a freeze answers ~0.1 s later.
        """
        now = time.monotonic()
        freeze_after = self.settings.warm_freeze_after_s
        for session in list(self._idle):
            if not session.alive():
                self._discard(session, "died", killed=True)
            elif now - session.last_used >= self.settings.warm_idle_ttl_s:
                self._discard(session, "idle_ttl")
            elif now - session.started >= self.settings.warm_max_age_s:
                self._discard(session, "age")
            elif freeze_after > 0 and not session.frozen and now - session.last_used >= freeze_after:
                session.freeze()
                self._count("lc_warm_processes_frozen_total")

    def _count(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        self._counts[key] = self._counts.get(key, 0.0) + amount

    async def flush_metrics(self) -> None:
        if self.redis is None or not self._counts:
            return
        counts, self._counts = self._counts, {}
        recorder = MetricsRecorder(self.redis, self.queue)
        for (name, labels), amount in counts.items():
            recorder.inc(name, amount, labels=dict(labels) or None)
        try:
            await recorder.flush()
        except Exception:
            for key, amount in counts.items():  # not lost: sent with the next flush
                self._counts[key] = self._counts.get(key, 0.0) + amount
            raise

    async def close(self) -> None:
        """Worker shutdown: close every process, idle or not, and flush the counters."""
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for task in list(self._resetting.values()):
            task.cancel()
        for session in list(self._all | set(self._idle) | set(self._resetting)):
            self._discard(session, "shutdown")
        self._resetting.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.flush_metrics()

    async def settled(self) -> None:
        """Return once no process is being reset (what is left is idle)."""
        while self._resetting:
            await asyncio.gather(*list(self._resetting.values()), return_exceptions=True)

    def stats(self) -> dict[str, int]:
        return {"idle": len(self._idle), "resetting": len(self._resetting), "alive": len(self._all)}


class _Replay:
    """Emit a re-run's text, skipping what the caller already has; note when it diverges."""

    def __init__(self, sent: str, emit_text: EmitText) -> None:
        self.pending = sent
        self.emit_text = emit_text
        self.diverged = False

    async def __call__(self, text: str, model: str | None = None) -> None:
        if self.diverged:
            return
        if self.pending:
            overlap = min(len(self.pending), len(text))
            if text[:overlap] != self.pending[:overlap]:
                self.diverged = True
                return
            self.pending, text = self.pending[overlap:], text[overlap:]
        if text:
            await self.emit_text(text, model)
