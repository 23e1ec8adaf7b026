"""Render the pool's metrics in Prometheus text format (version 0.0.4)."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from litellm_claude.jobs import keys
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
    "lc_warm_jobs_total": "CLI runs by path: warm hit, warm miss (a process started), cold.",
    "lc_warm_processes_started_total": "Warm CLI processes started.",
    "lc_warm_processes_recycled_total": "Warm CLI processes closed in good order, by reason.",
    "lc_warm_processes_killed_total": "Warm CLI processes killed (state uncertain or failed), by reason.",
}


def _name(field: str) -> str:
    return field.split("{", 1)[0]


async def render(redis: Redis, queue: str) -> str:
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
    cooldowns = [k async for k in redis.scan_iter(match=keys.cooldown(queue, "*"), count=100)]
    lines += [
        "# HELP lc_cli_processes CLI processes running across all workers.",
        "# TYPE lc_cli_processes gauge",
        f"lc_cli_processes {cli}",
        "# HELP lc_cooldowns_active Models skipped until their usage limit resets.",
        "# TYPE lc_cooldowns_active gauge",
        f"lc_cooldowns_active {len(cooldowns)}",
    ]
    return "\n".join(lines) + "\n"
