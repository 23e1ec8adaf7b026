"""`GET /v1/jobs`: the caller's jobs, newest first, as an OpenAI-style list with status filters and paging."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import Service, start_service
from tests.test_async_jobs import bearer, body, submit, unique, wait_for

# Keys of this module alone: job lists are per key, and the test Redis is shared by every run.
API_KEY = f"sk-test-list-{uuid.uuid4().hex}"
OTHER_KEY = f"sk-test-list-other-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def svc(
    redis_url: str, fake_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    service = start_service(
        redis_url, fake_upstream, tmp_path_factory, workers=0, API_KEYS=f"{API_KEY},{OTHER_KEY}"
    )
    try:
        yield service
    finally:
        service.stop_all()


def wait_done(url: str, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        view = httpx.get(f"{url}/v1/jobs/{job_id}", headers=bearer(API_KEY), timeout=30).json()
        return view if view["status"] in ("succeeded", "failed") else None

    return wait_for(done, f"job {job_id} to finish")


def list_jobs(url: str, key: str = API_KEY, **params: Any) -> httpx.Response:
    return httpx.get(f"{url}/v1/jobs", params=params, headers=bearer(key), timeout=30)


def test_list_filter_and_page(svc: Service) -> None:
    url = svc.url
    mine = [submit(url, body(unique(f"job {i}")), bearer(API_KEY)).json()["id"] for i in range(5)]
    theirs = submit(url, body(unique("other")), bearer(OTHER_KEY)).json()["id"]
    assert (
        httpx.delete(f"{url}/v1/jobs/{mine[1]}", headers=bearer(API_KEY), timeout=30).json()["status"]
        == "cancelled"
    )

    whole = list_jobs(url).json()
    assert whole["object"] == "list"
    assert [job["id"] for job in whole["data"]] == mine[::-1]  # newest first, only the caller's
    assert whole["first_id"] == mine[-1] and whole["last_id"] == mine[0]
    assert whole["has_more"] is False
    assert all(job["object"] == "job" for job in whole["data"])
    assert [job["id"] for job in list_jobs(url, OTHER_KEY).json()["data"]] == [theirs]

    # paging: `after` is the last id of the previous page
    seen: list[str] = []
    after: str | None = None
    while True:
        page = list_jobs(url, limit=2, **({"after": after} if after else {})).json()
        seen += [job["id"] for job in page["data"]]
        assert len(page["data"]) <= 2
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == mine[::-1]

    # status filters: one value, repeated values, comma-separated values
    assert [j["id"] for j in list_jobs(url, status="cancelled").json()["data"]] == [mine[1]]
    queued = [j["id"] for j in list_jobs(url, status="queued").json()["data"]]
    assert queued == [mine[4], mine[3], mine[2], mine[0]]
    svc.start("worker", "worker")
    try:
        for job_id in (mine[0], mine[2], mine[3], mine[4]):
            assert wait_done(url, job_id)["status"] == "succeeded"
    finally:
        svc.stop("worker")
    succeeded = list_jobs(url, status="succeeded", limit=3).json()
    assert [j["id"] for j in succeeded["data"]] == [mine[4], mine[3], mine[2]]
    assert succeeded["has_more"] is True
    rest = list_jobs(url, status="succeeded", limit=3, after=succeeded["last_id"]).json()
    assert [j["id"] for j in rest["data"]] == [mine[0]] and rest["has_more"] is False
    both = httpx.get(
        f"{url}/v1/jobs", params=[("status", "cancelled"), ("status", "succeeded")], headers=bearer(API_KEY)
    ).json()
    assert len(both["data"]) == 5
    assert len(list_jobs(url, status="queued,cancelled").json()["data"]) == 1
    assert list_jobs(url, status="running").json() == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"status": "done"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"after": "job_x"}, "after"),
    ],
)
def test_bad_list_parameters_are_400(svc: Service, params: dict[str, Any], param: str) -> None:
    reply = list_jobs(svc.url, **params)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["param"] == param


def test_list_needs_a_key(svc: Service) -> None:
    assert httpx.get(f"{svc.url}/v1/jobs", timeout=30).status_code == 401
