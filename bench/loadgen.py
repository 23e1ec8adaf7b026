"""The load driver: OpenAI-style requests over httpx (async), one at a time or N at once."""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(slots=True)
class Sample:
    """One completion as the caller saw it (times in seconds, wall clock where noted)."""

    ok: bool
    total: float
    ttft: float | None = None
    error: str | None = None
    job_id: str | None = None
    sent_at: float = 0.0  # time.time() when sent
    done_at: float = 0.0  # time.time() when the answer was complete


def chat_body(model: str, prompt: str, *, stream: bool) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": stream}


async def chat(
    client: object, url: str, key: str, model: str, prompt: str, *, stream: bool, expect: str
) -> Sample:
    """POST /v1/chat/completions; the answer must equal `expect` (the fake's deterministic reply)."""
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    headers = {"Authorization": f"Bearer {key}"}
    body = chat_body(model, prompt, stream=stream)
    sent_at = time.time()
    t0 = time.perf_counter()
    try:
        if not stream:
            resp = await client.post(f"{url}/v1/chat/completions", json=body, headers=headers)
            total = time.perf_counter() - t0
            job_id = resp.headers.get("x-job-id")
            if resp.status_code != 200:
                return Sample(
                    False, total, error=f"HTTP {resp.status_code}: {resp.text[:200]}", job_id=job_id
                )
            text = resp.json()["choices"][0]["message"]["content"]
            ok = text == expect
            return Sample(
                ok, total, None, None if ok else f"answer {text[:80]!r}", job_id, sent_at, time.time()
            )
        ttft: float | None = None
        parts: list[str] = []
        async with client.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers) as resp:
            job_id = resp.headers.get("x-job-id")
            if resp.status_code != 200:
                await resp.aread()
                return Sample(
                    False, time.perf_counter() - t0, error=f"HTTP {resp.status_code}", job_id=job_id
                )
            async for line in resp.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    return Sample(False, time.perf_counter() - t0, error=str(chunk["error"])[:200])
                for choice in chunk.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        if ttft is None:
                            ttft = time.perf_counter() - t0
                        parts.append(piece)
        total = time.perf_counter() - t0
        text = "".join(parts)
        ok = text == expect
        return Sample(ok, total, ttft, None if ok else f"answer {text[:80]!r}", job_id, sent_at, time.time())
    except Exception as exc:
        return Sample(False, time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}"[:200])


async def closed_loop(
    total: int, concurrency: int, call: Callable[[int], Awaitable[Sample]]
) -> tuple[list[Sample], float]:
    """`concurrency` callers sending back to back until `total` requests are done; (samples, wall s)."""
    samples: list[Sample] = []
    next_index = 0

    async def caller() -> None:
        nonlocal next_index
        while next_index < total:
            index = next_index
            next_index += 1
            samples.append(await call(index))

    t0 = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(min(concurrency, total))))
    return samples, time.perf_counter() - t0


# -- statistics ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else math.nan
