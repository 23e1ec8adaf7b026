"""Which sign-in runs a job on which model: headroom first, fallback next, API keys last, or wait.

A pure function of the sign-ins, their account state and the job's model chain.
For each model of the chain, subscription sign-ins that are not cooling down
for it run first, lowest utilization first (declaration order breaks ties).
API-key sign-ins beside subscriptions are an opt-in overflow (API_KEY_OVERFLOW)
that comes after every subscription attempt. Bulk work skips sign-ins at or
above BULK_PAUSE_AT_UTILIZATION and, when nothing is left, waits in the queue
instead of failing; interactive work with nothing left is refused at once with
the earliest reset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from litellm_claude.config.signins import SignIn
from litellm_claude.jobs.accounts import AccountState, Cooldown


@dataclass(frozen=True, slots=True)
class Attempt:
    model: str
    signin: SignIn


@dataclass(frozen=True, slots=True)
class Blocker:
    """Why a sign-in cannot take a model now, and until when."""

    signin: str
    model: str
    cooldown: Cooldown


@dataclass(slots=True)
class Route:
    attempts: list[Attempt] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)  # sign-ins skipped for bulk work (above the threshold)
    hold_until: float | None = None  # bulk work: wait in the queue until then

    def earliest(self) -> Blocker | None:
        return min(self.blockers, key=lambda b: b.cooldown.reset_at, default=None)


def plan(
    chain: Sequence[str],
    signins: Sequence[SignIn],
    states: dict[str, AccountState],
    *,
    now: float,
    bulk: bool = False,
    pause_at: float | None = None,
    overflow: bool = False,
    recheck_s: float = 30.0,
) -> Route:
    route = Route()
    subscriptions = [s for s in signins if s.subscription]
    api_keys = [s for s in signins if not s.subscription]
    first = subscriptions or api_keys  # with no subscription at all, API keys are simply the sign-ins
    later = api_keys if subscriptions and overflow else []
    for group in (first, later):
        for model in chain:
            usable: list[tuple[float, int, SignIn]] = []
            for index, signin in enumerate(group):
                state = states.get(signin.name) or AccountState(signin.name, signin.kind)
                blocked = state.cooldown_for(model, now)
                if blocked is not None:
                    route.blockers.append(Blocker(signin.name, model, blocked))
                    continue
                used = state.utilization(model, now)
                if bulk and pause_at is not None and signin.subscription and used >= pause_at:
                    route.paused.append(signin.name)
                    continue
                usable.append((used, index, signin))
            route.attempts += [Attempt(model, s) for _, _, s in sorted(usable, key=lambda u: (u[0], u[1]))]
    if not route.attempts and bulk and pause_at is not None and (route.paused or route.blockers):
        resets: list[float | None] = [b.cooldown.reset_at for b in route.blockers]
        resets += [_window_reset(states[name], now) for name in route.paused if name in states]
        route.hold_until = min([now + recheck_s, *[r for r in resets if r is not None]])
    return route


def _window_reset(state: AccountState, now: float) -> float | None:
    """When the busiest window of a paused sign-in resets (utilization drops to zero)."""
    current = [w for w in state.windows.values() if w.current(now) and w.utilization is not None]
    busiest = max(current, key=lambda w: w.utilization or 0.0, default=None)
    return busiest.reset_at if busiest else None
