"""Memory: the API holding many open streams, one running CLI process, one queued job in Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from loadgen import chat_body, median
from procs import descendants, smaps_kb, status_kb

from litellm_claude.config.settings import Settings
from litellm_claude.jobs.client import JobClient
from litellm_claude.jobs.connection import connect
from litellm_claude.openai_compat.request import ChatCompletionBody, build_job


def _redis_info(redis_sync: Any, section: str) -> dict[str, Any]:
    return dict(redis_sync.info(section))


async def hold_streams(
    *,
    url: str,
    key: str,
    api_pid: int,
    n: int,
    model: str,
    prompt: str,
    redis_sync: Any,
    hold_s: float = 3.0,
    during: Callable[[], Awaitable[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Open `n` streaming requests at once and keep them open; measure the API while they wait.

    The upstream is slowed down beforehand, so the few jobs a worker takes wait on
    their first token and all the others wait in the queue: every request is a
    streaming response parked on its blocking XREAD.
    """
    out: dict[str, Any] = {"streams": n}
    out["api_rss_idle_kb"] = status_kb(api_pid, "VmRSS")
    mem_before = _redis_info(redis_sync, "memory")["used_memory"]
    opened = 0
    all_open = asyncio.Event()
    release = asyncio.Event()
    failures: list[str] = []
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(60.0, read=None)
    body = chat_body(model, prompt, stream=True)
    headers = {"Authorization": f"Bearer {key}"}
    gate = asyncio.Semaphore(100)  # open them quickly, but not all in one burst of SYNs

    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:

        async def one() -> None:
            nonlocal opened
            try:
                async with gate:
                    cm = client.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers)
                    resp = await cm.__aenter__()
                try:
                    if resp.status_code != 200:
                        failures.append(f"HTTP {resp.status_code}")
                        return
                    lines = resp.aiter_lines()
                    async for line in lines:
                        if line.startswith("data: "):
                            break  # the first chunk (role): the stream is open
                    opened += 1
                    if opened == n:
                        all_open.set()
                    await release.wait()
                finally:
                    await cm.__aexit__(None, None, None)
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}"[:120])
                if opened + len(failures) >= n:
                    all_open.set()

        t0 = time.perf_counter()
        tasks = [asyncio.create_task(one()) for _ in range(n)]
        try:
            await asyncio.wait_for(all_open.wait(), timeout=120)
        except TimeoutError:
            failures.append(f"only {opened} of {n} streams opened within 120 s")
        out["open_s"] = time.perf_counter() - t0
        rss: list[int] = []
        for _ in range(max(1, int(hold_s / 0.25))):
            rss.append(status_kb(api_pid, "VmRSS") or 0)
            await asyncio.sleep(0.25)
        clients = _redis_info(redis_sync, "clients")
        out["redis_connected_clients"] = clients.get("connected_clients")
        out["redis_blocked_clients"] = clients.get("blocked_clients")
        out["redis_memory_delta_bytes"] = _redis_info(redis_sync, "memory")["used_memory"] - mem_before
        out["api_rss_open_kb"] = max(rss)
        out["api_peak_rss_kb"] = status_kb(api_pid, "VmHWM")
        out["api_fds"] = _fd_count(api_pid)
        out["opened"] = opened
        if during is not None:
            out["cli"] = await during()
        release.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    out["failures"] = failures[:5]
    out["failure_count"] = len(failures)
    return out


def _fd_count(pid: int) -> int | None:
    import os

    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def cli_memory(worker_pid: int) -> dict[str, Any]:
    """RSS, PSS and private memory of each CLI process running under a worker (medians, kB)."""
    rows = []
    for pid in descendants(worker_pid):
        rss = status_kb(pid, "VmRSS")
        if not rss:
            continue
        smaps = smaps_kb(pid)
        rows.append(
            {
                "rss": rss,
                "hwm": status_kb(pid, "VmHWM") or rss,
                "pss": smaps.get("Pss", 0),
                "private": smaps.get("Private_Dirty", 0) + smaps.get("Private_Clean", 0),
            }
        )
    if not rows:
        return {"count": 0}
    return {"count": len(rows), **{k: median([float(r[k]) for r in rows]) for k in rows[0]}}


async def redis_per_job(
    redis_url: str, settings: Settings, n: int, model: str, prompt: str
) -> dict[str, Any]:
    """INFO memory before and after enqueueing `n` jobs on a queue no worker reads; then clean up.

    One connection, jobs sent one after another: client buffers stay out of the difference.
    """
    import redis as redis_lib

    queue = f"bench:memq:{uuid.uuid4().hex[:8]}"
    sync = redis_lib.Redis.from_url(redis_url)
    arq_redis = connect(redis_url, default_queue=queue, max_connections=1)
    client = JobClient(arq_redis)
    local = settings.model_copy(update={"queue_name": queue})
    body = ChatCompletionBody.model_validate(
        {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": True}
    )
    jobs = [build_job(body, settings=local) for _ in range(n)]
    payload_bytes = len(jobs[0].model_dump_json())
    try:
        await client.queue_depth(queue)  # open the connection before the first reading
        before = sync.info("memory")["used_memory"]
        for job in jobs:
            await client.submit(job)
        after = sync.info("memory")["used_memory"]
        depth = await client.queue_depth(queue)
        key_bytes = sync.memory_usage(f"arq:job:{jobs[0].id}")
        queue_bytes = sync.memory_usage(queue)
    finally:
        keys = [f"arq:job:{j.id}" for j in jobs]
        for start in range(0, len(keys), 500):
            sync.delete(*keys[start : start + 500])
        sync.delete(queue)
        await arq_redis.aclose()
        sync.close()
    return {
        "jobs": n,
        "queued": depth,
        "bytes_per_job": (after - before) / n,
        "job_key_bytes": key_bytes,
        "queue_bytes_per_job": (queue_bytes or 0) / n,
        "payload_bytes": payload_bytes,
        "prompt_chars": len(prompt),
    }
