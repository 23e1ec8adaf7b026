"""Classify what went wrong in a CLI run: one table from CLI signal to error, status and policy.

Each kind says which OpenAI error type and HTTP status the caller gets, whether
the caller may retry, and whether the worker should try the next model in the
chain instead of failing.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from litellm_claude.jobs.contract import JobError


@dataclass(frozen=True, slots=True)
class Kind:
    type: str
    status: int
    code: str
    message: str
    retryable: bool
    fallback: bool
    retry_after: float | None = None


TABLE: dict[str, Kind] = {
    "rate_limit": Kind(
        "rate_limit_error", 429, "rate_limit_exceeded", "Claude rate limit reached.", True, True, 30
    ),
    "overloaded": Kind(
        "service_unavailable_error", 503, "overloaded", "Claude is overloaded.", True, True, 10
    ),
    "usage_limit": Kind(
        "rate_limit_error",
        429,
        "usage_limit_reached",
        "The Claude account's usage limit is reached; retry after it resets.",
        True,
        True,
        3600,
    ),
    "authentication": Kind(
        "authentication_error",
        401,
        "upstream_authentication_failed",
        "The service's Claude sign-in is missing, expired or rejected; an operator must sign in again.",
        False,
        False,
    ),
    "billing": Kind(
        "insufficient_quota",
        429,
        "insufficient_quota",
        "The Claude account has no credit left.",
        False,
        False,
    ),
    "invalid_request": Kind(
        "invalid_request_error",
        400,
        "upstream_rejected_request",
        "Claude rejected the request.",
        False,
        False,
    ),
    "max_turns": Kind(
        "api_error", 502, "max_turns", "The model did not finish within the allowed turns.", True, False
    ),
    "upstream": Kind("api_error", 502, "upstream_error", "Claude answered with an error.", True, True),
    "cli_crash": Kind("api_error", 502, "cli_failed", "The Claude Code CLI failed.", True, False),
    "invalid_output": Kind(
        "api_error",
        502,
        "invalid_structured_output",
        "The model did not produce output matching response_format.",
        True,
        False,
    ),
    "timeout": Kind("timeout_error", 504, "timeout", "The job exceeded its time limit.", True, False),
    "inactivity": Kind(
        "timeout_error",
        504,
        "timeout",
        "The CLI produced nothing for too long; the job was stopped.",
        True,
        False,
    ),
    "cancelled": Kind("cancelled", 499, "job_cancelled", "The job was cancelled.", False, False),
}

USAGE_LIMIT_RE = re.compile(r"usage limit reached|limit reached\s*[·∙|]|hit your limit", re.IGNORECASE)
RESET_EPOCH_RE = re.compile(r"\|(\d{9,11})\b")
API_STATUS_RE = re.compile(r"API Error:\s*(?:Request rejected\s*)?\(?(\d{3})\)?")
NOT_LOGGED_IN_RE = re.compile(
    r"not logged in|please run /login|invalid api key|oauth token (has )?expired", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Failure:
    kind: str
    error: JobError
    fallback_ok: bool
    reset_at: float | None = None


def failure(kind: str, detail: str = "", *, retry_after: float | None = None) -> Failure:
    row = TABLE[kind]
    message = f"{row.message} ({detail})" if detail else row.message
    return Failure(
        kind,
        JobError(
            type=row.type,
            code=row.code,
            message=message,
            status=row.status,
            retry_after=retry_after if retry_after is not None else row.retry_after,
        ),
        fallback_ok=row.fallback,
    )


def usage_limit(text: str, *, now: float | None = None) -> Failure | None:
    """A subscription usage-limit notice (it can arrive as a normal, non-error result)."""
    if not USAGE_LIMIT_RE.search(text or ""):
        return None
    now = time.time() if now is None else now
    match = RESET_EPOCH_RE.search(text)
    reset_at = float(match.group(1)) if match else now + TABLE["usage_limit"].retry_after  # type: ignore[operator]
    base = failure("usage_limit", retry_after=max(1.0, reset_at - now))
    return Failure(base.kind, base.error, base.fallback_ok, reset_at)


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
    return failure("cancelled").error
