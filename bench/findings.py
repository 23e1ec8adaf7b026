"""What the numbers say should change in the product: inserted first in the report's Notes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from loadgen import percentile
from options import POLL_EXPERIMENT_S
from report_figures import latency_figures

if TYPE_CHECKING:
    from services import Bench


def write(bench: Bench) -> None:
    """What the numbers say should change in the product (inserted first in the Notes)."""
    rows = bench.results["latency"]["stage_rows"].get("api") or []
    if not rows:
        return
    wait = percentile([r["queue_wait"] for r in rows], 50)
    own = percentile([r["overhead"] - r["queue_wait"] for r in rows], 50)
    fig = latency_figures(bench.results)
    bench.results["queue_wait_p50_ms"] = wait
    bench.results["own_work_p50_ms"] = own
    poll = bench.product_poll
    setting = (
        f"WORKER_POLL_DELAY_S={poll * 1000:g} ms (worker/settings.py passes it to arq as `poll_delay`)"
        if poll is not None
        else "arq's default `poll_delay` of 0.5 s (worker/settings.py `worker_kwargs()` passes none)"
    )
    fast = bench.results["latency"]["stage_rows"].get("api_fast") or []
    fast_text = ""
    if fast:
        fast_wait = percentile([r["queue_wait"] for r in fast], 50)
        fast_total = percentile([r["overhead"] for r in fast], 50)
        fast_text = (
            f" With a {POLL_EXPERIMENT_S * 1000:g} ms poll (experiment) the wait is {fast_wait:.0f} ms "
            f"and the added latency {fast_total:.0f} ms."
        )
    if wait > 20:
        bench.notes.insert(
            0,
            f"**Hot spot: the queue poll.** A job waits a median {wait:.0f} ms between being enqueued "
            "and a worker starting it, of the API's added "
            f"{fig.get('api_added_p50', math.nan) * 1000:.0f} ms; the service's own work (API in, "
            f"worker setup, API out) is {own:.0f} ms. The workers "
            f"run with {setting}: an idle worker sleeps between ZRANGEBYSCORE polls, so each request "
            "waits U(0, poll) (a caller sending back to back gets it in phase: the poll minus the "
            f"job's duration). Fix: a short poll, or wake idle workers with a blocking pop on a notify "
            f"list that `JobClient.submit` pushes to.{fast_text}",
        )
    else:
        bench.notes.insert(
            0,
            f"**Queue wait.** With {setting} a job waits a median {wait:.0f} ms for a worker, and the "
            f"service's own work (HTTP in, enqueue, worker setup, event stream out) is {own:.0f} ms."
            f"{fast_text} An idle worker does not wait for its poll: `JobClient.submit` pushes a "
            "wake-up token that idle workers block on (worker/wakeup.py), and the poll is the "
            "fallback; polling faster costs idle CPU (see 'Where a request's time goes'). The "
            "enqueue itself (`JobClient.submit`: a ZCARD depth check, then arq's WATCH/MULTI enqueue) "
            "is most of 'API in'.",
        )
