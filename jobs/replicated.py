"""Accepted work confirmed on replicas before the caller hears "accepted" (Redis WAIT), if configured.

Redis replicates asynchronously: a primary that dies right after acknowledging a
write can take it along (docs/operations.md). With REDIS_WAIT_REPLICAS=N, the
writes that accept async jobs and batches run on one dedicated connection, each
followed by `WAIT N REDIS_WAIT_TIMEOUT_MS` on that same connection (WAIT covers the
writes of its own connection only). Fewer than N acknowledgements is a 503: the
work is on the primary but not known to be safe, and may still run; a retry with
the same Idempotency-Key finds it instead of creating it twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from litellm_claude.jobs import errors
from litellm_claude.jobs.connection import connect
from litellm_claude.jobs.contract import JobError


class NotReplicated(Exception):
    def __init__(self, error: JobError) -> None:
        super().__init__(error.message)
        self.error = error


class ReplicatedWrites:
    """`async with writes.connection(pool) as redis:` writes there, then waits for the replicas."""

    def __init__(self, url: str | None, *, replicas: int, timeout_ms: int, queue: str) -> None:
        self.replicas = replicas
        self.timeout_ms = timeout_ms
        self._redis = connect(url, default_queue=queue, max_connections=1) if url and replicas > 0 else None
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def connection(self, pool: Redis) -> AsyncIterator[Redis]:
        if self._redis is None:
            yield pool
            return
        async with self._lock:  # one connection: the WAIT below covers exactly these writes
            yield self._redis
            acked = int(await self._redis.execute_command("WAIT", self.replicas, self.timeout_ms))
        if acked < self.replicas:
            raise NotReplicated(not_replicated_error(acked, self.replicas, self.timeout_ms))

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def not_replicated_error(acked: int, wanted: int, timeout_ms: int) -> JobError:
    return errors.NOT_REPLICATED.error(acked=acked, wanted=wanted, timeout_ms=timeout_ms)
