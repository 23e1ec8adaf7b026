"""Subscription limit signals: what the CLI says about an account's windows, parsed and classified.

Two sources, both pure functions here: the CLI's structured `rate_limit_event`
(`rate_limit_info.raw`: status, window type, reset, utilization per window) and
the texts it prints when a request is refused ("You've hit your 5-hour limit ·
resets 8:12pm (UTC)", "Claude AI usage limit reached|<epoch>", "... resets
<time>"). The structured event wins when both arrive.

Windows: `five_hour` and `seven_day` bind the whole account (every model);
`seven_day_opus` / `seven_day_sonnet` bind one model family (fall back to the
other). Every reset goes through `sane_reset`, so a bad or far-off value can
never leave a cooldown stuck.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litellm_claude.jobs.windows import ACCOUNT_WINDOWS, FAMILY_WINDOWS, KNOWN_WINDOWS, SCOPE_ACCOUNT, family

log = logging.getLogger(__name__)

STATUSES = frozenset({"allowed", "allowed_warning", "rejected"})
WINDOW_LENGTH_S = {"five_hour": 5 * 3600.0, "seven_day": 7 * 86400.0}
WINDOW_NAME_RE = re.compile(r"[a-z0-9_]{1,40}")
DEFAULT_WAIT_S = 60.0  # a refusal whose reset is unknown, past or absurd: look again after this

# The CLI's names for windows in its refusal texts (five_hour is also "session limit").
TEXT_WINDOWS = {
    "5-hour": "five_hour",
    "session": "five_hour",
    "weekly": "seven_day",
    "opus": "seven_day_opus",
    "sonnet": "seven_day_sonnet",
}
HIT_RE = re.compile(r"you've hit your (5-hour|session|weekly|opus|sonnet) limit", re.IGNORECASE)
LEGACY_RE = re.compile(r"usage limit reached\|(\d{9,11})\b", re.IGNORECASE)
LIMIT_TEXT_RE = re.compile(
    r"usage limit reached|you've hit your (?:5-hour |session |weekly |opus |sonnet )?limit", re.IGNORECASE
)
RESETS_RE = re.compile(
    r"resets\s+(?:(?P<month>[A-Z][a-z]{2})\s+(?P<day>\d{1,2}),\s+(?:(?P<year>\d{4}),\s+)?)?"
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm)(?:\s*\((?P<tz>[^)]+)\))?",
    re.IGNORECASE,
)
MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


@dataclass(frozen=True, slots=True)
class WindowReading:
    """One window's state as the upstream last reported it."""

    window: str
    status: str
    utilization: float | None
    reset_at: float | None


@dataclass(frozen=True, slots=True)
class LimitHit:
    """A refusal: which window, until when, and where we learned it (event or text)."""

    window: str
    reset_at: float
    source: str

    def scope(self, model: str) -> str:
        """What the refusal binds: the whole account, or one model family."""
        if self.window in ACCOUNT_WINDOWS:
            return SCOPE_ACCOUNT
        return FAMILY_WINDOWS.get(self.window) or family(model)


def sane_reset(window: str, reset_at: float | None, now: float | None = None) -> float:
    """A reset time that can be trusted for a cooldown: never past, never beyond the window's length.

    Unknown or past resets (a clock that disagrees) wait `DEFAULT_WAIT_S`; resets
    further away than the window could last are cut to its length. One log line each.
    """
    now = time.time() if now is None else now
    if reset_at is None:
        log.warning("limit %s came without a reset time; looking again in %.0f s", window, DEFAULT_WAIT_S)
        return now + DEFAULT_WAIT_S
    if reset_at <= now:
        log.warning(
            "limit %s reports a reset %.0f s in the past (clocks disagree?); looking again in %.0f s",
            window,
            now - reset_at,
            DEFAULT_WAIT_S,
        )
        return now + DEFAULT_WAIT_S
    longest = _longest(window)
    if reset_at - now > longest + DEFAULT_WAIT_S:
        log.warning(
            "limit %s reports a reset %.0f s away, longer than the window; capping at %.0f s",
            window,
            reset_at - now,
            longest,
        )
        return now + longest
    return reset_at


# --- The structured event ------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None  # no NaN/inf


def _status(value: Any) -> str:
    return value if value in STATUSES else "unknown"


def readings(raw: dict[str, Any] | None, now: float | None = None) -> list[WindowReading]:
    """Every window a `rate_limit_event` reports (its `raw` dict), made safe to store.

    Malformed parts and odd window names are skipped; utilization is kept within
    0..1 (1 for a refusal that gives none); a reset further away than the window
    can last is cut to its length, so a stored window never looks busy for years.
    """
    if not isinstance(raw, dict):
        return []
    now = time.time() if now is None else now
    found: dict[str, WindowReading] = {}
    windows = raw.get("unifiedWindows")
    for name, info in windows.items() if isinstance(windows, dict) else ():
        if isinstance(info, dict):
            _add(found, name, info.get("status"), info.get("utilization"), info.get("resetsAt"), now)
    main = raw.get("rateLimitType")
    known = found.get(main) if isinstance(main, str) else None
    if known is None or raw.get("status") == "rejected":
        utilization = raw.get("utilization", known.utilization if known else None)
        reset = raw.get("resetsAt") or (known.reset_at if known else None)
        _add(found, main, raw.get("status"), utilization, reset, now)
    unknown = [name for name in found if name not in KNOWN_WINDOWS]
    if unknown:
        log.info("rate limit event names windows this service does not know: %s", ", ".join(sorted(unknown)))
    return list(found.values())


def _add(
    found: dict[str, WindowReading], name: Any, status: Any, utilization: Any, reset: Any, now: float
) -> None:
    if not isinstance(name, str) or not WINDOW_NAME_RE.fullmatch(name):
        return
    state = _status(status)
    used = _number(utilization)
    if used is None and state == "rejected":
        used = 1.0
    reset_at = _number(reset)
    longest = _longest(name)
    if reset_at is not None and reset_at > now + longest + DEFAULT_WAIT_S:
        reset_at = now + longest
    found[name] = WindowReading(name, state, None if used is None else min(max(used, 0.0), 1.0), reset_at)


def _longest(window: str) -> float:
    """The longest a window can last: its length; a week for other known ones, 5 h for unknown ones."""
    if window in WINDOW_LENGTH_S:
        return WINDOW_LENGTH_S[window]
    return WINDOW_LENGTH_S["seven_day" if window in KNOWN_WINDOWS else "five_hour"]


def hit_from_event(raw: dict[str, Any] | None, now: float | None = None) -> LimitHit | None:
    """The refusal a `rate_limit_event` announces (status rejected), if any."""
    if not isinstance(raw, dict) or raw.get("status") != "rejected":
        rejected = [r for r in readings(raw, now) if r.status == "rejected"]
        if not rejected:
            return None
        first = rejected[0]
        return LimitHit(first.window, sane_reset(first.window, first.reset_at, now), "event")
    window = raw.get("rateLimitType")
    if not isinstance(window, str) or not window:
        log.warning("rate limit event rejected without a window type; treating it as the 5-hour window")
        window = "five_hour"
    return LimitHit(window, sane_reset(window, _number(raw.get("resetsAt")), now), "event")


# --- The texts -------------------------------------------------------------------------


def is_limit_text(text: str) -> bool:
    return bool(LIMIT_TEXT_RE.search(text or ""))


def hit_from_text(text: str, now: float | None = None) -> LimitHit | None:
    """The refusal a CLI text announces, in any of the forms the CLI prints."""
    if not is_limit_text(text):
        return None
    now = time.time() if now is None else now
    named = HIT_RE.search(text)
    window = TEXT_WINDOWS[named.group(1).lower()] if named else "unknown"
    legacy = LEGACY_RE.search(text)
    if legacy:
        return LimitHit(window, sane_reset(window, float(legacy.group(1)), now), "text")
    return LimitHit(window, sane_reset(window, reset_from_text(text, now), now), "text")


def reset_from_text(text: str, now: float) -> float | None:
    """The epoch of "resets 8:12pm (UTC)" / "resets Nov 28, 3pm (Europe/Berlin)"; None if absent."""
    match = RESETS_RE.search(text or "")
    if not match:
        return None
    zone = _zone(match.group("tz"))
    hour = int(match.group("hour")) % 12 + (12 if match.group("ampm").lower() == "pm" else 0)
    minute = int(match.group("minute") or 0)
    if hour > 23 or minute > 59:
        return None
    local_now = datetime.fromtimestamp(now, zone)
    try:
        if match.group("month"):
            month = MONTHS.get(match.group("month").lower())
            if month is None:
                return None
            year = int(match.group("year") or local_now.year)
            at = datetime(year, month, int(match.group("day")), hour, minute, tzinfo=zone)
            if not match.group("year") and at.timestamp() < now - 86400:
                at = at.replace(year=year + 1)  # "Jan 2" seen on Dec 30
            return at.timestamp()
    except ValueError:
        return None
    at = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at.timestamp() <= now - 60:
        at += timedelta(days=1)  # a time of day already past today means tomorrow
    return at.timestamp()


def _zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r in a limit notice; reading the reset as UTC", name)
        return UTC


def event_raw(info: Any) -> dict[str, Any]:
    """The raw dict of an SDK RateLimitInfo, rebuilt from its fields when the SDK gave none."""
    raw = getattr(info, "raw", None)
    if isinstance(raw, dict) and raw:
        return raw
    return {
        "status": getattr(info, "status", None),
        "resetsAt": getattr(info, "resets_at", None),
        "rateLimitType": getattr(info, "rate_limit_type", None),
        "utilization": getattr(info, "utilization", None),
    }
