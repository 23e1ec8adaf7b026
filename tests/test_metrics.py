"""/metrics of a real API after real requests: by model, priority and caller, HTTP routes, workers,
waiting vs running; and the shipped Grafana dashboard uses only metrics the API exports."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time

import httpx

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, REPO, Factory, Service
from tests.test_observability import metric, scrape

NAMED_KEY = "sk-test-graphiti-caller-5544332211"


def short_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def chat(
    svc: Service, content: str, *, key: str = API_KEY, model: str = "sonnet", **headers: str
) -> httpx.Response:
    return httpx.post(
        f"{svc.url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": content}]},
        headers={"Authorization": f"Bearer {key}", **headers},
        timeout=60,
    )


def wait_metric(svc: Service, what: str, check: object, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = scrape(svc)
        if callable(check) and check(text):
            return text
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{text[-3000:]}"
        time.sleep(0.1)


def test_job_and_http_metrics_by_model_priority_caller_and_route(service_factory: Factory) -> None:
    svc = service_factory(
        workers=1, API_KEYS=f"{API_KEY},{NAMED_KEY}", CALLER_LABELS=f"{short_hash(NAMED_KEY)}=graphiti"
    )
    mine = short_hash(API_KEY)
    assert chat(svc, "interactive sonnet").status_code == 200
    assert (
        chat(svc, "bulk haiku", key=NAMED_KEY, model="haiku", **{"X-Job-Priority": "bulk"}).status_code == 200
    )
    assert (
        httpx.get(
            f"{svc.url}/v1/jobs/job_{'0' * 32}", headers={"Authorization": f"Bearer {API_KEY}"}
        ).status_code
        == 404
    )
    assert httpx.get(f"{svc.url}/no/such/path").status_code == 404
    assert chat(svc, "unknown model", model="gpt-nope").status_code == 404

    text = scrape(svc)
    ok = 'outcome="succeeded"'
    assert metric(text, f'lc_jobs_total{{caller="{mine}",model="sonnet",priority="interactive",{ok}}}') == 1
    assert metric(text, f'lc_jobs_total{{caller="graphiti",model="haiku",priority="bulk",{ok}}}') == 1
    assert metric(text, 'lc_tokens_total{caller="graphiti",kind="output"}') > 0
    assert metric(text, f'lc_cost_usd_total{{caller="{mine}"}}') >= 0
    for name in ("lc_job_duration_seconds", "lc_queue_wait_seconds", "lc_time_to_first_token_seconds"):
        assert metric(text, f'{name}_count{{caller="{mine}",model="sonnet",priority="interactive"}}') == 1
        assert (
            metric(text, f'{name}_bucket{{caller="graphiti",model="haiku",priority="bulk",le="+Inf"}}') == 1
        )
    # never a key, nor the full owner hash it is stored under
    for secret in (API_KEY, NAMED_KEY, hashlib.sha256(API_KEY.encode()).hexdigest()[:32]):
        assert secret not in text

    http = "lc_http_requests_total"
    assert metric(text, f'{http}{{method="POST",route="/v1/chat/completions",status="200"}}') == 2
    assert metric(text, f'{http}{{method="POST",route="/v1/chat/completions",status="404"}}') == 1
    assert metric(text, f'{http}{{method="GET",route="/v1/jobs/{{job_id}}",status="404"}}') == 1
    assert metric(text, f'{http}{{method="GET",route="unmatched",status="404"}}') == 1
    assert "/no/such/path" not in text and "job_000" not in text

    queue = svc.env["QUEUE_NAME"]
    assert metric(text, f'lc_workers_live{{queue="{queue}"}}') == 1
    svc.start("worker-2", "worker")
    wait_metric(svc, "two live workers", lambda t: metric(t, "lc_workers_live") == 2)
    svc.stop("worker-1")
    svc.stop("worker-2")
    wait_metric(svc, "no live worker", lambda t: metric(t, "lc_workers_live") == 0)


def test_waiting_and_running_are_separate_gauges(
    service_factory: Factory, fake_upstream: FakeUpstream
) -> None:
    svc = service_factory(workers=1, WORKER_MAX_JOBS="1", GLOBAL_MAX_CLI="1")
    fake_upstream.state.set_delays(first_token_delay=4.0)
    replies: list[httpx.Response] = []
    threads = [threading.Thread(target=lambda i=i: replies.append(chat(svc, f"slow {i}"))) for i in range(2)]
    for thread in threads:
        thread.start()
    wait_metric(
        svc,
        "one running and one waiting job",
        lambda t: metric(t, "lc_jobs_running") == 1 and metric(t, "lc_jobs_waiting") == 1,
    )
    for thread in threads:
        thread.join()
    assert [r.status_code for r in replies] == [200, 200]
    text = wait_metric(svc, "an empty queue", lambda t: metric(t, "lc_queue_depth") == 0)
    assert metric(text, "lc_jobs_running") == 0 and metric(text, "lc_jobs_waiting") == 0


def test_grafana_dashboard_uses_exported_metrics(service: Service) -> None:
    dashboard = json.loads((REPO / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert exprs
    exported = set(re.findall(r"^# TYPE (\w+) (\w+)", scrape(service), re.M))
    names = {name for name, _ in exported} | {
        f"{name}{suffix}"
        for name, kind in exported
        if kind == "histogram"
        for suffix in ("_bucket", "_sum", "_count")
    }
    used = {m for expr in exprs for m in re.findall(r"\b(lc_\w+)", expr)}
    assert used and used <= names, used - names
    for wanted in ("lc_http_requests_total", "lc_workers_live", "lc_jobs_waiting", "lc_jobs_running"):
        assert wanted in used
