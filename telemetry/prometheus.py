"""Render the pool's metrics in Prometheus text format (version 0.0.4)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from redis.asyncio import Redis

from litellm_claude.jobs import keys
from litellm_claude.jobs.accounts import read_accounts
from litellm_claude.telemetry.store import BUCKETS

HISTOGRAMS = {
    "lc_job_duration_seconds": "Time from a worker starting a job to its end.",
    "lc_queue_wait_seconds": "Time from enqueueing a job to a worker starting it.",
    "lc_time_to_first_token_seconds": "Time from enqueueing a job to its first streamed text.",
}
COUNTER_HELP = {
    "lc_jobs_total": "Finished jobs by outcome and error code.",
    "lc_fallbacks_total": "Jobs answered by a fallback model.",
    "lc_tokens_total": "Tokens reported by the CLI, by kind.",
    "lc_cost_usd_total": "Cost reported by the CLI, in USD.",
    "lc_bulk_holds_total": "Times bulk work was put back to wait (sign-ins above BULK_PAUSE_AT_UTILIZATION).",
}


def _name(field: str) -> str:
    return field.split("{", 1)[0]


async def render(redis: Redis, queue: str, signins: Sequence[tuple[str, str]] = ()) -> str:
    lines: list[str] = []
    counters = {k.decode(): float(v) for k, v in (await redis.hgetall(keys.metrics_counters(queue))).items()}
    for name, help_text in COUNTER_HELP.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
        lines += [f"{field} {value:g}" for field, value in sorted(counters.items()) if _name(field) == name]
    for name, help_text in HISTOGRAMS.items():
        raw = {
            k.decode(): float(v)
            for k, v in (await redis.hgetall(keys.metrics_histogram(queue, name))).items()
        }
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        for bound in BUCKETS:
            lines.append(f'{name}_bucket{{le="{bound}"}} {raw.get(f"le_{bound}", 0):g}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {raw.get("le_+Inf", 0):g}')
        lines.append(f"{name}_sum {raw.get('sum', 0):g}")
        lines.append(f"{name}_count {raw.get('count', 0):g}")
    lines += ["# HELP lc_queue_depth Jobs waiting or running in a queue.", "# TYPE lc_queue_depth gauge"]
    lines.append(f'lc_queue_depth{{queue="{queue}"}} {await redis.zcard(queue)}')
    now_ms = int(time.time() * 1000)
    cli = await redis.zcount(keys.cli_slots(queue), now_ms, "+inf")
    lines += [
        "# HELP lc_cli_processes CLI processes running across all workers.",
        "# TYPE lc_cli_processes gauge",
        f"lc_cli_processes {cli}",
    ]
    lines += await _account_lines(redis, queue, signins)
    return "\n".join(lines) + "\n"


async def _account_lines(redis: Redis, queue: str, signins: Sequence[tuple[str, str]]) -> list[str]:
    """Per sign-in and window: utilization, reset time, and seconds left in a cooldown."""
    now = time.time()
    states = await read_accounts(redis, queue, signins)
    lines = [
        "# HELP lc_account_utilization Latest utilization (0-1) of a sign-in's limit window.",
        "# TYPE lc_account_utilization gauge",
    ]
    resets = [
        "# HELP lc_account_window_reset_timestamp_seconds When a sign-in's limit window resets.",
        "# TYPE lc_account_window_reset_timestamp_seconds gauge",
    ]
    cooling = [
        "# HELP lc_account_cooldown_seconds Seconds until a limited sign-in scope may be used again.",
        "# TYPE lc_account_cooldown_seconds gauge",
    ]
    for state in states:
        for window in sorted((w for w in state.windows.values() if w.current(now)), key=lambda w: w.window):
            labels = f'signin="{state.name}",window="{window.window}"'
            if window.utilization is not None:
                lines.append(f"lc_account_utilization{{{labels}}} {window.utilization:g}")
            if window.reset_at is not None:
                resets.append(f"lc_account_window_reset_timestamp_seconds{{{labels}}} {window.reset_at:g}")
        for cooldown in state.cooldowns.values():
            if cooldown.reset_at > now:
                labels = f'signin="{state.name}",scope="{cooldown.scope}",window="{cooldown.window}"'
                cooling.append(f"lc_account_cooldown_seconds{{{labels}}} {cooldown.reset_at - now:.0f}")
    active = sum(1 for state in states for c in state.cooldowns.values() if c.reset_at > now)
    return [
        *lines,
        *resets,
        *cooling,
        "# HELP lc_cooldowns_active Sign-in scopes (account or model family) skipped until a limit resets.",
        "# TYPE lc_cooldowns_active gauge",
        f"lc_cooldowns_active {active}",
    ]
