"""Limit signals, fast: parsing the CLI's events and texts, sane resets, account state, routing."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import fakeredis
import pytest
from pydantic import SecretStr

from litellm_claude.config.settings import Settings
from litellm_claude.config.signins import SignIn, load_signins
from litellm_claude.jobs import accounts
from litellm_claude.worker import failures, limits, routing

NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC).timestamp()


def test_the_structured_event_gives_window_reset_and_utilization() -> None:
    raw = {
        "status": "allowed",
        "resetsAt": NOW + 3000,
        "rateLimitType": "five_hour",
        "unifiedWindows": {
            "five_hour": {"utilization": 0.92, "resetsAt": NOW + 3000, "status": "allowed_warning"},
            "seven_day": {"utilization": 0.3, "resetsAt": NOW + 86400, "status": "allowed"},
        },
    }
    by_window = {r.window: r for r in limits.readings(raw)}
    assert by_window["five_hour"].utilization == 0.92
    assert by_window["five_hour"].status == "allowed_warning"
    assert by_window["seven_day"].reset_at == NOW + 86400
    assert limits.hit_from_event(raw, NOW) is None


def test_a_rejected_event_is_a_hit_scoped_by_its_window() -> None:
    five = limits.hit_from_event(
        {"status": "rejected", "resetsAt": NOW + 600, "rateLimitType": "five_hour"}, NOW
    )
    assert five is not None and five.reset_at == NOW + 600
    assert five.scope("claude-opus-5-5") == "account"
    opus = {"status": "rejected", "resetsAt": NOW + 86400, "rateLimitType": "seven_day_opus"}
    hit = limits.hit_from_event(opus, NOW)
    assert hit is not None and hit.scope("claude-opus-5-5") == "opus"
    readings = {r.window: r for r in limits.readings(opus)}
    assert readings["seven_day_opus"].status == "rejected"


@pytest.mark.parametrize(
    ("text", "window", "reset"),
    [
        ("You've hit your 5-hour limit · resets 8:12pm (UTC)", "five_hour", "2026-11-25T20:12"),
        ("You've hit your 5-hour limit · resets 12:30am (UTC)", "five_hour", "2026-11-26T00:30"),
        ("You've hit your session limit · resets 10pm (Europe/Berlin)", "five_hour", "2026-11-25T21:00"),
        ("You've hit your Opus limit · resets Nov 27, 8:29pm (UTC)", "seven_day_opus", "2026-11-27T20:29"),
        ("You've hit your weekly limit · resets Jan 2, 2027, 3pm (UTC)", "seven_day", None),
        ("Claude AI usage limit reached|1795640000", "unknown", "2026-11-25T20:53"),
        (
            "You've hit your limit · resets 4am (America/Los_Angeles)",
            "unknown",
            "2026-11-26T01:00",
        ),  # capped: 5 h
    ],
)
def test_every_text_form_is_parsed(text: str, window: str, reset: str | None) -> None:
    hit = limits.hit_from_text(text, NOW)
    assert hit is not None and hit.window == window
    if reset is not None:
        assert datetime.fromtimestamp(hit.reset_at, UTC).strftime("%Y-%m-%dT%H:%M") == reset
    else:  # 38 days away is longer than a week: capped to the window's length
        assert hit.reset_at == NOW + 7 * 86400


def test_bad_resets_never_make_a_stuck_cooldown(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert limits.sane_reset("five_hour", NOW - 3600, NOW) == NOW + limits.DEFAULT_WAIT_S
        assert limits.sane_reset("five_hour", NOW + 10 * 365 * 86400, NOW) == NOW + 5 * 3600
        assert limits.sane_reset("seven_day", None, NOW) == NOW + limits.DEFAULT_WAIT_S
        assert limits.sane_reset("mystery_window", NOW + 86400 * 30, NOW) == NOW + 5 * 3600
    assert len(caplog.records) == 4  # one clear line each


@pytest.mark.parametrize(
    "raw",
    [
        None,
        {},
        {"status": "rejected"},  # no window, no reset
        {"status": "weird", "rateLimitType": 7, "unifiedWindows": "nope"},
        {"unifiedWindows": {"five_hour": {"utilization": "NaN", "resetsAt": "soon", "status": 1}}},
        {"status": "rejected", "rateLimitType": "seven_day_haiku", "resetsAt": "x"},
    ],
)
def test_malformed_events_are_safe(raw: dict | None) -> None:
    hit = limits.hit_from_event(raw, NOW)
    if hit is not None:
        assert NOW < hit.reset_at <= NOW + 5 * 3600 + 60
    for reading in limits.readings(raw):
        assert reading.utilization is None or 0.0 <= reading.utilization <= 1.0


def test_limit_failure_names_window_and_reset() -> None:
    hit = limits.LimitHit("five_hour", NOW + 3599, "event")
    failure = failures.limit_failure(hit, signin="team-a", now=NOW)
    assert failure.error.status == 429 and failure.error.retry_after == 3599
    assert "5-hour limit" in failure.error.message and "2026-11-25T20:59:59Z" in failure.error.message
    assert "team-a" in failure.error.message
    text = failures.from_assistant_error("rate_limit", "You've hit your 5-hour limit · resets 8:12pm (UTC)")
    assert text.kind == "usage_limit" and text.limit is not None and text.limit.window == "five_hour"


def test_account_state_round_trips_through_redis() -> None:
    async def scenario() -> list[accounts.AccountState]:
        redis = fakeredis.FakeAsyncRedis()
        readings = limits.readings(
            {"unifiedWindows": {"five_hour": {"utilization": 0.5, "resetsAt": 4e9, "status": "allowed"}}}
        )
        await accounts.record_readings(redis, "q", "a", readings)
        await accounts.set_cooldown(redis, "q", "b", "opus", "seven_day_opus", 4e9)
        return await accounts.read_accounts(redis, "q", [("a", "oauth"), ("b", "oauth")])

    a, b = asyncio.run(scenario())
    assert a.utilization("sonnet") == 0.5 and a.cooldown_for("opus") is None
    blocked = b.cooldown_for("claude-opus-5-5")
    assert blocked is not None and blocked.window == "seven_day_opus"
    assert b.cooldown_for("claude-sonnet-5-5") is None
    assert a.to_json()["windows"]["five_hour"]["utilization"] == 0.5


def _signins() -> list[SignIn]:
    return [
        SignIn(name="a", oauth_token=SecretStr("tok-a")),
        SignIn(name="b", oauth_token=SecretStr("tok-b")),
        SignIn(name="payg", api_key=SecretStr("key-p")),
    ]


def _state(name: str, kind: str, used: float = 0.0, cooled: str | None = None) -> accounts.AccountState:
    state = accounts.AccountState(name, kind)
    state.windows["five_hour"] = accounts.WindowState("five_hour", "allowed", used, NOW + 3600, NOW)
    if cooled:
        state.cooldowns[cooled] = accounts.Cooldown(cooled, "five_hour", NOW + 600)
    return state


def test_routing_prefers_headroom_and_keeps_api_keys_for_opt_in_overflow() -> None:
    states = {
        "a": _state("a", "oauth", 0.7),
        "b": _state("b", "oauth", 0.2),
        "payg": _state("payg", "api_key"),
    }
    route = routing.plan(["opus", "sonnet"], _signins(), states, now=NOW)
    assert [(a.model, a.signin.name) for a in route.attempts] == [
        ("opus", "b"),
        ("opus", "a"),
        ("sonnet", "b"),
        ("sonnet", "a"),
    ]
    states["b"] = _state("b", "oauth", 0.2, cooled="account")
    states["a"] = _state("a", "oauth", 0.7, cooled="account")
    closed = routing.plan(["opus"], _signins(), states, now=NOW)
    assert closed.attempts == [] and closed.earliest() is not None
    opened = routing.plan(["opus"], _signins(), states, now=NOW, overflow=True)
    assert [a.signin.name for a in opened.attempts] == ["payg"]


def test_bulk_work_is_held_above_the_threshold_not_failed() -> None:
    states = {"a": _state("a", "oauth", 0.95), "b": _state("b", "oauth", 0.91)}
    signins = _signins()[:2]
    bulk = routing.plan(["sonnet"], signins, states, now=NOW, bulk=True, pause_at=0.9, recheck_s=5)
    assert bulk.attempts == [] and bulk.hold_until == NOW + 5
    interactive = routing.plan(["sonnet"], signins, states, now=NOW, pause_at=0.9)
    assert [a.signin.name for a in interactive.attempts] == ["b", "a"]


def test_signins_config(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        signins='[{"name": "a", "oauth_token": "sk-ant-oat01-secret-a"}, {"name": "b", "config_dir": "/x"}]',
        claude_home="/tmp/h",
    )
    a, b = load_signins(settings)
    assert (a.kind, b.kind) == ("oauth", "login")
    env = a.cli_env(settings)
    assert env["CLAUDE_CODE_OAUTH_TOKEN"] == "sk-ant-oat01-secret-a" and env["ANTHROPIC_API_KEY"] == ""
    assert env["CLAUDE_CONFIG_DIR"] == "/tmp/h/.claude-signins/a"
    assert "sk-ant-oat01-secret-a" in settings.secrets()
    with pytest.raises(ValueError) as bad:
        load_signins(
            Settings(signins='[{"name": "x", "oauth_token": "sk-secret-1", "api_key": "sk-secret-2"}]')
        )
    assert "sk-secret" not in str(bad.value)
    (default,) = load_signins(Settings(anthropic_api_key="sk-ant-api-xyz"))
    assert default.name == "default" and default.kind == "api_key"


def test_doctor_describes_each_account() -> None:
    from litellm_claude.service.doctor import describe_account

    state = _state("a", "oauth", 0.42)
    ok = describe_account(state, NOW)
    assert ok.status == "ok" and "5-hour limit 42%" in ok.detail
    state.cooldowns["account"] = accounts.Cooldown("account", "five_hour", NOW + 600)
    limited = describe_account(state, NOW)
    assert limited.status == "warn" and "until 2026-11-25T20:10:00Z" in limited.detail


def test_stored_readings_are_safe_whatever_the_event_says() -> None:
    raw = {
        "status": "rejected",
        "rateLimitType": "seven_day",
        "resetsAt": NOW + 10 * 365 * 86400,
        "unifiedWindows": {
            'bad"name': {"utilization": 0.5},
            "five_hour": {"utilization": 7, "resetsAt": NOW},
        },
    }
    by_window = {r.window: r for r in limits.readings(raw, NOW)}
    assert set(by_window) == {"seven_day", "five_hour"}
    assert by_window["seven_day"].reset_at == NOW + 7 * 86400 and by_window["seven_day"].utilization == 1.0
    assert by_window["five_hour"].utilization == 1.0


def test_the_notice_guard_holds_back_the_new_limit_texts() -> None:
    from litellm_claude.worker.notice_guard import NoticeGuard

    guard = NoticeGuard()
    assert guard.feed("You've hit your ") == ""
    assert guard.feed("5-hour limit · resets 8:12pm (UTC)") == ""
    assert guard.notice and guard.flush() == ""
    ordinary = NoticeGuard()
    assert ordinary.feed("You've hit your ") == ""
    assert ordinary.feed("stride today.") == "You've hit your stride today."
