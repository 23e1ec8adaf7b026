"""OpenAI `stop`: cut the answer at the first stop sequence, also while streaming.

The CLI has no stop-sequence option, so the worker applies it to the text: a
streamed delta is held back only as long as it could still be the start of a
stop sequence.
"""

from __future__ import annotations


class StopScanner:
    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Text that is safe to emit now; empty once a stop sequence has been seen."""
        if self.stopped:
            return ""
        if not self.stops:
            return text
        self._pending += text
        cut = min((i for s in self.stops if (i := self._pending.find(s)) >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self._pending = self._pending[:cut], ""
            return out
        keep = self._held_suffix()
        out = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(self._pending) - keep :]
        return out

    def flush(self) -> str:
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out

    def _held_suffix(self) -> int:
        """Length of the longest tail of the pending text that begins some stop sequence."""
        best = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(self._pending)), best, -1):
                if self._pending.endswith(stop[:n]):
                    best = n
                    break
        return best


def apply_stops(text: str, stops: list[str]) -> tuple[str, bool]:
    scanner = StopScanner(stops)
    out = scanner.feed(text) + scanner.flush()
    return out, scanner.stopped
