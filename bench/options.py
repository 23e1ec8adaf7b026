"""The benchmark's command line and the sizes it implies."""

from __future__ import annotations

import argparse

DESCRIPTION = "Benchmark the service end to end and write docs/benchmarks.md."
MODEL = "sonnet"
POLL_EXPERIMENT_S = 0.002  # WORKER_POLL_DELAY_S of the experimental worker
ARQ_DEFAULT_POLL_S = 0.5
PAUSE_S = 0.5  # the most a latency request waits before it is sent (uniformly random)
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november".split()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.py", description=DESCRIPTION)
    p.add_argument("--runs", type=int, default=3, help="repetitions of the latency and throughput runs")
    p.add_argument("--quick", action="store_true", help="tiny smoke run: 1 run, few requests, no proxy")
    p.add_argument("--out", default="docs/benchmarks.md", help="report file (relative to the repository)")
    p.add_argument("--first-token-delay", type=float, default=0.05, help="fake upstream, seconds")
    p.add_argument("--token-delay", type=float, default=0.005, help="fake upstream, seconds per token")
    p.add_argument("--prompt-words", type=int, default=20, help="answer length = prompt words + 2 tokens")
    p.add_argument("--latency-requests", type=int, help="requests of each kind per run (default 10)")
    p.add_argument("--concurrency", default=None, help="comma-separated (default 1,4,16,64)")
    p.add_argument("--workers", default=None, help="worker counts to measure, comma-separated (default 1,2)")
    p.add_argument("--streams", type=int, help="open streams held for the API memory figure (default 1000)")
    p.add_argument("--no-proxy", action="store_true", help="skip the LiteLLM proxy path")
    p.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    p.add_argument(
        "--no-poll-experiment", action="store_true", help="skip the worker with a short arq poll_delay"
    )
    p.add_argument("--keep-logs", action="store_true", help="keep the processes' logs (path printed)")
    p.add_argument("--json", help="also write the raw results as JSON to this file")
    p.add_argument(
        "--render",
        metavar="JSON",
        help="measure nothing: write the report again from results saved with --json (e.g. after a "
        "change to bench/report.py)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.runs = 1
        args.latency_requests = args.latency_requests or 2
        args.concurrency = args.concurrency or "1,2"
        args.workers = args.workers or "1"
        args.streams = args.streams or 50
        args.no_proxy = True
    args.latency_requests = args.latency_requests or 10
    args.concurrency = [int(c) for c in (args.concurrency or "1,4,16,64").split(",")]
    args.workers = [int(w) for w in (args.workers or "1,2").split(",")]
    args.streams = args.streams or 1000
    return args


def requests_for(concurrency: int, quick: bool) -> int:
    """Requests per throughput cell: enough for every caller to send at least twice."""
    if quick:
        return max(4, 2 * concurrency)
    return {1: 10, 4: 16, 16: 32, 64: 64}.get(concurrency, 2 * concurrency)
