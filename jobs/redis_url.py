"""REDIS_URL forms: a plain `redis://` / `rediss://` / `unix://` URL, or a Sentinel URL.

A Sentinel URL names the Sentinels and the monitored primary's name; every
process asks the Sentinels where the primary is, and asks again after a
failover:

    redis+sentinel://[[user]:password@]host:26379[,host2:26379...]/<primary-name>[/<db>]
    rediss+sentinel://...            (TLS to the Redis servers)

Query parameters: `sentinel_password` (if the Sentinels require AUTH; the
user:password part is for the Redis servers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SENTINEL_SCHEMES = frozenset({"redis+sentinel", "rediss+sentinel"})
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True, slots=True)
class SentinelUrl:
    sentinels: list[tuple[str, int]]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    ssl: bool = False

    def connection_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the connections to the primary (redis-py's Sentinel.master_for)."""
        kwargs: dict[str, Any] = {"db": self.db, "username": self.username, "password": self.password}
        if self.ssl:
            kwargs["ssl"] = True
        return kwargs

    def sentinel_kwargs(self) -> dict[str, Any]:
        return {"password": self.sentinel_password} if self.sentinel_password else {}


class RedisUrlError(ValueError):
    pass


def is_sentinel(url: str) -> bool:
    return url.split("://", 1)[0].lower() in SENTINEL_SCHEMES


def parse_sentinel(url: str) -> SentinelUrl:
    """Parse a `redis+sentinel://` URL; RedisUrlError (naming the problem, not the password) if bad."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SENTINEL_SCHEMES:
        raise RedisUrlError(f"not a Sentinel URL (scheme {parts.scheme!r})")
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username: str | None = None
    password: str | None = None
    if userinfo:
        user, sep, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if sep else None
    sentinels = [_host_port(item) for item in hostlist.split(",") if item.strip()]
    if not sentinels:
        raise RedisUrlError("a Sentinel URL needs at least one host:port")
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise RedisUrlError("a Sentinel URL's path is /<primary-name>[/<db>], e.g. /mymaster/0")
    try:
        db = int(path[1]) if len(path) == 2 else 0
    except ValueError:
        raise RedisUrlError(f"database must be a number, not {path[1]!r}") from None
    query = parse_qs(parts.query)
    return SentinelUrl(
        sentinels=sentinels,
        service=unquote(path[0]),
        db=db,
        username=username,
        password=password,
        sentinel_password=next(iter(query.get("sentinel_password", [])), None),
        ssl=parts.scheme.lower().startswith("rediss"),
    )


def _host_port(item: str) -> tuple[str, int]:
    item = item.strip()
    if item.startswith("["):  # [ipv6]:port
        host, _, rest = item[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
    try:
        return host, int(port) if port else DEFAULT_SENTINEL_PORT
    except ValueError:
        raise RedisUrlError(f"bad Sentinel address {item!r}") from None
