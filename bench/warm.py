#!/usr/bin/env python
"""Warm CLI processes against the cold path, in one run: latency, throughput, a Graphiti-shaped load.

Part of `bench/run.py` (section 'Warm CLI processes'); alone:

    .venv/bin/python bench/warm.py [--quick] [--out warm.md]

Both paths run side by side on queues of their own, with the same Redis, fake
upstream and CLI, and the product's defaults (WORKER_MAX_JOBS=4,
GLOBAL_MAX_CLI=4, one worker each): an API and a worker with warm processes
(the default), and an API and a worker with WARM_PROCESSES=false. The floors
are a one-shot `claude_agent_sdk.query`, a warm ClaudeSDKClient (bench/warm_floor.py)
and `claude -p`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

import httpx  # noqa: E402
from cpu import PARTS, CpuMeter  # noqa: E402
from floor import claude_p, sdk_direct  # noqa: E402
from loadgen import Sample, chat, closed_loop, percentile  # noqa: E402
from warm_floor import WarmSdk  # noqa: E402

if TYPE_CHECKING:
    from run import Bench

MODEL = "sonnet"
PAIRS = 8  # distinct system prompt + schema pairs in the Graphiti-shaped run
CALLERS = 20
PRODUCT = {"WORKER_MAX_JOBS": "4", "GLOBAL_MAX_CLI": "4"}
KINDS = ["sdk", "warm_sdk", "cli", "warm", "cold"]


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"latency": 2, "throughput": [(4, 12)], "cold_throughput": (4, 4), "graphiti": 16}
    return {"latency": 12, "throughput": [(8, 160), (16, 240)], "cold_throughput": (8, 40), "graphiti": 400}


def graphiti_body(index: int) -> dict[str, Any]:
    """One structured-output call of the Graphiti shape: pair `index % PAIRS`, its own episode."""
    pair = index % PAIRS
    schema = {
        "type": "object",
        "properties": {
            "entities": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, f"kind_{pair}": {"type": "string"}},
                    "required": ["name"],
                },
            }
        },
        "required": ["entities"],
    }
    system = f"You extract entities of type {pair} from a conversation episode. Answer in JSON."
    return {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": f"Episode {index}: Alice met Bob {index} times in Paris."},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": f"Entities{pair}", "schema": schema},
        },
    }


class WarmBench:
    def __init__(self, bench: Bench, quick: bool) -> None:
        self.bench = bench
        self.size = sizes(quick)
        self.urls: dict[str, str] = {}
        self.warm_sdk = WarmSdk(bench.settings, MODEL)

    def start(self) -> None:
        for path, warm in (("warm", "true"), ("cold", "false")):
            extra = {**PRODUCT, "QUEUE_NAME": f"{self.bench.queue}:{path}", "WARM_PROCESSES": warm}
            self.urls[path] = self.bench.start_api(f"api-{path}", **extra)
            env = self.bench.service_env(**extra)
            self.bench.procs.start(
                f"worker-{path}", [sys.executable, "-m", "litellm_claude.service.cli", "worker"], env
            )
            self.bench.wait_worker_log(f"worker-{path}")

    def stop(self) -> None:
        for name in ("api-warm", "worker-warm", "api-cold", "worker-cold"):
            self.bench.procs.stop(name)

    def pids(self, path: str) -> dict[str, list[int]]:
        procs = self.bench.procs
        return {
            "worker": [procs.pid(f"worker-{path}")],
            "api": [procs.pid(f"api-{path}")],
            "upstream": [procs.pid("upstream")],
        }

    async def call(self, kind: str, client: httpx.AsyncClient) -> Sample:
        b = self.bench
        if kind == "sdk":
            return await sdk_direct(b.settings, MODEL, b.prompt, b.expect)
        if kind == "warm_sdk":
            return await self.warm_sdk.call(b.prompt, b.expect)
        if kind == "cli":
            return await claude_p(b.settings, MODEL, b.prompt, b.expect)
        return await chat(client, self.urls[kind], b.api_key, MODEL, b.prompt, stream=False, expect=b.expect)

    async def latency(self, client: httpx.AsyncClient) -> dict[str, Any]:
        """Concurrency 1, kinds interleaved, each request after a random pause of up to 0.5 s."""
        for kind in KINDS:  # warm-up: starts the warm processes
            await self.call(kind, client)
        samples: dict[str, list[Sample]] = {k: [] for k in KINDS}
        rng = random.Random(7)
        for i in range(self.size["latency"]):
            for kind in KINDS[i % len(KINDS) :] + KINDS[: i % len(KINDS)]:
                await asyncio.sleep(rng.uniform(0, 0.5))
                samples[kind].append(await self.call(kind, client))
        out: dict[str, Any] = {}
        for kind, got in samples.items():
            ok = [s.total for s in got if s.ok]
            out[kind] = {"p50": percentile(ok, 50), "p95": percentile(ok, 95), "errors": len(got) - len(ok)}
            out[kind]["error_samples"] = [s.error for s in got if not s.ok][:2]
        return out

    async def throughput(
        self, client: httpx.AsyncClient, path: str, concurrency: int, n: int
    ) -> dict[str, Any]:
        b = self.bench
        meter = CpuMeter(lambda: self.pids(path), b.redis_cpu)

        async def one(_i: int) -> Sample:
            return await chat(
                client, self.urls[path], b.api_key, MODEL, b.prompt, stream=False, expect=b.expect
            )

        before = meter.snapshot()
        samples, wall = await closed_loop(n, concurrency, one)
        cpu = CpuMeter.delta(before, meter.snapshot())
        ok = [s.total for s in samples if s.ok]
        cores = os.cpu_count() or 1
        ours = sum(cpu[p] for p in PARTS if p != "driver")
        row = {
            "path": path,
            "concurrency": concurrency,
            "n": n,
            "errors": n - len(ok),
            "tput": len(ok) / wall,
            "p50": percentile(ok, 50),
            "p95": percentile(ok, 95),
            "cpu_per_completion": ours / max(1, len(ok)),
            "cli_per_completion": cpu["cli"] / max(1, len(ok)),
            "other_share": cpu["other"] / (wall * cores),
        }
        print(
            f"  warm bench: {path} c={concurrency}: {row['tput']:.2f}/s, errors {row['errors']}", flush=True
        )
        return row

    async def graphiti(self, client: httpx.AsyncClient, path: str) -> dict[str, Any]:
        """CALLERS callers, PAIRS system prompt + schema pairs, structured output, closed loop."""
        b = self.bench
        headers = {"Authorization": f"Bearer {b.api_key}"}

        async def one(index: int) -> Sample:
            t0 = time.perf_counter()
            try:
                resp = await client.post(
                    f"{self.urls[path]}/v1/chat/completions", json=graphiti_body(index), headers=headers
                )
                content = resp.json()["choices"][0]["message"]["content"] if resp.status_code == 200 else None
                ok = content is not None and "entities" in json.loads(content)
                return Sample(ok, time.perf_counter() - t0, error=None if ok else resp.text[:200])
            except Exception as exc:
                return Sample(False, time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}"[:200])

        samples, wall = await closed_loop(self.size["graphiti"], CALLERS, one)
        ok = [s.total for s in samples if s.ok]
        print(f"  warm bench: graphiti {path}: {wall:.1f} s, errors {len(samples) - len(ok)}", flush=True)
        return {
            "wall": wall,
            "n": len(samples),
            "errors": len(samples) - len(ok),
            "p50": percentile(ok, 50),
            "error_samples": [s.error for s in samples if not s.ok][:2],
        }

    async def warm_counters(self, client: httpx.AsyncClient) -> dict[str, float]:
        text = (await client.get(f"{self.urls['warm']}/metrics")).text
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("lc_warm_"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    async def run(self, client: httpx.AsyncClient) -> dict[str, Any]:
        self.start()
        try:
            result: dict[str, Any] = {"sizes": self.size, "callers": CALLERS, "pairs": PAIRS}
            print("warm bench: latency", flush=True)
            result["latency"] = await self.latency(client)
            await self.warm_sdk.close()
            print("warm bench: throughput", flush=True)
            result["throughput"] = [
                await self.throughput(client, "warm", c, n) for c, n in self.size["throughput"]
            ]
            result["throughput"].append(await self.throughput(client, "cold", *self.size["cold_throughput"]))
            print("warm bench: graphiti-shaped", flush=True)
            result["graphiti"] = {path: await self.graphiti(client, path) for path in ("cold", "warm")}
            await asyncio.sleep(1.5)  # the pool's counters reach /metrics once a second
            result["counters"] = await self.warm_counters(client)
            return result
        finally:
            await self.warm_sdk.close()
            self.stop()


async def measure(bench: Bench, client: httpx.AsyncClient, quick: bool) -> dict[str, Any]:
    return await WarmBench(bench, quick).run(client)


def main() -> int:
    """Only this comparison: Redis, fake upstream, the two service pairs; report on stdout or --out."""
    import argparse

    from procs import install_signal_handlers
    from run import Bench, parse_args
    from warm_report import warm_section

    own = argparse.ArgumentParser(prog="bench/warm.py", description=__doc__.split("\n\n")[0])
    own.add_argument("--quick", action="store_true")
    own.add_argument("--out", help="write the section (markdown) here")
    args = own.parse_args()
    install_signal_handlers()
    for key in [k for k in os.environ if k.startswith(("ANTHROPIC_", "CLAUDE_"))]:
        del os.environ[key]
    bench = Bench(parse_args(["--quick"] if args.quick else []))
    ok = False
    try:

        async def go() -> dict[str, Any]:
            bench.start_redis()
            bench.start_upstream()
            bench.settings = bench.floor_settings()
            async with httpx.AsyncClient(timeout=httpx.Timeout(330.0)) as client:
                return await measure(bench, client, args.quick)

        results = asyncio.run(go())
        text = "\n".join(warm_section({"warm": results}))
        print(text)
        if args.out:
            Path(args.out).write_text(text)
        ok = True
    finally:
        bench.close(ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
