"""Each sign-in's account state in Redis: latest utilization and reset per window, and cooldowns.

Workers write it (from the CLI's rate_limit_events and refusals); the API's
status endpoint, /metrics, `litellm-claude doctor` and the worker's routing read
it through `read_accounts`, the one reading function a status command or
dashboard should call. A cooldown is read only until its reset time, so none
can outlive it. Two hashes per sign-in, read in one round trip (no key scans).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from redis.asyncio import Redis

from litellm_claude.jobs import keys
from litellm_claude.jobs.connection import reply
from litellm_claude.jobs.windows import SCOPE_ACCOUNT, binds, scope_binds

WINDOWS_TTL_S = 8 * 86_400  # longer than the longest window


class Reading(Protocol):
    """One window as reported (worker.limits.WindowReading)."""

    @property
    def window(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def utilization(self) -> float | None: ...
    @property
    def reset_at(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class WindowState:
    window: str
    status: str
    utilization: float | None
    reset_at: float | None
    updated_at: float

    def current(self, now: float) -> bool:
        """Still describes the window: its reset has not passed."""
        return self.reset_at is None or self.reset_at > now


@dataclass(frozen=True, slots=True)
class Cooldown:
    scope: str  # "account" or a model family
    window: str
    reset_at: float


@dataclass(slots=True)
class AccountState:
    """One sign-in as the pool sees it. `kind` is oauth, login or api_key; never a secret."""

    name: str
    kind: str
    windows: dict[str, WindowState] = field(default_factory=dict)
    cooldowns: dict[str, Cooldown] = field(default_factory=dict)

    @property
    def subscription(self) -> bool:
        return self.kind != "api_key"

    def utilization(self, model: str | None = None, now: float | None = None) -> float:
        """Highest current utilization of the windows that bind `model` (all windows if None)."""
        now = time.time() if now is None else now
        values = [
            w.utilization
            for w in self.windows.values()
            if w.utilization is not None and w.current(now) and (model is None or binds(w.window, model))
        ]
        return max(values, default=0.0)

    def cooldown_for(self, model: str, now: float | None = None) -> Cooldown | None:
        """The cooldown that stops `model` on this sign-in (the account-wide one first)."""
        now = time.time() if now is None else now
        live = [c for c in self.cooldowns.values() if c.reset_at > now and scope_binds(c.scope, model)]
        live.sort(key=lambda c: (c.scope != SCOPE_ACCOUNT, c.reset_at))
        return live[0] if live else None

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        return {
            "name": self.name,
            "kind": self.kind,
            "utilization": round(self.utilization(now=now), 4),
            "windows": {
                name: {**asdict(w), "reset_at_iso": iso(w.reset_at)}
                for name, w in sorted(self.windows.items())
                if w.current(now)
            },
            "cooldowns": [
                {
                    **asdict(c),
                    "reset_at_iso": iso(c.reset_at),
                    "retry_after_s": max(0, round(c.reset_at - now)),
                }
                for c in sorted(self.cooldowns.values(), key=lambda c: c.reset_at)
                if c.reset_at > now
            ],
        }


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def record_readings(
    redis: Redis, queue: str, signin: str, readings: Iterable[Reading], now: float | None = None
) -> None:
    """Keep the latest state of each reported window (allowed and warning ones too)."""
    now = time.time() if now is None else now
    fields = {
        r.window: json.dumps(
            {"status": r.status, "utilization": r.utilization, "reset_at": r.reset_at, "updated_at": now}
        )
        for r in readings
    }
    if not fields:
        return
    key = keys.account_windows(queue, signin)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hset(key, mapping=fields)
        pipe.expire(key, WINDOWS_TTL_S)
        await pipe.execute()


async def set_cooldown(
    redis: Redis, queue: str, signin: str, scope: str, window: str, reset_at: float
) -> None:
    """Stop `scope` on `signin` until `reset_at` (readers ignore it from then on)."""
    if reset_at > time.time():
        key = keys.cooldowns(queue, signin)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, scope, json.dumps({"window": window, "reset_at": reset_at}))
            pipe.expire(key, WINDOWS_TTL_S)
            await pipe.execute()


async def clear_cooldown(redis: Redis, queue: str, signin: str, scope: str) -> None:
    await reply(redis.hdel(keys.cooldowns(queue, signin), scope))


async def read_accounts(redis: Redis, queue: str, signins: Sequence[tuple[str, str]]) -> list[AccountState]:
    """The state of each `(name, kind)` sign-in, its windows and live cooldowns, in one round trip."""
    if not signins:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for name, _ in signins:
            pipe.hgetall(keys.account_windows(queue, name))
            pipe.hgetall(keys.cooldowns(queue, name))
        results = await pipe.execute()
    now = time.time()
    states = []
    for index, (name, kind) in enumerate(signins):
        state = AccountState(name, kind)
        for field_name, parsed in _entries(results[2 * index]):
            state.windows[field_name] = WindowState(
                field_name,
                str(parsed.get("status", "unknown")),
                _float(parsed.get("utilization")),
                _float(parsed.get("reset_at")),
                _float(parsed.get("updated_at")) or 0.0,
            )
        for scope, parsed in _entries(results[2 * index + 1]):
            reset_at = _float(parsed.get("reset_at"))
            if reset_at is not None and reset_at > now:
                state.cooldowns[scope] = Cooldown(scope, str(parsed.get("window", "")), reset_at)
        states.append(state)
    return states


def _entries(raw: dict[Any, Any] | None) -> Iterable[tuple[str, dict[str, Any]]]:
    for key, value in (raw or {}).items():
        parsed = _loads(value)
        if parsed is not None:
            yield (key.decode() if isinstance(key, bytes) else str(key)), parsed


def _loads(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
