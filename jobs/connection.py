"""One way to open the Redis connection the job client uses (API, provider, tests)."""

from __future__ import annotations

from arq import ArqRedis
from redis.asyncio import BlockingConnectionPool

from litellm_claude.jobs import codec


def connect(url: str, *, default_queue: str, max_connections: int = 2000) -> ArqRedis:
    """An ArqRedis with JSON job serialization.

    Each waiting request holds one connection in a blocking XREAD, so the pool is
    large and blocking (a request waits for a free connection instead of failing).
    """
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=30)
    return ArqRedis(
        pool,
        job_serializer=codec.dumps,
        job_deserializer=codec.loads,
        default_queue_name=default_queue,
    )
