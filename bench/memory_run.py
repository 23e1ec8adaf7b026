"""Section 'Memory': the API holding many open streams, the CLI processes waiting on the
upstream, and Redis per job (the measuring itself is in `memory`)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import httpx
from loadgen import chat
from memory import cli_memory, hold_streams, redis_per_job
from options import MODEL

if TYPE_CHECKING:
    from services import Bench


async def measure(bench: Bench) -> None:
    mem: dict[str, Any] = {}
    bench.results["memory"] = mem
    # Free the cores first: only Redis, the fake upstream and the memory test's own processes run.
    for name in ("proxy", "api", *list(bench.workers)):
        bench.procs.stop(name)
    bench.workers.clear()
    max_jobs = 8 if not bench.args.quick else 2
    first_delay = 60.0 if not bench.args.quick else 15.0
    queue = f"{bench.queue}:mem"
    extra = {"QUEUE_NAME": queue, "WORKER_MAX_JOBS": str(max_jobs), "GLOBAL_MAX_CLI": str(max_jobs)}
    url = bench.start_api("api-mem", **extra)
    # the API refuses requests on a queue no worker consumes
    bench.start_worker_process("worker-mem", **extra)
    api_pid, worker_pid = bench.procs.pid("api-mem"), bench.procs.pid("worker-mem")
    async with httpx.AsyncClient(timeout=120) as client:  # warm the API up (imports, pool) at full speed
        warm = await chat(client, url, bench.api_key, MODEL, bench.prompt, stream=True, expect=bench.expect)
        if not warm.ok:
            bench.notes.append(f"memory test warm-up failed: {warm.error}")
    bench.set_upstream_delays(first_delay, bench.args.token_delay)
    mem.update({"worker_max_jobs": max_jobs, "first_token_delay": first_delay})
    try:
        streams = await hold_streams(
            url=url,
            key=bench.api_key,
            api_pid=api_pid,
            n=bench.args.streams,
            model=MODEL,
            prompt=bench.prompt,
            redis_sync=bench.redis,
            during=lambda: _clis_waiting(bench, worker_pid, max_jobs),
        )
        mem["streams"] = streams
    finally:
        bench.set_upstream_delays(bench.args.first_token_delay, bench.args.token_delay)
        bench.procs.stop("worker-mem")
        bench.procs.stop("api-mem")
        bench.redis.delete(queue)
    print(f"  memory: API peak RSS {streams.get('api_peak_rss_kb', 0) / 1024:.0f} MB", flush=True)
    mem["redis_job"] = await redis_per_job(
        bench.redis_url, bench.floor_settings(), 1000 if not bench.args.quick else 50, MODEL, bench.prompt
    )


async def _clis_waiting(bench: Bench, worker_pid: int, count: int) -> dict[str, Any]:
    """Once `count` CLI processes wait on the upstream's first token, their memory."""
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            stats = (await client.get(f"{bench.upstream_url}/_fake/stats")).json()
            if stats.get("in_flight", 0) >= count:
                break
            await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    return cli_memory(worker_pid)
