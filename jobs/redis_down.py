"""What counts as "Redis is away", and the error every front door answers with meanwhile.

Connection refused or reset, timeouts, a server still loading its data, no
primary known to the Sentinels, a primary demoted to a replica mid-failover,
a primary refusing writes for lack of replicas (`min-replicas-to-write`), or a
connection lost in the middle of a WATCH (redis-py raises a WatchError then):
all are temporary, so callers get 503 with Retry-After, never a 500.
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from litellm_claude.jobs import errors
from litellm_claude.jobs.contract import JobError

_TEMPORARY_REPLIES = ("NOREPLICAS", "READONLY", "MASTERDOWN", "LOADING", "TRYAGAIN")
REDIS_DOWN: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)


def is_redis_down(exc: BaseException) -> bool:
    if isinstance(exc, REDIS_DOWN):
        return True
    if isinstance(exc, WatchError):
        # redis-py turns a connection lost under WATCH into a WatchError raised from it
        return isinstance(exc.__context__, REDIS_DOWN)
    return isinstance(exc, ResponseError) and str(exc).startswith(_TEMPORARY_REPLIES)


def redis_unavailable_error() -> JobError:
    return errors.REDIS_UNAVAILABLE.error()
