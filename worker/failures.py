"""Classify what went wrong in a CLI run: one table from CLI signal to error, status and policy.

Each kind says which OpenAI error type and HTTP status the caller gets, whether
the caller may retry, and whether the worker should try the next model in the
chain instead of failing.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from litellm_claude.jobs import errors
from litellm_claude.jobs.accounts import iso
from litellm_claude.jobs.contract import JobError
from litellm_claude.jobs.errors import ErrorCode
from litellm_claude.jobs.windows import label
from litellm_claude.worker import limits
from litellm_claude.worker.limits import LimitHit

log = logging.getLogger(__name__)

# Each kind of failure and its catalogue entry (type, status, message, retry policy, fallback).
TABLE: dict[str, ErrorCode] = {
    "rate_limit": errors.RATE_LIMIT,
    "overloaded": errors.OVERLOADED,
    "usage_limit": errors.USAGE_LIMIT,
    "authentication": errors.UPSTREAM_AUTHENTICATION,
    "billing": errors.INSUFFICIENT_QUOTA,
    "invalid_request": errors.UPSTREAM_REJECTED,
    "max_turns": errors.MAX_TURNS,
    "upstream": errors.UPSTREAM_ERROR,
    "unreachable": errors.UPSTREAM_UNREACHABLE,
    "cli_crash": errors.CLI_FAILED,
    "invalid_output": errors.INVALID_OUTPUT,
    "tool_use_only": errors.TOOL_USE_ONLY,
    "timeout": errors.TIMEOUT,
    "inactivity": errors.INACTIVITY,
    "cancelled": errors.JOB_CANCELLED,
}

API_STATUS_RE = re.compile(r"API Error:\s*(?:Request rejected\s*)?\(?(\d{3})\)?")
# The CLI's text when no HTTP answer came at all, e.g. "API Error: Connection refused — a
# firewall or proxy may be blocking it (ECONNREFUSED)". The caller gets the kind of trouble,
# the worker's log the CLI's words (they may name internal hosts).
UNREACHABLE_RE = re.compile(
    r"API Error:[^\n]*?(?:\b(?P<code>ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH)\b"
    r"|(?P<words>Connection refused|Connection error|Unable to connect|timed out))",
    re.IGNORECASE,
)
UNREACHABLE_REASONS = {
    "econnrefused": "connection refused",
    "connection refused": "connection refused",
    "enotfound": "host not found",
    "eai_again": "host not found",
    "etimedout": "timed out",
    "timed out": "timed out",
    "econnreset": "connection reset",
    "ehostunreach": "host unreachable",
}
NOT_LOGGED_IN_RE = re.compile(
    r"not logged in|please run /login|invalid api key|oauth token (has )?expired", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Failure:
    kind: str
    error: JobError
    fallback_ok: bool
    reset_at: float | None = None
    limit: LimitHit | None = None  # a subscription window refused the request


def failure(kind: str, detail: str = "", *, retry_after: float | None = None) -> Failure:
    row = TABLE[kind]
    return Failure(kind, row.error(detail, retry_after=retry_after), fallback_ok=row.fallback)


def usage_limit(text: str, *, now: float | None = None) -> Failure | None:
    """A subscription usage-limit notice in any text form (it can arrive as a normal result)."""
    hit = limits.hit_from_text(text, now)
    return limit_failure(hit, now=now) if hit else None


def limit_failure(hit: LimitHit, *, signin: str | None = None, now: float | None = None) -> Failure:
    """429 naming the window and its reset; Retry-After is the time left until it."""
    now = time.time() if now is None else now
    where = f" (sign-in '{signin}')" if signin else ""
    retry_after = max(1.0, round(hit.reset_at - now))
    row = errors.USAGE_LIMIT_WINDOW
    error = row.error(retry_after=retry_after, window=label(hit.window), where=where, reset=iso(hit.reset_at))
    return Failure("usage_limit", error, fallback_ok=row.fallback, reset_at=hit.reset_at, limit=hit)


def from_status(status: int, detail: str = "") -> Failure:
    """An upstream HTTP status as the CLI reported it."""
    if status == 429:
        return failure("rate_limit", detail)
    if status in (529, 503):
        return failure("overloaded", detail)
    if status in (401, 403):
        return failure("authentication", detail)
    if status == 402:
        return failure("billing", detail)
    if 400 <= status < 500:
        return failure("invalid_request", detail or f"status {status}")
    return failure("upstream", detail or f"status {status}")


ASSISTANT_ERROR_KIND = {
    "rate_limit": "rate_limit",
    "authentication_failed": "authentication",
    "billing_error": "billing",
    "invalid_request": "invalid_request",
    "server_error": "upstream",
}


def from_text(text: str) -> Failure | None:
    """Failures the CLI only reports as text (usage limit, sign-in problems, API errors)."""
    limited = usage_limit(text)
    if limited:
        return limited
    if NOT_LOGGED_IN_RE.search(text or ""):
        return failure("authentication")
    match = API_STATUS_RE.search(text or "")
    if match:
        return from_status(int(match.group(1)))
    unreachable = UNREACHABLE_RE.search(text or "")
    if unreachable:
        log.warning("the Claude API could not be reached: %s", text.strip()[:300])
        found = (unreachable.group("code") or unreachable.group("words")).lower()
        return failure("unreachable", UNREACHABLE_REASONS.get(found, "connection error"))
    return None


CLI_REJECTS_SCHEMA = re.compile(r"not a valid JSON Schema[^\n]*", re.IGNORECASE)


def from_cli_stderr(lines: list[str]) -> Failure | None:
    """Failures the CLI explains only on stderr before exiting (e.g. a schema it cannot take)."""
    for line in lines:
        match = CLI_REJECTS_SCHEMA.search(line)
        if match:
            return failure("invalid_request", match.group(0)[:300])
    return None


def from_assistant_error(code: str, text: str) -> Failure:
    return from_text(text) or failure(ASSISTANT_ERROR_KIND.get(code, "upstream"))


def cancelled() -> JobError:
    return errors.JOB_CANCELLED.error()
