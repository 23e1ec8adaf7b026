"""One way to open Redis connections from REDIS_URL (API, provider, workers, doctor, tests).

A plain URL connects to one server; a `redis+sentinel://` URL (jobs/redis_url.py)
asks the Sentinels for the current primary on every new connection, so after a
failover the next command goes to the promoted replica.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar, cast, overload

import redis
from arq import ArqRedis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel
from redis.sentinel import Sentinel as SyncSentinel

from litellm_claude.jobs import codec
from litellm_claude.jobs.redis_url import is_sentinel, parse_sentinel

CONNECT_TIMEOUT_S = 5.0
R = TypeVar("R", bound=Redis)
T = TypeVar("T")


def connect(url: str, *, default_queue: str, max_connections: int = 2000) -> ArqRedis:
    """An ArqRedis with JSON job serialization.

    Each waiting request holds one connection in a blocking XREAD, so the pool is
    large and blocking (a request waits for a free connection instead of failing).
    """
    if is_sentinel(url):
        client = async_client(url, redis_class=ArqRedis, max_connections=max_connections)
    else:
        pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=30, socket_connect_timeout=CONNECT_TIMEOUT_S
        )
        client = ArqRedis(pool)
    client.job_serializer = codec.dumps
    client.job_deserializer = codec.loads
    client.default_queue_name = default_queue
    return client


@overload
def async_client(url: str, *, redis_class: type[R], **kwargs: Any) -> R: ...
@overload
def async_client(url: str, **kwargs: Any) -> Redis: ...
def async_client(url: str, *, redis_class: type[Redis] = Redis, **kwargs: Any) -> Redis:
    """An asyncio client for a plain or a Sentinel URL."""
    kwargs.setdefault("socket_connect_timeout", CONNECT_TIMEOUT_S)
    if not is_sentinel(url):
        return redis_class.from_url(url, **kwargs)
    target = parse_sentinel(url)
    sentinel = Sentinel(
        target.sentinels,
        sentinel_kwargs={"socket_connect_timeout": CONNECT_TIMEOUT_S, **target.sentinel_kwargs()},
    )
    return sentinel.master_for(
        target.service, redis_class=redis_class, **target.connection_kwargs(), **kwargs
    )


def sync_client(url: str, **kwargs: Any) -> redis.Redis:
    """A blocking client for a plain or a Sentinel URL (doctor, scripts, tests)."""
    kwargs.setdefault("socket_connect_timeout", CONNECT_TIMEOUT_S)
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **kwargs)
    target = parse_sentinel(url)
    sentinel = SyncSentinel(
        target.sentinels,
        sentinel_kwargs={"socket_connect_timeout": CONNECT_TIMEOUT_S, **target.sentinel_kwargs()},
    )
    return sentinel.master_for(target.service, **target.connection_kwargs(), **kwargs)


def reply(value: Awaitable[T] | T) -> Awaitable[T]:
    """An asyncio client's reply, typed as what it is: redis-py's stubs give every command one
    signature for its sync and asyncio clients, returning `Awaitable[T] | T`."""
    return cast("Awaitable[T]", value)


def sync_reply(value: Awaitable[T] | T) -> T:
    """A sync client's reply, typed as what it is (see `reply`)."""
    return cast("T", value)
