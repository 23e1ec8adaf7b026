"""The subscription limit windows and what each one binds: the whole account or one model family.

`five_hour` and `seven_day` bind the whole account (every model is limited, no
fallback helps); `seven_day_opus` / `seven_day_sonnet` bind one model family
(falling back to the other family still works).
"""

from __future__ import annotations

ACCOUNT_WINDOWS = frozenset({"five_hour", "seven_day"})
FAMILY_WINDOWS = {"seven_day_opus": "opus", "seven_day_sonnet": "sonnet"}
KNOWN_WINDOWS = ACCOUNT_WINDOWS | FAMILY_WINDOWS.keys()
SCOPE_ACCOUNT = "account"
LABELS = {
    "five_hour": "5-hour limit",
    "seven_day": "weekly limit",
    "seven_day_opus": "weekly Opus limit",
    "seven_day_sonnet": "weekly Sonnet limit",
}


def family(model: str) -> str:
    """Model family of a CLI model name or alias (opus, sonnet, haiku, or the name itself)."""
    lowered = model.lower()
    for name in ("opus", "sonnet", "haiku"):
        if name in lowered:
            return name
    return lowered


def binds(window: str, model: str) -> bool:
    """Whether `window` limits requests for `model`."""
    return window in ACCOUNT_WINDOWS or FAMILY_WINDOWS.get(window) == family(model)


def scope_binds(scope: str, model: str) -> bool:
    """Whether a cooldown of `scope` (account, or a family name) stops `model`."""
    return scope == SCOPE_ACCOUNT or scope == family(model)


def label(window: str) -> str:
    """The window in words, for messages."""
    return LABELS.get(window, "usage limit" if window in ("", "unknown") else f"{window} limit")
