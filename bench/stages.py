"""Where one service request spends its time, from timestamps the service already records.

arq's result record holds the enqueue time (set by the API) and the worker's start
time; each event on the job's Redis Stream carries the Redis server's clock in its
entry id. With the caller's own send and done times (all one machine, one clock)
that splits a request into stages without touching the product code.
"""

from __future__ import annotations

from loadgen import Sample
from redis.asyncio import Redis

from litellm_claude.jobs import codec, keys
from litellm_claude.jobs.contract import decode_event

STAGES = [
    ("api_in", "API: request received -> job enqueued"),
    ("queue_wait", "queue: enqueued -> worker starts the job (arq poll)"),
    ("worker_setup", "worker: job start -> CLI slot taken, `started` published"),
    ("cli_first_token", "CLI: `started` -> first token published (spawn, init, upstream)"),
    ("cli_rest", "CLI: first token -> result published"),
    ("api_out", "API: result published -> caller has the answer"),
]
# Per request: what the service adds around the CLI run (all stages but the CLI's own).
OVERHEAD = "overhead"  # non-streaming: api_in + queue_wait + worker_setup + api_out
OVERHEAD_TTFT = "overhead_ttft"  # streaming, to the first token: ... + first token published -> received


async def breakdown(redis: Redis, sample: Sample) -> dict[str, float] | None:
    """Stage durations in ms for one successful API request, or None when a record is missing."""
    from arq.jobs import Job

    if not sample.ok or not sample.job_id:
        return None
    info = await Job(sample.job_id, redis, _deserializer=codec.loads).result_info()
    entries = await redis.xrange(keys.events(sample.job_id))
    if info is None or not entries:
        return None
    started = first_delta = result = None
    for entry_id, fields in entries:
        eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        ms = int(eid.split("-")[0])
        raw = fields.get(b"e") or fields.get("e")
        event = decode_event(raw)
        if event.type == "started" and started is None:
            started = ms
        elif event.type == "delta" and first_delta is None:
            first_delta = ms
        elif event.type == "result":
            result = ms
    if started is None or first_delta is None or result is None:
        return None
    enqueued = info.enqueue_time.timestamp() * 1000
    start = info.start_time.timestamp() * 1000
    out = {
        "api_in": enqueued - sample.sent_at * 1000,
        "queue_wait": start - enqueued,
        "worker_setup": started - start,
        "cli_first_token": first_delta - started,
        "cli_rest": result - first_delta,
        "api_out": sample.done_at * 1000 - result,
    }
    out["overhead"] = out["api_in"] + out["queue_wait"] + out["worker_setup"] + out["api_out"]
    if sample.ttft is not None:
        # streaming: when the caller got the first token, against when the worker published it
        out["first_out"] = (sample.sent_at + sample.ttft) * 1000 - first_delta
        out["overhead_ttft"] = out["api_in"] + out["queue_wait"] + out["worker_setup"] + out["first_out"]
    return out
