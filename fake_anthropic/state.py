"""Shared, lock-protected state of a fake upstream: requests, scripts, delays, counters.

The server runs in a uvicorn thread while tests mutate this object from the main
thread, so every access goes through one `threading.Lock`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# Headers never recorded: they carry credentials.
AUTH_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie"})

ERROR_OUTCOMES = frozenset({"429", "529", "500", "401"})
SIMPLE_OUTCOMES = ERROR_OUTCOMES | {"ok", "hang", "usage_limit"}


@dataclass(frozen=True)
class Outcome:
    """One parsed scripted outcome.

    kind is one of "ok", "429", "529", "500", "401", "hang", "usage_limit", "tool_use".
    """

    kind: str
    tool_name: str = ""
    tool_input: dict[str, Any] = field(default_factory=dict)
    reset_at: int | None = None  # usage_limit only: unix time the limit resets


def parse_outcome(text: str) -> Outcome:
    """Parse an outcome string; raise ValueError on anything unknown.

    Accepted: "ok", "429", "529", "500", "401", "hang", "usage_limit",
    "usage_limit:<unix reset time>", "tool_use:<ToolName>:<json object>".
    """
    if text in SIMPLE_OUTCOMES:
        return Outcome(kind=text)
    if text.startswith("usage_limit:"):
        return Outcome(kind="usage_limit", reset_at=int(text.split(":", 1)[1]))
    if text.startswith("tool_use:"):
        name, sep, raw = text[len("tool_use:") :].partition(":")
        tool_input = json.loads(raw) if sep else {}
        if not name or not isinstance(tool_input, dict):
            raise ValueError(f"bad tool_use outcome: {text!r}")
        return Outcome(kind="tool_use", tool_name=name, tool_input=tool_input)
    raise ValueError(f"unknown outcome: {text!r}")


# Unified subscription-limit windows: header abbreviation, and the model family a window binds.
WINDOW_HEADERS = {
    "five_hour": "5h",
    "seven_day": "7d",
    "seven_day_opus": "7d_opus",
    "seven_day_sonnet": "7d_sonnet",
}
WINDOW_FAMILY = {"seven_day_opus": "opus", "seven_day_sonnet": "sonnet"}
LIMIT_STATUSES = frozenset({"allowed", "allowed_warning", "rejected"})


def credential_id(secret: str) -> str:
    """A short, non-secret id of an API key or OAuth token, to tell callers apart in recordings."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def credential_of(headers: dict[str, str]) -> str:
    """The caller's API key or OAuth bearer token (lower-cased header names)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key", "")


@dataclass
class LimitWindow:
    """One scripted window of a sign-in: its status, utilization and reset (unix seconds)."""

    status: str = "allowed"
    utilization: float = 0.0
    reset: int = 0

    @classmethod
    def parse(cls, name: str, raw: dict[str, Any]) -> LimitWindow:
        if name not in WINDOW_HEADERS:
            raise ValueError(f"unknown window {name!r}; one of {sorted(WINDOW_HEADERS)}")
        window = cls(
            status=str(raw.get("status", "allowed")),
            utilization=float(raw.get("utilization", 0.0)),
            reset=int(raw.get("reset") or time.time() + 3600),
        )
        if window.status not in LIMIT_STATUSES:
            raise ValueError(f"unknown status {window.status!r}")
        return window


def _binds(window: str, model: str) -> bool:
    family = WINDOW_FAMILY.get(window)
    return family is None or family in model.lower()


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it (auth headers removed; `credential` is an id, not the secret)."""

    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float = 0.0  # time.monotonic() when it arrived
    credential: str = ""

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "query": self.query, "headers": self.headers, "body": self.body}


class FakeUpstreamState:
    """Everything a test can inspect or steer on a running fake upstream."""

    def __init__(self, first_token_delay: float = 0.0, token_delay: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._fifo: dict[str, deque[Outcome]] = {}
        self._sticky: dict[str, Outcome] = {}
        self._first_token_delay = first_token_delay
        self._token_delay = token_delay
        self._total = 0
        self._per_model: dict[str, int] = {}
        self._in_flight = 0
        self._peak_in_flight = 0
        self._closing = threading.Event()
        self._held = threading.Event()  # set: answers wait before their first token
        self._limits: dict[str, dict[str, LimitWindow]] = {}

    # -- recording -------------------------------------------------------------
    def record(
        self, path: str, query: str, headers: dict[str, str], body: dict[str, Any], *, count: bool
    ) -> RecordedRequest:
        """Store a request; `count` says whether it counts as a Messages call in stats."""
        lowered = {k.lower(): v for k, v in headers.items()}
        clean = {k: v for k, v in lowered.items() if k not in AUTH_HEADERS}
        secret = credential_of(lowered)
        rec = RecordedRequest(
            path=path,
            query=query,
            headers=clean,
            body=body,
            received_at=time.monotonic(),
            credential=credential_id(secret) if secret else "",
        )
        with self._lock:
            self._requests.append(rec)
            if count:
                self._total += 1
                self._per_model[rec.model] = self._per_model.get(rec.model, 0) + 1
        return rec

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def message_requests(self) -> list[RecordedRequest]:
        """Recorded `POST /v1/messages` requests only (no count_tokens)."""
        return [r for r in self.requests if r.path == "/v1/messages"]

    def clear_requests(self) -> None:
        """Forget recorded requests and reset counters (peak restarts at current in-flight)."""
        with self._lock:
            self._requests.clear()
            self._total = 0
            self._per_model.clear()
            self._peak_in_flight = self._in_flight

    # -- scripted outcomes -----------------------------------------------------
    def script(self, model: str, outcomes: list[str], sticky: bool = False) -> None:
        """Queue outcomes for requests whose model contains `model`.

        FIFO outcomes are consumed one per request. sticky=True takes exactly one
        outcome and repeats it for every matching request until cleared.
        """
        parsed = [parse_outcome(o) for o in outcomes]
        with self._lock:
            if sticky:
                if len(parsed) != 1:
                    raise ValueError("a sticky script takes exactly one outcome")
                self._sticky[model] = parsed[0]
            else:
                self._fifo.setdefault(model, deque()).extend(parsed)

    def clear_script(self, model: str | None = None) -> None:
        """Drop FIFO and sticky outcomes for `model` (all models when None)."""
        with self._lock:
            if model is None:
                self._fifo.clear()
                self._sticky.clear()
            else:
                self._fifo.pop(model, None)
                self._sticky.pop(model, None)

    def next_outcome(self, model: str) -> Outcome | None:
        """Consume the next FIFO outcome matching `model`, else the sticky one, else None."""
        with self._lock:
            for key, queue in self._fifo.items():
                if key in model and queue:
                    return queue.popleft()
            for key, outcome in self._sticky.items():
                if key in model:
                    return outcome
        return None

    def pending_script(self) -> dict[str, Any]:
        with self._lock:
            return {
                "fifo": {k: [o.kind for o in q] for k, q in self._fifo.items() if q},
                "sticky": {k: o.kind for k, o in self._sticky.items()},
            }

    # -- subscription limit windows ---------------------------------------------
    def set_limits(self, credential: str, windows: dict[str, dict[str, Any]]) -> None:
        """Script the unified limit headers for callers signed in with `credential` ("*": everyone).

        `windows` maps five_hour / seven_day / seven_day_opus / seven_day_sonnet to
        {"status": allowed|allowed_warning|rejected, "utilization": 0..1, "reset": unix s}.
        A rejected window that binds the request's model answers 429; a window
        whose reset has passed counts as fresh (allowed, utilization 0).
        """
        parsed = {name: LimitWindow.parse(name, raw) for name, raw in windows.items()}
        with self._lock:
            self._limits[credential] = parsed

    def clear_limits(self) -> None:
        with self._lock:
            self._limits.clear()

    def limit_answer(self, headers: dict[str, str], model: str) -> tuple[bool, dict[str, str]]:
        """(rejected?, unified headers) for a request; no headers when nothing is scripted."""
        secret = credential_of({k.lower(): v for k, v in headers.items()})
        with self._lock:
            windows = self._limits.get(secret) or self._limits.get("*")
            if not windows:
                return False, {}
            windows = dict(windows)
        now = time.time()
        live = {n: w for n, w in windows.items() if w.reset > now}
        out: dict[str, str] = {}
        for name, w in live.items():
            abbr = WINDOW_HEADERS[name]
            out[f"anthropic-ratelimit-unified-{abbr}-status"] = w.status
            out[f"anthropic-ratelimit-unified-{abbr}-utilization"] = f"{w.utilization:g}"
            out[f"anthropic-ratelimit-unified-{abbr}-reset"] = str(w.reset)
        binding = {n: w for n, w in live.items() if _binds(n, model)}
        rejected = [(n, w) for n, w in binding.items() if w.status == "rejected"]
        if rejected:
            name, window = min(rejected, key=lambda nw: nw[1].reset)
            status = "rejected"
        elif binding:
            name, window = max(binding.items(), key=lambda nw: nw[1].utilization)
            warned = any(w.status == "allowed_warning" for w in binding.values())
            status = "allowed_warning" if warned else "allowed"
        else:
            return False, out
        out["anthropic-ratelimit-unified-status"] = status
        out["anthropic-ratelimit-unified-reset"] = str(window.reset)
        out["anthropic-ratelimit-unified-representative-claim"] = name
        return bool(rejected), out

    # -- delays ----------------------------------------------------------------
    def set_delays(self, first_token_delay: float | None = None, token_delay: float | None = None) -> None:
        with self._lock:
            if first_token_delay is not None:
                self._first_token_delay = float(first_token_delay)
            if token_delay is not None:
                self._token_delay = float(token_delay)

    def delays(self) -> tuple[float, float]:
        """(first_token_delay, token_delay) in seconds."""
        with self._lock:
            return self._first_token_delay, self._token_delay

    # -- a gate --------------------------------------------------------------------
    def hold(self) -> None:
        """Answers wait before their first token until `release` (a test that must catch work mid-way)."""
        self._held.set()

    def release(self) -> None:
        self._held.clear()

    def holding(self) -> bool:
        return self._held.is_set()

    # -- in-flight accounting --------------------------------------------------
    def enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total_requests": self._total,
                "per_model": dict(self._per_model),
                "in_flight": self._in_flight,
                "peak_in_flight": self._peak_in_flight,
            }

    # -- shutdown --------------------------------------------------------------
    @property
    def closing(self) -> bool:
        """True while the server shuts down: "hang" streams end so shutdown is not blocked."""
        return self._closing.is_set()

    def set_closing(self, value: bool) -> None:
        if value:
            self._closing.set()
        else:
            self._closing.clear()
