"""Benchmark the service end to end and write docs/benchmarks.md.

    .venv/bin/python bench/run.py [--runs 3] [--quick] [--out docs/benchmarks.md]

Starts a fake Anthropic upstream with a latency profile, a Redis (REDIS_URL, else a
private redis-server), workers and the API as processes (and the LiteLLM proxy when
`litellm` is installed), then measures: the floor (direct SDK call, `claude -p`), the
latency the service adds, throughput at several concurrencies with 1 and 2 workers,
memory, and a py-spy profile of the worker. Every process it starts is stopped at the
end, also on errors and Ctrl-C. `--quick` is a smoke-sized run (well under a minute).

The parts: `options` (command line), `services` (the processes, `Bench`), one module a
section (`latency`, `throughput`, `profiling`, `memory_run`, `warm`), the analysis
(`saturation`, `findings`, `meta`) and the report (`report` and its `report_*` modules).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

import findings  # noqa: E402
import httpx  # noqa: E402
import latency  # noqa: E402
import memory_run  # noqa: E402
import profiling  # noqa: E402
import saturation  # noqa: E402
import throughput  # noqa: E402
from floor import cli_version  # noqa: E402
from meta import settings_table, versions  # noqa: E402
from options import ARQ_DEFAULT_POLL_S, parse_args  # noqa: E402
from procs import REPO, install_signal_handlers, machine_info  # noqa: E402
from report import SECTIONS, latency_figures, render  # noqa: E402
from services import Bench  # noqa: E402
from warm import measure as measure_warm  # noqa: E402

from litellm_claude.config.settings import Settings  # noqa: E402

__all__ = ["Bench", "main", "measure_all", "parse_args"]  # bench/warm.py imports Bench, parse_args


async def measure_all(bench: Bench) -> dict[str, Any]:
    """Every section in turn, then the analysis; the results `report.render` writes out."""
    args = bench.args
    started = time.time()
    load_at_start = os.getloadavg()
    bench.results["idle"] = {}
    bench.results["latency"] = {
        "added": [],
        "stage_rows": {},
        "per_kind": args.latency_requests,
        "kinds": [],
    }
    bench.results["throughput"] = []
    bench.start_redis()
    bench.start_upstream()
    bench.settings = bench.floor_settings()
    # the product's default: WORKER_* variables are kept out of the processes' environment
    poll_field = Settings.model_fields.get("worker_poll_delay_s")
    bench.product_poll = poll_field.default if poll_field is not None else None
    bench.api_url = bench.start_api()
    bench.start_worker("worker-1")
    bench.results["idle"] = {
        "product": latency.idle_cost(bench, ["worker-1"], bench.product_poll or ARQ_DEFAULT_POLL_S)
    }
    bench.start_proxy()
    cli = await cli_version(bench.settings)
    redis_version = str(bench.redis.info("server").get("redis_version"))
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=128)
    async with httpx.AsyncClient(timeout=httpx.Timeout(330.0), limits=limits) as client:
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", flush=True)
            await latency.run(bench, client, run)
            await throughput.run(bench, client)
        print("profile", flush=True)
        await profiling.profile_worker(bench, client)
        await throughput.cap_experiment(bench, client)
        print("warm processes", flush=True)
        bench.results["warm"] = await measure_warm(bench, client, args.quick)
    print("memory", flush=True)
    await memory_run.measure(bench)
    saturation.analyse(bench)
    findings.write(bench)
    bench.results["meta"] = {
        "command": " ".join(["python bench/run.py", *sys.argv[1:]]),
        "started": dt.datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M"),
        "duration_s": time.time() - started,
        "machine": machine_info() | {"load": " ".join(f"{x:.2f}" for x in load_at_start)},
        "versions": versions(cli, redis_version),
        "settings": settings_table(bench),
    }
    return bench.results


def out_path(args: argparse.Namespace) -> Path:
    return (REPO / args.out) if not Path(args.out).is_absolute() else Path(args.out)


def write(args: argparse.Namespace, bench: Bench, results: dict[str, Any]) -> None:
    """The report to --out (every section in it), the raw results to the logs and --json.

    The raw results are saved first: a report that fails to render is not a lost run
    (`bench/run.py --render <saved.json>` renders it again).
    """
    raw = json.dumps(results, indent=1, default=str)
    if args.json:
        Path(args.json).write_text(raw)
    try:
        text = render(results)
    except Exception:
        saved = args.json
        if not saved:
            fd, saved = tempfile.mkstemp(prefix="bench-results-", suffix=".json")
            with os.fdopen(fd, "w") as file:
                file.write(raw)
        print(f"the report did not render; results saved to {saved} (--render {saved})", file=sys.stderr)
        raise
    missing = [s for s in SECTIONS if s not in text]
    if missing:
        raise RuntimeError(f"report lacks sections {missing}")
    out = out_path(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    (bench.tmp / "logs" / "results.json").write_text(raw)
    print(text)
    fig = latency_figures(results)
    print(
        f"wrote {out} (API added p50 {fig.get('api_added_p50', math.nan) * 1000:+.0f} ms)",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        out = out_path(args)
        out.write_text(render(json.loads(Path(args.render).read_text())))
        print(f"wrote {out} from {args.render}", file=sys.stderr)
        return 0
    install_signal_handlers()
    for key in [k for k in os.environ if k.startswith(("ANTHROPIC_", "CLAUDE_"))]:
        del os.environ[key]  # the floor's CLI gets exactly the worker's environment
    bench = Bench(args)
    try:
        write(args, bench, asyncio.run(measure_all(bench)))
    except BaseException:
        bench.close(ok=False)
        raise
    bench.close(ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
