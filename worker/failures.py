"""Classify what went wrong in a CLI run into a job error, and say whether a fallback may help."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from jobs.contract import JobError

USAGE_LIMIT_RE = re.compile(r"usage limit reached|limit reached\s*[·∙|]", re.IGNORECASE)
RESET_EPOCH_RE = re.compile(r"\|(\d{9,11})\b")
API_STATUS_RE = re.compile(r"API Error:\s*(?:Request rejected\s*)?\(?(\d{3})\)?")


@dataclass(frozen=True, slots=True)
class Failure:
    kind: str
    error: JobError
    fallback_ok: bool
    reset_at: float | None = None


def usage_limit(text: str, *, now: float | None = None) -> Failure | None:
    """A subscription usage-limit notice (it can arrive as a normal, non-error result)."""
    if not USAGE_LIMIT_RE.search(text or ""):
        return None
    now = time.time() if now is None else now
    match = RESET_EPOCH_RE.search(text)
    reset_at = float(match.group(1)) if match else None
    retry_after = max(1.0, reset_at - now) if reset_at else 3600.0
    return Failure(
        kind="usage_limit",
        error=JobError(
            type="rate_limit_error",
            code="usage_limit_reached",
            message="The Claude account's usage limit is reached; retry after it resets.",
            status=429,
            retry_after=retry_after,
        ),
        fallback_ok=True,
        reset_at=reset_at or now + retry_after,
    )


def from_status(status: int, detail: str = "") -> Failure:
    """An upstream HTTP status as the CLI reported it."""
    suffix = f" ({detail})" if detail else ""
    if status == 429:
        return Failure(
            "rate_limit",
            JobError(
                type="rate_limit_error",
                code="rate_limit_exceeded",
                message=f"Claude rate limit reached{suffix}.",
                status=429,
                retry_after=30.0,
            ),
            fallback_ok=True,
        )
    if status in (529, 503):
        return Failure(
            "overloaded",
            JobError(
                type="service_unavailable_error",
                code="overloaded",
                message=f"Claude is overloaded{suffix}.",
                status=503,
                retry_after=10.0,
            ),
            fallback_ok=True,
        )
    if status in (401, 403):
        return Failure(
            "authentication",
            JobError(
                type="authentication_error",
                code="upstream_authentication_failed",
                message="The service's Claude sign-in was rejected; an operator must sign in again.",
                status=401,
            ),
            fallback_ok=False,
        )
    if status == 400:
        return Failure(
            "bad_request",
            JobError(
                type="invalid_request_error",
                code="upstream_rejected_request",
                message=f"Claude rejected the request{suffix}.",
                status=400,
            ),
            fallback_ok=False,
        )
    return Failure(
        "upstream",
        JobError(
            type="api_error",
            code="upstream_error",
            message=f"Claude answered with an error (status {status}){suffix}.",
            status=502,
        ),
        fallback_ok=status >= 500,
    )


ASSISTANT_ERROR_STATUS = {
    "rate_limit": 429,
    "authentication_failed": 401,
    "billing_error": 402,
    "invalid_request": 400,
    "server_error": 500,
}


def from_assistant_error(code: str, text: str) -> Failure:
    limited = usage_limit(text)
    if limited:
        return limited
    match = API_STATUS_RE.search(text or "")
    if match:
        return from_status(int(match.group(1)))
    if code == "billing_error":
        return Failure(
            "billing",
            JobError(
                type="insufficient_quota",
                code="insufficient_quota",
                message="The Claude account has no credit or quota left.",
                status=429,
            ),
            fallback_ok=False,
        )
    return from_status(ASSISTANT_ERROR_STATUS.get(code, 500))


def internal(message: str) -> Failure:
    return Failure(
        "internal",
        JobError(type="api_error", code="cli_failed", message=message, status=502),
        fallback_ok=False,
    )


def timeout(message: str) -> Failure:
    return Failure(
        "timeout",
        JobError(type="timeout_error", code="timeout", message=message, status=504),
        fallback_ok=False,
    )


def cancelled() -> JobError:
    return JobError(type="cancelled", code="job_cancelled", message="The job was cancelled.", status=499)
