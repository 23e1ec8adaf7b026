"""Records that belong to an owner: loading one, and an owner's index that forgets expired entries."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis

from litellm_claude.jobs import keys

M = TypeVar("M", bound=BaseModel)


async def load(
    redis: Redis, key: str, model: type[M], item_id: str, id_re: re.Pattern[str], owner: str | None
) -> M | None:
    """The record at `key` if `item_id` is well formed and the record is the owner's; else None."""
    if not id_re.match(item_id):
        return None
    raw = await redis.get(key)
    if raw is None:
        return None
    record = model.model_validate_json(raw)
    return record if getattr(record, "owner", None) == owner else None


def index(pipe: Any, owner: str | None, kind: str, item_id: str, created: float, ttl: int) -> None:
    """Add `item_id` to the owner's index of `kind` on a pipeline."""
    pipe.zadd(keys.owned(owner, kind), {item_id: created})
    pipe.expire(keys.owned(owner, kind), ttl)


async def live_records(
    redis: Redis, owner: str | None, kind: str, key_of: Callable[[str], str]
) -> list[bytes]:
    """The owner's live records of `kind`, newest first; expired ones leave the index."""
    ids = [i.decode() for i in await redis.zrevrange(keys.owned(owner, kind), 0, -1)]
    if not ids:
        return []
    raws = await redis.mget([key_of(i) for i in ids])
    gone = [i for i, raw in zip(ids, raws, strict=True) if raw is None]
    if gone:
        await redis.zrem(keys.owned(owner, kind), *gone)
    return [raw for raw in raws if raw is not None]
