"""Schemathesis against the running API's own OpenAPI schema: valid and invalid requests for every
operation, a bounded number of cases, no 5xx, and every 4xx an OpenAI-style error body."""

from __future__ import annotations

import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode

from tests.conftest import API_KEY, Service

CASES = 300  # ~20 s on 2 shared cores; generation is derandomized, so every run sends the same requests


def _check(case: Case, status: int, body: Any, text: str) -> None:
    where = f"{case.method} {case.formatted_path} body={case.body!r:.300}"
    assert status < 500, f"{where} -> {status}: {text[:500]}"
    if status >= 400:
        assert isinstance(body, dict) and isinstance(body.get("error"), dict), (
            f"{where} -> {status}: {text[:300]}"
        )
        assert set(body["error"]) == {"message", "type", "param", "code"}, f"{where} -> {text[:300]}"
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_schema_driven_requests_get_no_5xx_and_openai_errors(service: Service) -> None:
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    cases = st.one_of(schema.as_strategy(), schema.as_strategy(GenerationMode.NEGATIVE))
    seen: dict[int, int] = {}
    started = time.monotonic()

    @settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case: Case) -> None:
        response = case.call(base_url=service.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60)
        try:
            body = response.json()
        except ValueError:
            body = None
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        _check(case, response.status_code, body, response.text)

    run()
    assert sum(seen.values()) >= CASES // 2, seen
    assert any(400 <= status < 500 for status in seen), seen
    print(f"schemathesis: {sum(seen.values())} requests in {time.monotonic() - started:.1f} s: {seen}")
