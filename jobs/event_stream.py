"""A job's events on a Redis Stream: appended by the worker, read in order by any number of callers.

XADD keeps the stream capped and expiring; readers use blocking XREAD from an id,
so a caller that arrives late (or reconnects) still sees every event in order.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from litellm_claude.jobs import keys
from litellm_claude.jobs.contract import (
    AnyEvent,
    decode_event,
    encode_event,
)

FIELD = b"e"


async def publish(redis: Redis, job_id: str, event: AnyEvent, *, maxlen: int, ttl_s: int) -> str:
    return (await publish_many(redis, job_id, [event], maxlen=maxlen, ttl_s=ttl_s))[-1]


async def publish_many(
    redis: Redis, job_id: str, events: list[AnyEvent], *, maxlen: int, ttl_s: int
) -> list[str]:
    """Append `events` in order, in one round trip; their stream ids."""
    key = keys.events(job_id)
    async with redis.pipeline(transaction=False) as pipe:
        for event in events:
            pipe.xadd(key, {FIELD: encode_event(event)}, maxlen=maxlen, approximate=True)
        pipe.expire(key, ttl_s)
        replies = await pipe.execute()
    return [i.decode() if isinstance(i, bytes) else str(i) for i in replies[:-1]]


async def read(
    redis: Redis, job_id: str, after: str, *, block_ms: int, count: int = 500
) -> list[tuple[str, AnyEvent]]:
    """Events after stream id `after`, waiting up to `block_ms` for the first one."""
    reply = await redis.xread({keys.events(job_id): after}, count=count, block=max(block_ms, 1))
    out: list[tuple[str, AnyEvent]] = []
    for _stream, entries in reply or []:
        out.extend(decode_entries(entries))
    return out


def decode_entries(entries: list[tuple[Any, dict[Any, Any]]] | None) -> list[tuple[str, AnyEvent]]:
    """(stream id, event) pairs of raw XREAD/XRANGE entries; entries without an event are skipped."""
    out: list[tuple[str, AnyEvent]] = []
    for entry_id, fields in entries or []:
        raw = fields.get(FIELD) or fields.get(FIELD.decode())
        if raw is None:
            continue
        eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        out.append((eid, decode_event(raw)))
    return out
