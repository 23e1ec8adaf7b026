"""Section 'Where the worker spends its CPU': a py-spy profile of one worker under load."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import TYPE_CHECKING, Any

import httpx
from cpu import CpuMeter
from loadgen import chat, closed_loop
from options import MODEL
from pyspy import Profile, Recorder, py_spy_binary, summarize

if TYPE_CHECKING:
    from services import Bench


async def profile_worker(bench: Bench, client: httpx.AsyncClient) -> None:
    out: dict[str, Any] = {}
    bench.results["profile"] = out
    if bench.args.no_profile:
        out["note"] = "skipped (--no-profile)"
        return
    binary, note = py_spy_binary(install=not bench.args.quick)
    if binary is None:
        out["note"] = note
        return
    conc = 16 if not bench.args.quick else 2
    n = 48 if not bench.args.quick else 4
    worker = bench.workers[0]
    raw = bench.tmp / "worker-profile.txt"
    rate = 200
    meter = CpuMeter(bench.pids, bench.redis_cpu)
    recorder = Recorder(binary, bench.procs.pid(worker), raw, rate=rate)
    await asyncio.sleep(1.0)
    before = meter.snapshot()
    t0 = time.perf_counter()
    samples, _ = await closed_loop(
        n,
        conc,
        lambda _i: chat(
            client, bench.api_url, bench.api_key, MODEL, bench.prompt, stream=False, expect=bench.expect
        ),
    )
    wall = time.perf_counter() - t0
    cpu = CpuMeter.delta(before, meter.snapshot())
    messages = recorder.stop()
    prof = summarize(raw, rate)
    if not prof.samples:
        out["note"] = f"py-spy recorded nothing: {messages!r}"
        return
    out.update(
        {
            "tool": note.replace("from the venv", "").strip() or "py-spy",
            "rate": rate,
            "label": f"a throughput run through the API, 1 worker, concurrency {conc}",
            "completions": sum(1 for s in samples if s.ok),
            "wall": wall,
            "cpu": cpu,
            **profile_figures(prof),
        }
    )
    if bench.args.keep_logs:
        shutil.copy(raw, bench.tmp / "logs" / "worker-profile.txt")
    print(f"  profiled worker: {prof.samples} samples", flush=True)


def profile_figures(prof: Profile) -> dict[str, Any]:
    """What the report's 'Worker profile' section reads of a py-spy profile."""
    return {
        "samples": prof.samples,
        "seconds": prof.seconds,
        "idle_samples": prof.idle_samples,
        "groups": prof.incl_groups.most_common(),
        "self": prof.self_funcs.most_common(12),
        "files": prof.incl_files.most_common(12),
    }
