"""The error classification table: each CLI signal maps to one error type, status and policy."""

from __future__ import annotations

import pytest

from litellm_claude.worker import failures
from litellm_claude.worker.notice_guard import NoticeGuard
from litellm_claude.worker.stop_sequences import StopScanner, apply_stops


@pytest.mark.parametrize(
    ("failure", "kind", "status", "fallback"),
    [
        (failures.from_status(429), "rate_limit", 429, True),
        (failures.from_status(529), "overloaded", 503, True),
        (failures.from_text("Claude AI usage limit reached|1900000000"), "usage_limit", 429, True),
        (failures.from_text("Not logged in · Please run /login"), "authentication", 401, False),
        (failures.from_text("OAuth token has expired"), "authentication", 401, False),
        (
            failures.from_assistant_error("authentication_failed", "Invalid API key"),
            "authentication",
            401,
            False,
        ),
        (failures.from_assistant_error("billing_error", "Credit balance is too low"), "billing", 429, False),
        (failures.from_status(400), "invalid_request", 400, False),
        (failures.failure("max_turns"), "max_turns", 502, False),
        (failures.failure("cli_crash"), "cli_crash", 502, False),
        (failures.failure("tool_use_only", "Bash"), "tool_use_only", 502, False),
        (failures.failure("timeout"), "timeout", 504, False),
        (failures.failure("inactivity"), "inactivity", 504, False),
        (failures.from_text("API Error: Request rejected (429) · slow down"), "rate_limit", 429, True),
        (failures.from_text("API Error: 529 overloaded"), "overloaded", 503, True),
        (failures.from_status(500), "upstream", 502, True),
    ],
)
def test_each_signal_has_one_row(
    failure: failures.Failure | None, kind: str, status: int, fallback: bool
) -> None:
    assert failure is not None
    assert failure.kind == kind
    assert failure.error.status == status
    assert failure.fallback_ok is fallback
    row = failures.TABLE[kind]
    assert failure.error.type == row.type


def test_usage_limit_reset_time_sets_retry_after() -> None:
    limited = failures.usage_limit("Claude AI usage limit reached|1900000000", now=1_899_999_400)
    assert limited is not None
    assert limited.reset_at == 1_900_000_000
    assert limited.error.retry_after == 600


def test_ordinary_text_is_not_a_failure() -> None:
    assert failures.from_text("Here is your answer about usage limits in general.") is None


def test_notice_guard_holds_only_what_could_be_a_notice() -> None:
    guard = NoticeGuard()
    assert guard.feed("You ") == "You "  # "you " cannot start a notice
    guard = NoticeGuard()
    assert guard.feed("Claude ") == ""
    assert guard.feed("is great") == "Claude is great"
    guard = NoticeGuard()
    assert guard.feed("Claude AI usage ") == ""
    assert guard.feed("limit reached|17") == ""
    assert guard.notice and guard.flush() == ""


def test_stop_sequences_cut_streams_and_whole_text() -> None:
    scanner = StopScanner(["END"])
    out = "".join(scanner.feed(t) for t in ["one E", "N", "D two"]) + scanner.flush()
    assert out == "one "
    assert apply_stops("abc\n\nxyz", ["\n\n"]) == ("abc", True)
    assert apply_stops("abc", ["zz"]) == ("abc", False)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)",
            "connection refused",
        ),
        ("API Error: getaddrinfo ENOTFOUND claude.internal.example", "host not found"),
        ("API Error: Connection error.", "connection error"),
        ("API Error: Request timed out.", "timed out"),
    ],
)
def test_an_unreachable_upstream_is_its_own_failure_naming_the_trouble(text: str, reason: str) -> None:
    failure = failures.from_text(text)
    assert failure is not None and failure.kind == "unreachable" and not failure.fallback_ok
    assert failure.error.code == "upstream_unreachable" and failure.error.status == 502
    assert failure.error.message == f"The Claude API could not be reached. ({reason})"
    assert "internal" not in failure.error.message  # host names stay in the worker's log
