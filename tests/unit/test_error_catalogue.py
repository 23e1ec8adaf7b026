"""The error catalogue: each code once, with type, status, message and retry policy; one Retry-After."""

from __future__ import annotations

import json
import string

import pytest

from litellm_claude.jobs import errors
from litellm_claude.jobs.contract import ErrorEvent, JobError, decode_event, encode_event
from litellm_claude.openai_compat.errors import ApiError
from litellm_claude.worker import failures

ENTRIES = list(errors.CATALOGUE.values())
VARIANTS = [value for value in vars(errors).values() if isinstance(value, errors.ErrorCode)]


def _fields(entry: errors.ErrorCode) -> dict[str, str]:
    names = {name for _, name, _, _ in string.Formatter().parse(entry.message) if name}
    return {name: f"<{name}>" for name in names}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.code)
def test_every_code_has_a_type_status_and_message(entry: errors.ErrorCode) -> None:
    assert errors.CATALOGUE[entry.code] is entry
    assert entry.type and entry.message
    assert 400 <= entry.status < 600
    error = entry.error(**_fields(entry))
    assert (error.code, error.type, error.status) == (entry.code, entry.type, entry.status)
    assert "{" not in error.message


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda e: e.message[:30])
def test_a_variant_keeps_its_codes_type_status_and_policy(variant: errors.ErrorCode) -> None:
    entry = errors.CATALOGUE[variant.code]
    assert (variant.type, variant.status, variant.retry_after, variant.retryable, variant.fallback) == (
        entry.type,
        entry.status,
        entry.retry_after,
        entry.retryable,
        entry.fallback,
    )


def test_a_retry_after_is_only_given_for_what_may_be_retried() -> None:
    for entry in ENTRIES:
        if entry.retry_after is not None or entry.fallback:
            assert entry.retryable, entry.code


@pytest.mark.parametrize(
    ("code", "type", "status", "retry_after"),
    [
        ("queue_full", "service_unavailable_error", 503, 30.0),
        ("queue_timeout", "service_unavailable_error", 503, 10.0),
        ("queue_unavailable", "service_unavailable_error", 503, 5.0),
        ("no_worker", "service_unavailable_error", 503, 5.0),
        ("redis_unavailable", "service_unavailable_error", 503, 5.0),
        ("rate_limit_exceeded", "rate_limit_error", 429, 30.0),
        ("overloaded", "service_unavailable_error", 503, 10.0),
        ("usage_limit_reached", "rate_limit_error", 429, 3600.0),
        ("timeout", "timeout_error", 504, None),
        ("job_cancelled", "cancelled", 499, None),
        ("job_expired", "invalid_request_error", 410, None),
        ("job_lost", "api_error", 500, None),
        ("client_disconnected", "invalid_request_error", 499, None),
        ("internal_error", "api_error", 500, None),
    ],
)
def test_what_clients_see_is_as_before(code: str, type: str, status: int, retry_after: float | None) -> None:
    entry = errors.CATALOGUE[code]
    assert (entry.type, entry.status, entry.retry_after) == (type, status, retry_after)


def test_messages_are_filled_from_fields_and_detail() -> None:
    error = errors.JOB_EXPIRED.error(param="job_id", job_id="job_1", ttl=60)
    assert error.message == "Job job_1 has expired: job results are kept for 60 seconds after submission."
    assert error.param == "job_id"
    assert errors.CLI_FAILED.error("no result").message == "The Claude Code CLI failed. (no result)"
    with pytest.raises(KeyError):
        errors.NO_WORKER.error()  # a template's field may not be left out


def test_retry_after_is_formatted_once_in_whole_seconds() -> None:
    assert errors.retry_after_value(0.2) == "1"
    assert errors.retry_after_value(4.6) == "5"
    assert errors.retry_after_value(30.0) == "30"
    assert errors.QUEUE_FULL.error(retry_after=12.4).retry_after == 12.4
    api = ApiError.from_job_error(errors.QUEUE_TIMEOUT.error())
    assert api.headers() == {"Retry-After": "10"}
    assert ApiError.from_job_error(errors.TIMEOUT.error()).headers() == {}


def test_the_provider_sends_the_same_retry_after() -> None:
    pytest.importorskip("litellm")
    from litellm_claude.provider.errors import retry_after_headers, to_litellm_error

    assert retry_after_headers(4.6) == {"retry-after": "5"}
    exc = to_litellm_error(errors.QUEUE_UNAVAILABLE.error(reason="no REDIS_URL"), model="sonnet")
    assert getattr(exc, "code", None) == "queue_unavailable"
    assert getattr(exc, "status_code", None) == 503
    assert getattr(exc, "headers", None) == {"retry-after": "5"}


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda e: e.message[:30])
def test_job_error_and_api_error_round_trip(variant: errors.ErrorCode) -> None:
    error = variant.error(param="messages", **_fields(variant))
    api = ApiError.from_job_error(error)
    assert api.to_job_error() == error
    assert api.body() == errors.error_body(error)
    assert api.body() == {
        "error": {"message": error.message, "type": error.type, "param": "messages", "code": error.code}
    }
    assert ApiError.of(variant, param="messages", **_fields(variant)).to_job_error() == error


def test_error_events_keep_their_wire_json() -> None:
    event = ErrorEvent(attempt=2, error=errors.JOB_CANCELLED.error())
    wire = json.loads(encode_event(event))
    assert wire == {
        "attempt": 2,
        "type": "error",
        "error": {
            "type": "cancelled",
            "message": "The job was cancelled.",
            "status": 499,
            "code": "job_cancelled",
        },
    }
    old = (
        '{"attempt":1,"type":"error",'
        '"error":{"type":"timeout_error","message":"m","status":504,"code":"timeout"}}'
    )
    decoded = decode_event(old)
    assert isinstance(decoded, ErrorEvent)
    assert decoded.error == JobError(type="timeout_error", message="m", status=504, code="timeout")


def test_the_worker_table_uses_the_catalogue() -> None:
    for kind, row in failures.TABLE.items():
        assert errors.CATALOGUE[row.code].type == row.type, kind
    assert failures.cancelled() == errors.JOB_CANCELLED.error()
    assert errors.is_cancelled(failures.cancelled())
    inactivity = failures.failure("inactivity").error
    assert (inactivity.code, inactivity.status) == ("timeout", 504)
    assert inactivity.message == "The CLI produced nothing for too long; the job was stopped."


def test_only_the_catalogue_and_the_per_parameter_helpers_build_api_errors() -> None:
    """An error with a code of its own is a catalogue entry (`ApiError.of`), not a literal at the raise."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    # invalid_request, unsupported_endpoint; Starlette's own HTTP errors
    allowed = {"openai_compat/errors.py", "api/errors.py"}
    found = []
    for package in ("api", "batches", "jobs", "openai_compat", "provider", "service", "worker"):
        for path in (root / package).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if relative not in allowed and re.search(r"\bApiError\(", path.read_text()):
                found.append(relative)
    assert found == []
