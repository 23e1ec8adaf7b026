"""Render the pool's metrics in Prometheus text format (version 0.0.4).

Counters and histograms come from Redis (`store`: every worker's and every API
process's figures added up); gauges are read live at scrape time. Caller hashes
are shown by their configured name (CALLER_LABELS) where one is set.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence

from redis.asyncio import Redis

from litellm_claude.jobs import keys, workers
from litellm_claude.jobs.accounts import read_accounts
from litellm_claude.jobs.connection import reply
from litellm_claude.telemetry.labels import caller_names
from litellm_claude.telemetry.store import BUCKETS, label_text, series

HISTOGRAMS = {
    "lc_job_duration_seconds": "Time from a worker starting a job to its end, by model, priority and caller.",
    "lc_queue_wait_seconds": "Time from enqueueing a job to a worker starting it, "
    "by model, priority and caller.",
    "lc_time_to_first_token_seconds": "Time from enqueueing a job to its first streamed text, "
    "by model, priority and caller.",
}
COUNTER_HELP = {
    "lc_jobs_total": "Finished jobs by model, priority, caller, outcome and error code.",
    "lc_fallbacks_total": "Jobs answered by a fallback model, by model, priority and caller.",
    "lc_tokens_total": "Tokens reported by the CLI, by kind, model, priority and caller.",
    "lc_cost_usd_total": "Cost reported by the CLI in USD, by model, priority and caller.",
    "lc_bulk_holds_total": "Times bulk work was put back to wait (sign-ins above BULK_PAUSE_AT_UTILIZATION).",
    "lc_warm_jobs_total": "CLI runs by path: warm hit, warm miss (a process started), cold.",
    "lc_warm_processes_started_total": "Warm CLI processes started.",
    "lc_warm_processes_frozen_total": "Idle warm CLI processes stopped until a job takes them.",
    "lc_warm_waits_total": "Jobs that waited for a busy warm process of their configuration (WARM_WAIT_S), "
    "by outcome: taken, timed_out (a process was started), none_left.",
    "lc_warm_processes_recycled_total": "Warm CLI processes closed in good order, by reason.",
    "lc_warm_processes_killed_total": "Warm CLI processes killed (state uncertain or failed), by reason.",
}
HTTP_HELP = {
    "lc_http_requests_total": "HTTP requests answered by the API, by method, route template and status."
}
_SERIES = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def parse_labels(text: str) -> dict[str, str]:
    return dict(_LABEL.findall(text))


def _decode(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _counters(redis: Redis, key: str, names: Mapping[str, str]) -> dict[str, float]:
    """series -> value, callers renamed (series that end up equal are added)."""
    out: dict[str, float] = defaultdict(float)
    for raw_field, raw_value in (await reply(redis.hgetall(key))).items():
        field = _decode(raw_field)
        match = _SERIES.match(field)
        if match is None:
            continue
        labels = caller_names(parse_labels(match["labels"] or ""), names)
        out[series(match["name"], labels)] += float(raw_value)
    return out


def _counter_lines(counters: Mapping[str, float], help_texts: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    for name, help_text in help_texts.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
        lines += [
            f"{field} {value:g}"
            for field, value in sorted(counters.items())
            if field.split("{", 1)[0] == name
        ]
    return lines


async def _histogram_lines(redis: Redis, queue: str, name: str, names: Mapping[str, str]) -> list[str]:
    groups: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for raw_field, raw_value in (await reply(redis.hgetall(keys.metrics_histogram(queue, name)))).items():
        labels, _, part = _decode(raw_field).rpartition("|")
        renamed = label_text(caller_names(parse_labels(labels), names))
        groups[renamed][part] += float(raw_value)
    if not groups:
        groups[""] = defaultdict(float)
    lines = [f"# HELP {name} {HISTOGRAMS[name]}", f"# TYPE {name} histogram"]
    for labels, parts in sorted(groups.items()):
        prefix = f"{labels}," if labels else ""
        braces = f"{{{labels}}}" if labels else ""
        for bound in BUCKETS:
            lines.append(f'{name}_bucket{{{prefix}le="{bound}"}} {parts.get(f"le_{bound}", 0):g}')
        lines.append(f'{name}_bucket{{{prefix}le="+Inf"}} {parts.get("le_+Inf", 0):g}')
        lines.append(f"{name}_sum{braces} {parts.get('sum', 0):g}")
        lines.append(f"{name}_count{braces} {parts.get('count', 0):g}")
    return lines


def _gauge(name: str, help_text: str, value: float, labels: Mapping[str, str] | None = None) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{series(name, labels)} {value:g}"]


async def render(
    redis: Redis,
    queue: str,
    signins: Sequence[tuple[str, str]] = (),
    *,
    caller_labels: Mapping[str, str] | None = None,
) -> str:
    names = caller_labels or {}
    lines = _counter_lines(await _counters(redis, keys.metrics_counters(queue), names), COUNTER_HELP)
    for name in HISTOGRAMS:
        lines += await _histogram_lines(redis, queue, name, names)
    lines += _counter_lines(await _counters(redis, keys.http_requests(queue), names), HTTP_HELP)

    depth = int(await redis.zcard(queue))
    live = await workers.count(redis, queue)
    running = min(depth, live.running)
    on_queue = {"queue": queue}
    lines += _gauge("lc_queue_depth", "Jobs in the queue, waiting or running.", depth, on_queue)
    lines += _gauge("lc_jobs_waiting", "Jobs waiting for a worker.", depth - running, on_queue)
    lines += _gauge("lc_jobs_running", "Jobs a worker has taken and not finished.", running, on_queue)
    lines += _gauge(
        "lc_workers_live",
        "Workers whose heartbeat is current (1 if only arq's health check shows one).",
        max(live.workers, 1 if live.arq_only else 0),
        on_queue,
    )
    now_ms = int(time.time() * 1000)
    cli = await redis.zcount(keys.cli_slots(queue), now_ms, "+inf")
    lines += _gauge("lc_cli_processes", "CLI processes running across all workers.", cli)
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
