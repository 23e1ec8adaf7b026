#!/usr/bin/env python
"""Warm CLI processes against the cold path, in one run: latency, throughput, a Graphiti-shaped load.

Part of `bench/run.py` (section 'Warm CLI processes'); alone:

    .venv/bin/python bench/warm.py [--quick] [--out warm.md]

Both paths run side by side on queues of their own, with the same Redis, fake
upstream and CLI, and the product's defaults (one worker each; WORKER_MAX_JOBS
and GLOBAL_MAX_CLI are 8 with warm processes, 4 without): an API and a worker
with warm processes (the default), and an API and a worker with
WARM_PROCESSES=false. `--ab` compares variants (settings, or another checkout)
on warm-path throughput alone, interleaved in one run. The floors
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

from litellm_claude.config.settings import COLD_CONCURRENCY, WARM_CONCURRENCY  # noqa: E402

if TYPE_CHECKING:
    from run import Bench

MODEL = "sonnet"
PAIRS = 8  # distinct system prompt + schema pairs in the Graphiti-shaped run
CALLERS = 20


def product(warm: bool) -> dict[str, str]:
    """The product's default caps for a path (given explicitly: the bench's own service env sets others)."""
    cap = str(WARM_CONCURRENCY if warm else COLD_CONCURRENCY)
    return {"WORKER_MAX_JOBS": cap, "GLOBAL_MAX_CLI": cap}


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
            extra = {
                **product(warm == "true"),
                "QUEUE_NAME": f"{self.bench.queue}:{path}",
                "WARM_PROCESSES": warm,
            }
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
        self, client: httpx.AsyncClient, path: str, concurrency: int, n: int, *, load: str = "plain"
    ) -> dict[str, Any]:
        """Closed loop of `n` requests: `load` "plain" non-streaming, "stream" streaming, "graphiti" the
        Graphiti-shaped structured-output body."""
        b = self.bench
        meter = CpuMeter(lambda: self.pids(path), b.redis_cpu)

        async def one(index: int) -> Sample:
            if load == "graphiti":
                return await self.graphiti_call(client, path, index)
            return await chat(
                client, self.urls[path], b.api_key, MODEL, b.prompt, stream=load == "stream", expect=b.expect
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

    async def graphiti_call(self, client: httpx.AsyncClient, path: str, index: int) -> Sample:
        """One structured-output call of the Graphiti shape; ok when the answer parses with its key."""
        headers = {"Authorization": f"Bearer {self.bench.api_key}"}
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

    async def graphiti(self, client: httpx.AsyncClient, path: str) -> dict[str, Any]:
        """CALLERS callers, PAIRS system prompt + schema pairs, structured output, closed loop."""

        async def one(index: int) -> Sample:
            return await self.graphiti_call(client, path, index)

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

    async def warm_counters(self, client: httpx.AsyncClient, path: str = "warm") -> dict[str, float]:
        text = (await client.get(f"{self.urls[path]}/metrics")).text
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("lc_warm_"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    async def run(self, client: httpx.AsyncClient) -> dict[str, Any]:
        self.start()
        try:
            result: dict[str, Any] = {
                "sizes": self.size,
                "callers": CALLERS,
                "pairs": PAIRS,
                "caps": {"warm": WARM_CONCURRENCY, "cold": COLD_CONCURRENCY},
            }
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


PACKAGES = [
    "api",
    "batches",
    "config",
    "fake_anthropic",
    "jobs",
    "openai_compat",
    "provider",
    "service",
    "telemetry",
    "worker",
]


def source_path(src: str, tmp: Path) -> str:
    """A PYTHONPATH entry that imports `litellm_claude` from the checkout `src` (its top-level dirs)."""
    root = Path(src).resolve()
    farm = tmp / f"src-{abs(hash(str(root)))}"
    package = farm / "litellm_claude"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text((root / "litellm_claude" / "__init__.py").read_text())
    for name in PACKAGES:
        link = package / name
        if not link.exists():
            link.symlink_to(root / name)
    return str(farm)


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    """`name[:KEY=VALUE,...]`; SRC=<checkout> runs that variant's API and worker from another tree."""
    name, _, rest = spec.partition(":")
    env = dict(item.split("=", 1) for item in rest.split(",") if item)
    return name, env


async def ab(bench: Bench, client: httpx.AsyncClient, args: Any) -> list[dict[str, Any]]:
    """Warm-path throughput of several variants in one run: interleaved rounds, the order rotated.

    Each variant is an API and one worker on a queue of its own (product defaults unless the
    variant sets them); only one variant is under load at a time.
    """
    variants = [parse_variant(v) for v in args.ab]
    urls: dict[str, str] = {}
    for index, (name, env) in enumerate(variants):
        extra = {**product(True), "QUEUE_NAME": f"{bench.queue}:ab{index}", "WARM_PROCESSES": "true", **env}
        src = extra.pop("SRC", None)
        if src:
            extra["PYTHONPATH"] = source_path(src, bench.tmp)
            extra["PYTHONSAFEPATH"] = "1"  # else `python -m` puts the cwd (this checkout) first
        urls[name] = bench.start_api(f"api-{name}", **extra)
        argv = [sys.executable, "-m", "litellm_claude.service.cli", "worker"]
        bench.procs.start(f"worker-{name}", argv, bench.service_env(**extra))
        bench.wait_worker_log(f"worker-{name}")
    wb = WarmBench(bench, quick=True)
    wb.urls = urls
    rows: list[dict[str, Any]] = []
    for name in urls:  # warm-up: starts the warm processes
        await wb.throughput(client, name, args.concurrency, args.concurrency * 2, load=args.load)
    for rnd in range(args.rounds):
        order = list(urls)[rnd % len(urls) :] + list(urls)[: rnd % len(urls)]
        for name in order:
            row = await wb.throughput(client, name, args.concurrency, args.requests, load=args.load)
            rows.append({**row, "round": rnd})
    for name in urls:
        await asyncio.sleep(1.5)  # the pool's counters reach /metrics once a second
        counters = await wb.warm_counters(client, name)
        print(f"{name}: " + ", ".join(f"{k} {v:g}" for k, v in sorted(counters.items())), flush=True)
    return rows


def ab_table(rows: list[dict[str, Any]]) -> list[str]:
    import statistics

    head = ["variant", "rounds", "completions/s (median)", "each round", "p50", "CPU/completion"]
    out = ["| " + " | ".join([*head, "of it CLI", "other"]) + " |", "|" + " --- |" * (len(head) + 2)]
    for name in dict.fromkeys(r["path"] for r in rows):
        got = [r for r in rows if r["path"] == name]
        med = {k: statistics.median(r[k] for r in got) for k in got[0] if isinstance(got[0][k], float)}
        cells = [
            name,
            str(len(got)),
            f"**{med['tput']:.2f}**",
            ", ".join(f"{r['tput']:.1f}" for r in got),
            f"{med['p50'] * 1000:.0f} ms",
            f"{med['cpu_per_completion']:.3f} s",
            f"{med['cli_per_completion']:.3f} s",
            f"{med['other_share']:.0%}",
        ]
        out.append("| " + " | ".join(cells) + " |")
    return out


def replace_section(
    path: Path, results: dict[str, Any], began: time.struct_time, ended: time.struct_time
) -> None:
    """Put this run's section, with when it ran and how busy the machine was, in place of the old one."""
    from warm_report import warm_section

    lines = warm_section({"warm": results})
    other = max((r["other_share"] for r in results["throughput"]), default=0.0)
    lines[2:2] = [
        f"Measured on {time.strftime('%Y-%m-%d %H:%M', began)}-{time.strftime('%H:%M', ended)} UTC with "
        f"`.venv/bin/python bench/warm.py --docs {path}` on {os.cpu_count()} cores; processes that are "
        f"not this benchmark's used at most {other:.0%} of the machine during the throughput runs. "
        "`bench/run.py` includes this section when it is run whole.",
        "",
    ]
    text = path.read_text()
    start = text.index("## Warm CLI processes\n")
    end = text.find("\n## ", start + 1)
    path.write_text(text[:start] + "\n".join(lines).rstrip("\n") + "\n" + (text[end:] if end >= 0 else ""))
    print(f"wrote the section to {path}", file=sys.stderr)


def main() -> int:
    """Only this comparison: Redis, fake upstream, the two service pairs; report on stdout or --out."""
    import argparse

    from procs import install_signal_handlers
    from run import Bench, parse_args
    from warm_report import warm_section

    own = argparse.ArgumentParser(prog="bench/warm.py", description=__doc__.split("\n\n")[0])
    own.add_argument("--quick", action="store_true")
    own.add_argument("--out", help="write the section (markdown) here")
    own.add_argument(
        "--docs",
        metavar="PATH",
        help="replace the section '## Warm CLI processes' of this file (e.g. docs/benchmarks.md) in place",
    )
    own.add_argument(
        "--ab",
        nargs="+",
        metavar="NAME[:KEY=VALUE,...]",
        help="instead: warm-path throughput of these variants, interleaved (KEY: settings, SRC=<checkout>)",
    )
    own.add_argument("--rounds", type=int, default=3, help="--ab: rounds")
    own.add_argument("--concurrency", type=int, default=16, help="--ab: closed-loop callers")
    own.add_argument(
        "--load",
        choices=["plain", "stream", "graphiti"],
        default="plain",
        help="--ab: the plain prompt (non-streaming or streaming), or the Graphiti-shaped "
        "structured-output calls (8 pairs)",
    )
    own.add_argument("--requests", type=int, default=240, help="--ab: requests per variant and round")
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
                if args.ab:
                    return {"ab": await ab(bench, client, args)}
                return await measure(bench, client, args.quick)

        began = time.gmtime()
        results = asyncio.run(go())
        if args.ab:
            print("\n".join(ab_table(results["ab"])))
            ok = True
            return 0
        text = "\n".join(warm_section({"warm": results}))
        print(text)
        if args.out:
            Path(args.out).write_text(text)
        if args.docs:
            replace_section(Path(args.docs), results, began, time.gmtime())
        ok = True
    finally:
        bench.close(ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
