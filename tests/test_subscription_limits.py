"""Subscription sign-ins against the fake's unified limit headers, with the real CLI.

Workers sign in with CLAUDE_CODE_OAUTH_TOKEN (the only sign-in for which the
CLI reads the limit headers and emits rate_limit_events). The fake answers each
token with the windows a test scripts for it.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from typing import Any

import httpx

from litellm_claude.fake_anthropic import FakeUpstream, credential_id
from tests.conftest import API_KEY, Factory, Service
from tests.helpers.waiting import wait_for

TOKEN_A = "sk-ant-oat01-test-subscription-a-0123456789"
TOKEN_B = "sk-ant-oat01-test-subscription-b-0123456789"
PAYG_KEY = "sk-ant-api03-test-pay-per-token-0123456789"
DEADLINE_S = 60.0
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def oauth_service(factory: Factory, token: str = TOKEN_A, **overrides: str) -> Service:
    """A service signed in the zero-config way: CLAUDE_CODE_OAUTH_TOKEN, no API key."""
    return factory(ANTHROPIC_API_KEY="", CLAUDE_CODE_OAUTH_TOKEN=token, **overrides)


def signins_service(factory: Factory, **overrides: str) -> Service:
    signins = [
        {"name": "team-a", "oauth_token": TOKEN_A},
        {"name": "team-b", "oauth_token": TOKEN_B},
        {"name": "payg", "api_key": PAYG_KEY},
    ]
    return factory(ANTHROPIC_API_KEY="", SIGNINS=json.dumps(signins), **overrides)


def chat(svc: Service, content: str, model: str = "default", **headers: str) -> httpx.Response:
    return httpx.post(
        f"{svc.url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": content}]},
        headers={**HEADERS, **headers},
        timeout=DEADLINE_S,
    )


def windows(**spec: tuple[str, float, float]) -> dict[str, dict[str, Any]]:
    return {name: {"status": s, "utilization": u, "reset": int(r)} for name, (s, u, r) in spec.items()}


poll = functools.partial(wait_for, timeout=DEADLINE_S, every=0.25)


def models_sent(fake: FakeUpstream) -> list[str]:
    return [r.model for r in fake.state.message_requests()]


def test_five_hour_rejection_is_429_until_the_reset_then_service_resumes(
    service_factory: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = oauth_service(service_factory)
    reset = time.time() + 30  # far enough for a slow first CLI run, near enough to wait for
    fake_upstream.state.set_limits(TOKEN_A, windows(five_hour=("rejected", 1.0, reset)))
    first = chat(svc, "over the limit")
    assert first.status_code == 429, first.text
    error = first.json()["error"]
    assert error["code"] == "usage_limit_reached"
    assert "5-hour limit" in error["message"] and "resets at" in error["message"]
    retry_after = int(first.headers["retry-after"])
    assert reset - time.time() - 2 <= retry_after <= reset - time.time() + 2, retry_after
    # one upstream call (Opus), then no fallback: the 5-hour window binds every model
    assert len(models_sent(fake_upstream)) == 1
    fake_upstream.state.clear_requests()
    refused_at = time.monotonic()
    second = chat(svc, "still limited")
    assert second.status_code == 429
    assert time.monotonic() - refused_at < 5  # refused at once: no CLI ran
    assert abs(int(second.headers["retry-after"]) - (reset - time.time())) <= 2
    assert models_sent(fake_upstream) == []
    # poll until normal service returns; the upstream is not called before the reset
    reset_mono = time.monotonic() + (reset - time.time())
    answer = poll(
        lambda: (r := chat(svc, "back again")).status_code == 200 and r,
        "service to resume",
        timeout=60,
        every=1,
    )
    assert answer.json()["choices"][0]["message"]["content"] == "You said: back again"
    sent = fake_upstream.state.message_requests()
    assert sent and all(r.received_at >= reset_mono - 1.5 for r in sent), "upstream called during cooldown"


def test_opus_weekly_limit_falls_back_to_sonnet_and_sticks(
    service_factory: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = oauth_service(service_factory)
    reset = time.time() + 2 * 86400
    fake_upstream.state.set_limits(TOKEN_A, windows(seven_day_opus=("rejected", 1.0, reset)))
    first = chat(svc, "opus is out")
    assert first.status_code == 200, first.text
    assert "sonnet" in first.json()["model"]
    assert ["opus" in m for m in models_sent(fake_upstream)] == [True, False]
    fake_upstream.state.clear_requests()
    second = chat(svc, "straight to sonnet")
    assert second.status_code == 200 and "sonnet" in second.json()["model"]
    assert not any("opus" in m for m in models_sent(fake_upstream)), "Opus was tried during its weekly limit"
    status = httpx.get(f"{svc.url}/v1/status/accounts", headers=HEADERS, timeout=10).json()
    (account,) = status["accounts"]
    assert account["name"] == "default" and account["kind"] == "oauth"
    assert [c["scope"] for c in account["cooldowns"]] == ["opus"]


def test_bulk_work_waits_above_the_threshold_while_interactive_work_goes_on(
    service_factory: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = oauth_service(service_factory, BULK_PAUSE_AT_UTILIZATION="0.9", BULK_PAUSE_RECHECK_S="0.5")
    reset = time.time() + 3600
    fake_upstream.state.set_limits(TOKEN_A, windows(five_hour=("allowed_warning", 0.95, reset)))
    warm = chat(svc, "learn the utilization", model="sonnet")
    assert warm.status_code == 200, warm.text
    bulk_text = f"bulk {uuid.uuid4().hex[:8]}"
    job = httpx.post(
        f"{svc.url}/v1/jobs",
        json={"model": "sonnet", "messages": [{"role": "user", "content": bulk_text}]},
        headers=HEADERS,
        timeout=30,
    ).json()
    assert job["priority"] == "bulk"
    interactive = chat(svc, "interactive goes on", model="sonnet")
    assert interactive.status_code == 200, interactive.text

    def job_status() -> dict[str, Any]:
        return httpx.get(f"{svc.url}/v1/jobs/{job['id']}", headers=HEADERS, timeout=30).json()

    # the held job stays queued (not failed) and never reaches the upstream
    poll(lambda: int(_metric(svc, "lc_bulk_holds_total")) >= 2, "the bulk job to be held twice")
    assert job_status()["status"] == "queued"
    assert not any(bulk_text in json.dumps(r.body) for r in fake_upstream.state.message_requests())
    # utilization drops (an interactive answer reports it): the held job resumes by itself
    fake_upstream.state.set_limits(TOKEN_A, windows(five_hour=("allowed", 0.5, reset)))
    assert chat(svc, "utilization is lower now", model="sonnet").status_code == 200
    done = poll(
        lambda: (s := job_status())["status"] in ("succeeded", "failed") and s, "the held job to finish"
    )
    assert done["status"] == "succeeded", done
    assert done["result"]["choices"][0]["message"]["content"] == f"You said: {bulk_text}"


def _metric(svc: Service, name: str) -> float:
    text = httpx.get(f"{svc.url}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_two_subscriptions_share_the_work_and_api_keys_only_overflow_when_opted_in(
    service_factory: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = signins_service(service_factory)
    reset = time.time() + 3600
    fake_upstream.state.set_limits(TOKEN_A, windows(five_hour=("rejected", 1.0, reset)))
    fake_upstream.state.set_limits(TOKEN_B, windows(five_hour=("allowed", 0.1, reset)))
    moved = chat(svc, "team-a is limited")
    assert moved.status_code == 200, moved.text
    creds = [r.credential for r in fake_upstream.state.message_requests()]
    assert creds == [credential_id(TOKEN_A), credential_id(TOKEN_B)]
    fake_upstream.state.clear_requests()
    assert chat(svc, "straight to team-b").status_code == 200
    assert [r.credential for r in fake_upstream.state.message_requests()] == [credential_id(TOKEN_B)]
    # team-b limited too: no opt-in, so the API key is never used
    fake_upstream.state.set_limits(TOKEN_B, windows(five_hour=("rejected", 1.0, reset)))
    fake_upstream.state.clear_requests()
    refused = chat(svc, "everyone is limited")
    assert refused.status_code == 429, refused.text
    assert "team-" in refused.json()["error"]["message"]
    assert credential_id(PAYG_KEY) not in [r.credential for r in fake_upstream.state.message_requests()]
    status = httpx.get(f"{svc.url}/v1/status/accounts", headers=HEADERS, timeout=10).json()
    by_name = {a["name"]: a for a in status["accounts"]}
    assert by_name["team-b"]["windows"]["five_hour"]["status"] == "rejected"
    assert by_name["payg"]["kind"] == "api_key"
    assert TOKEN_A not in svc.logs() and PAYG_KEY not in json.dumps(status)
    metrics = httpx.get(f"{svc.url}/metrics", timeout=10).text
    assert 'lc_account_utilization{signin="team-b",window="five_hour"} 1' in metrics
    svc.stop_all()

    opted_in = signins_service(service_factory, API_KEY_OVERFLOW="true")
    fake_upstream.state.clear_requests()
    paid = chat(opted_in, "overflow to the API key")
    assert paid.status_code == 200, paid.text
    creds = [r.credential for r in fake_upstream.state.message_requests()]
    assert creds == [credential_id(TOKEN_A), credential_id(TOKEN_B), credential_id(PAYG_KEY)]
