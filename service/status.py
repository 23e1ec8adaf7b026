"""`litellm-claude status`: the queue, workers, CLI processes, cooldowns, failures and batches.

Reads Redis directly (REDIS_URL and QUEUE_NAME, as the workers do), so it works
while the API is down. `--json` prints the snapshot (telemetry.snapshot) as one
JSON object; `--watch` redraws it in place until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from types import FrameType

from redis.asyncio import Redis
from redis.exceptions import RedisError
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from litellm_claude.config.settings import Settings
from litellm_claude.config.signins import load_signins
from litellm_claude.jobs.connection import async_client
from litellm_claude.service.doctor import redact_url
from litellm_claude.telemetry.snapshot import Snapshot, TimelinePoint, take_snapshot

SPARK = " ▁▂▃▄▅▆▇█"


async def read_snapshot(redis: Redis, settings: Settings) -> Snapshot:
    signins = [(s.name, s.kind) for s in load_signins(settings)]
    return await take_snapshot(redis, settings.queue_name, signins=signins, cli_cap=settings.global_max_cli)


def run_status(settings: Settings, *, as_json: bool, watch: bool, interval: float) -> int:
    if not settings.redis_url:
        print(
            "status reads the workers' Redis: set REDIS_URL (and QUEUE_NAME) as for `litellm-claude worker`."
        )
        return 2
    console = Console()
    signal.signal(signal.SIGTERM, _interrupt)  # stop as on Ctrl-C: Live restores the cursor
    try:
        return asyncio.run(_run(settings, console, as_json=as_json, watch=watch, interval=interval))
    except KeyboardInterrupt:
        return 0
    except (RedisError, OSError) as exc:
        console.print(f"[red]cannot read {redact_url(settings.redis_url)}: {type(exc).__name__}: {exc}[/red]")
        return 1


async def _run(settings: Settings, console: Console, *, as_json: bool, watch: bool, interval: float) -> int:
    assert settings.redis_url
    redis = async_client(settings.redis_url, socket_connect_timeout=3, socket_timeout=5)
    try:
        if as_json and not watch:
            print((await read_snapshot(redis, settings)).model_dump_json())
            return 0
        if not watch:
            console.print(render(await read_snapshot(redis, settings)))
            return 0
        with Live(console=console, auto_refresh=False, screen=False) as live:
            while True:
                snapshot = await read_snapshot(redis, settings)
                if as_json:
                    print(snapshot.model_dump_json(), flush=True)
                else:
                    live.update(render(snapshot), refresh=True)
                await asyncio.sleep(interval)
    finally:
        with contextlib.suppress(RedisError, OSError):
            await redis.aclose()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def render(snap: Snapshot) -> RenderableType:
    return Group(
        _summary(snap),
        _workers(snap),
        _cooldowns(snap),
        _failures(snap),
        _batches(snap),
        Text(time.strftime("as of %H:%M:%S", time.localtime(snap.at)), style="dim"),
    )


def _summary(snap: Snapshot) -> RenderableType:
    q = snap.queue
    oldest = f" (oldest {q.oldest_waiting_s:.0f} s)" if q.oldest_waiting_s is not None else ""
    cap = f"/{snap.cli.cap}" if snap.cli.cap else ""
    heartbeat = "[green]yes[/green]" if q.worker_heartbeat else "[red]no worker heartbeat[/red]"
    last_min = snap.timeline[-6:]
    done = sum(p.succeeded for p in last_min)
    failed = sum(p.failed for p in last_min)
    latency = _avg([p.avg_duration_s for p in last_min if p.avg_duration_s is not None])
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("queue", f"{q.name}  heartbeat: {heartbeat}")
    table.add_row("jobs", f"{q.waiting} waiting{oldest}, {q.running} running")
    table.add_row("CLI processes", f"{snap.cli.running}{cap} slots in use")
    table.add_row(
        "last minute",
        f"{done} succeeded, {failed} failed"
        + (f", avg {latency:.2f} s per job" if latency is not None else ""),
    )
    table.add_row("jobs ended", f"|{_spark(snap.timeline)}| per 10 s, last 10 min")
    return table


def _workers(snap: Snapshot) -> RenderableType:
    table = Table(title=f"workers ({len(snap.workers)})", title_justify="left", expand=False)
    for column in ("worker", "jobs", "CLI processes", "reported"):
        table.add_column(column)
    for w in snap.workers:
        cli = ", ".join(f"{p.pid} ({p.rss_mb:.0f} MB)" if p.rss_mb else str(p.pid) for p in w.cli_processes)
        table.add_row(
            w.id, f"{len(w.jobs)}/{w.max_jobs}", cli or "-", f"{max(0.0, snap.at - w.reported):.0f} s ago"
        )
    if not snap.workers:
        table.add_row("[red]none[/red]", "-", "-", "-")
    return table


def _cooldowns(snap: Snapshot) -> RenderableType:
    if not snap.cooldowns:
        return Text("cooldowns: none (no sign-in is usage-limited)")
    limited = ", ".join(
        f"{c.account}/{c.scope} ({c.window}) resets in {c.seconds_left:.0f} s" for c in snap.cooldowns
    )
    return Text(f"cooldowns (usage limits): {limited}")


def _failures(snap: Snapshot) -> RenderableType:
    if not snap.failures_by_code:
        return Text("failures (last hour): none")
    by_code = ", ".join(f"{code} x{count}" for code, count in snap.failures_by_code.items())
    table = Table(title=f"failures (last hour): {by_code}", title_justify="left")
    for column in ("when", "job", "code", "status", "model"):
        table.add_column(column)
    for f in snap.recent_failures[:5]:
        table.add_row(
            time.strftime("%H:%M:%S", time.localtime(f.at)), f.job_id, f.code, str(f.status), f.model
        )
    return table


def _batches(snap: Snapshot) -> RenderableType:
    if not snap.batches:
        return Text("batches: none")
    table = Table(title="batches", title_justify="left")
    for column in ("batch", "status", "progress", "done", "failed"):
        table.add_column(column)
    for b in snap.batches[:10]:
        table.add_row(
            b.id,
            b.status,
            ProgressBar(total=max(1, b.total), completed=b.done, width=30),
            f"{b.done}/{b.total}",
            str(b.failed),
        )
    return table


def _avg(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _spark(points: list[TimelinePoint]) -> str:
    counts = [p.succeeded + p.failed for p in points]
    top = max(counts, default=0) or 1
    return "".join(SPARK[round(c / top * (len(SPARK) - 1))] for c in counts)
