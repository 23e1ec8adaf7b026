"""Hold back the start of an answer while it could still be a usage-limit notice.

A subscription usage limit can arrive as an ordinary, successful answer whose
text is the notice. Streaming it to the caller would be wrong (the job should
fall back to the next model instead), so text is released only once it can no
longer be the beginning of a known notice. Ordinary answers are delayed by at
most a few tokens, and only when they start like a notice.
"""

from __future__ import annotations

NOTICE_PREFIXES = (
    "claude ai usage limit reached",
    "claude usage limit reached",
    "usage limit reached",
    "5-hour limit reached",
    "weekly limit reached",
    "opus weekly limit reached",
    "you've hit your limit",
    "you've hit your 5-hour limit",
    "you've hit your session limit",
    "you've hit your weekly limit",
    "you've hit your opus limit",
    "you've hit your sonnet limit",
    "you've reached your usage limit",
)


class NoticeGuard:
    def __init__(self) -> None:
        self._held = ""
        self.released = False
        self.notice = False

    def feed(self, text: str) -> str:
        if self.released:
            return text
        self._held += text
        probe = self._held.lstrip().lower()
        if any(probe.startswith(p) for p in NOTICE_PREFIXES):
            self.notice = True
            return ""
        if any(p.startswith(probe) for p in NOTICE_PREFIXES):
            return ""  # still ambiguous
        self.released = True
        out, self._held = self._held, ""
        return out

    def flush(self) -> str:
        if self.notice:
            return ""
        out, self._held = self._held, ""
        return out
