"""Operations: /metrics moves with jobs and fallbacks, /ready, request ids and job ids in JSON logs."""

from __future__ import annotations

import json
import re
import uuid

import httpx

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, Factory, Service


def metric(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(service: Service) -> str:
    response = httpx.get(f"{service.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def chat(service: Service, content: str, model: str = "sonnet", **headers: str) -> httpx.Response:
    return httpx.post(
        f"{service.url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": content}]},
        headers={"Authorization": f"Bearer {API_KEY}", **headers},
        timeout=60,
    )


def test_metrics_move_after_a_completion_and_a_fallback(
    service: Service, fake_upstream: FakeUpstream
) -> None:
    succeeded = 'lc_jobs_total{code="",outcome="succeeded"}'
    before = scrape(service)
    assert chat(service, "count me").status_code == 200
    after = scrape(service)
    assert metric(after, succeeded) == metric(before, succeeded) + 1
    assert metric(after, "lc_job_duration_seconds_count") > metric(before, "lc_job_duration_seconds_count")
    assert metric(after, "lc_time_to_first_token_seconds_count") > metric(
        before, "lc_time_to_first_token_seconds_count"
    )
    assert metric(after, 'lc_tokens_total{kind="output"}') > metric(before, 'lc_tokens_total{kind="output"}')
    for name in ("lc_queue_depth", "lc_cli_processes", "lc_cooldowns_active", "lc_queue_wait_seconds_bucket"):
        assert name in after

    fake_upstream.state.script("opus", ["429"], sticky=True)
    assert chat(service, "fall back", model="default").status_code == 200
    assert metric(scrape(service), "lc_fallbacks_total") == metric(after, "lc_fallbacks_total") + 1


def test_ready_reports_redis_and_workers(service: Service) -> None:
    response = httpx.get(f"{service.url}/ready", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"redis": "ok", "workers": "ok"}


def test_ready_is_503_without_a_worker(service_factory: Factory) -> None:
    svc = service_factory(workers=0)
    response = httpx.get(f"{svc.url}/ready", timeout=10)
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "ok"


def test_request_and_job_ids_are_on_json_log_lines(service: Service) -> None:
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    response = chat(service, "trace me", **{"X-Request-ID": request_id})
    assert response.headers["x-request-id"] == request_id
    job_id = "job_" + response.json()["id"].removeprefix("chatcmpl-")
    lines = [json.loads(line) for line in service.logs().splitlines() if line.startswith("{")]
    api_lines = [entry for entry in lines if entry.get("request_id") == request_id]
    assert api_lines and all(entry.get("job_id") == job_id for entry in api_lines if "job_id" in entry)
    assert any(entry.get("job_id") == job_id for entry in api_lines)
    worker_lines = [entry for entry in lines if entry.get("job_id") == job_id and "request_id" not in entry]
    assert worker_lines, "the worker logs the job id too"
    assert not re.search(re.escape(API_KEY), service.logs())
