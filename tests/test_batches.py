"""Batches for real: `/v1/jobs/batch` and the OpenAI Batch API through the official SDK."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import openai
import pytest

from litellm_claude.fake_anthropic import FakeUpstream
from tests import test_async_jobs
from tests.conftest import API_KEY, Service
from tests.test_async_jobs import OTHER_KEY, bearer, body, get_job, upstream_saw, wait_for

idle_service = test_async_jobs.idle_service  # API with two keys and no worker (module-scoped fixture)
MALFORMED = {
    7: {"model": "gpt-nope", "messages": [{"role": "user", "content": "x"}]},
    23: {"model": "sonnet"},
    41: {"model": "sonnet", "messages": [{"role": "user", "content": "x"}], "n": 3},
}


@pytest.fixture
def client(service: Service) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0, timeout=60)


def post_batch(url: str, requests: list[Any], key: str = API_KEY) -> httpx.Response:
    return httpx.post(f"{url}/v1/jobs/batch", json={"requests": requests}, headers=bearer(key), timeout=60)


def get_batch(url: str, batch_id: str) -> dict[str, Any]:
    reply = httpx.get(f"{url}/v1/jobs/batch/{batch_id}", headers=bearer(), timeout=60)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def test_batch_of_50_with_3_malformed_items(service: Service) -> None:
    tag = uuid.uuid4().hex[:8]
    requests = [MALFORMED.get(i) or body(f"item {i} of {tag}") for i in range(50)]
    reply = post_batch(service.url, requests)
    assert reply.status_code == 202, reply.text
    batch = reply.json()
    assert batch["object"] == "job.batch"
    assert batch["total"] == 50 and batch["rejected"] == 3
    rejected = {item["index"]: item["error"] for item in batch["items"] if item["job_id"] is None}
    assert set(rejected) == set(MALFORMED)
    assert rejected[7]["code"] == "model_not_found"
    assert rejected[23]["param"] == "messages" and rejected[23]["type"] == "invalid_request_error"
    assert rejected[41]["param"] == "n"

    done = wait_for(
        lambda: (b := get_batch(service.url, batch["id"]))["status"] == "completed" and b,
        "the batch to complete",
        timeout=120,
    )
    assert done["counts"] == {"queued": 0, "running": 0, "succeeded": 47, "failed": 3, "cancelled": 0}
    assert done["progress"] == 1.0
    for item in done["items"]:
        if item["index"] in MALFORMED:
            assert item["status"] == "failed" and item["error"]["message"]
            continue
        assert item["status"] == "succeeded"
        text = item["result"]["choices"][0]["message"]["content"]
        assert text == f"You said: item {item['index']} of {tag}"
    one = get_job(service.url, done["items"][0]["job_id"]).json()
    assert one["batch_id"] == batch["id"] and one["priority"] == "bulk"


def test_batch_past_the_size_limit_is_413(service: Service, fake_upstream: FakeUpstream) -> None:
    tag = uuid.uuid4().hex
    reply = post_batch(service.url, [body(f"too many {tag}")] * 1001)
    assert reply.status_code == 413
    assert reply.json()["error"]["code"] == "batch_too_large"
    empty = post_batch(service.url, [])
    assert empty.status_code == 400
    assert not upstream_saw(fake_upstream, tag)


def test_a_batch_belongs_to_its_key(service: Service) -> None:
    reply = httpx.get(f"{service.url}/v1/jobs/batch/jbatch_{'0' * 32}", headers=bearer(), timeout=30)
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "batch_not_found"


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _line(custom_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": payload}


def test_openai_sdk_batch_flow(client: openai.OpenAI) -> None:
    tag = uuid.uuid4().hex[:8]
    lines = [_line(f"req-{i}", body(f"sdk {i} {tag}")) for i in range(5)]
    lines.append(_line("bad-model", body("x", model="gpt-nope")))
    uploaded = client.files.create(file=("requests.jsonl", _jsonl(lines)), purpose="batch")
    assert uploaded.purpose == "batch" and uploaded.bytes == len(_jsonl(lines))
    assert client.files.retrieve(uploaded.id).filename == "requests.jsonl"
    assert client.files.content(uploaded.id).content == _jsonl(lines)

    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"run": tag},
    )
    assert batch.status in ("in_progress", "completed")
    assert batch.metadata == {"run": tag}
    final = wait_for(
        lambda: (b := client.batches.retrieve(batch.id)).status == "completed" and b,
        "the batch to complete",
        timeout=120,
    )
    counts = final.request_counts
    assert counts is not None and (counts.total, counts.completed, counts.failed) == (6, 5, 1)
    assert final.output_file_id and final.error_file_id and final.completed_at

    output = [json.loads(line) for line in client.files.content(final.output_file_id).text.splitlines()]
    answers = {o["custom_id"]: o["response"]["body"]["choices"][0]["message"]["content"] for o in output}
    assert answers == {f"req-{i}": f"You said: sdk {i} {tag}" for i in range(5)}
    assert all(o["response"]["status_code"] == 200 for o in output)
    errors = [json.loads(line) for line in client.files.content(final.error_file_id).text.splitlines()]
    assert [e["custom_id"] for e in errors] == ["bad-model"]
    assert errors[0]["response"]["status_code"] == 404
    assert errors[0]["response"]["body"]["error"]["code"] == "model_not_found"
    # read again: the same files, generated once
    again = client.batches.retrieve(batch.id)
    assert (again.output_file_id, again.completed_at) == (final.output_file_id, final.completed_at)


def test_openai_batch_cancel(client: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    fake_upstream.state.script("haiku", ["hang"], sticky=True)
    tag = uuid.uuid4().hex[:8]
    lines = [_line(f"c-{i}", body(f"cancel {i} {tag}", model="haiku")) for i in range(6)]
    uploaded = client.files.create(file=("c.jsonl", _jsonl(lines)), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    # jobs submitted in the same millisecond run in any order: wait for whichever runs first
    running = [f"cancel {i} {tag}" for i in range(6)]
    wait_for(lambda: any(upstream_saw(fake_upstream, t) for t in running), "a request to be running")
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status in ("cancelling", "cancelled")
    final = wait_for(
        lambda: (b := client.batches.retrieve(batch.id)).status == "cancelled" and b, "the batch to cancel"
    )
    assert final.request_counts is not None
    assert (final.request_counts.completed, final.request_counts.failed) == (0, 6)
    assert final.cancelled_at and final.error_file_id and final.output_file_id is None
    errors = client.files.content(final.error_file_id).text.splitlines()
    assert {json.loads(e)["response"]["body"]["error"]["code"] for e in errors} == {"job_cancelled"}
    wait_for(lambda: fake_upstream.state.stats()["in_flight"] == 0, "every CLI call to close")


def test_file_upload_errors(service: Service, client: openai.OpenAI) -> None:
    bad = _jsonl([_line("a", body("x"))]) + b"{not json\n"
    with pytest.raises(openai.BadRequestError) as exc:
        client.files.create(file=("bad.jsonl", bad), purpose="batch")
    assert "Line 2" in str(exc.value)
    dup = _jsonl([_line("a", body("x")), _line("a", body("y"))])
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("dup.jsonl", dup), purpose="batch")
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("x.jsonl", _jsonl([_line("a", body("x"))])), purpose="fine-tune")
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve(f"batch_{'0' * 32}")
    mine = client.files.create(file=("ok.jsonl", _jsonl([_line("a", body("x"))])), purpose="batch")
    with pytest.raises(openai.BadRequestError):
        client.batches.create(input_file_id=mine.id, endpoint="/v1/embeddings", completion_window="24h")


def test_files_and_batches_belong_to_their_key(idle_service: Service) -> None:
    mine = openai.OpenAI(base_url=f"{idle_service.url}/v1", api_key=API_KEY, max_retries=0)
    theirs = openai.OpenAI(base_url=f"{idle_service.url}/v1", api_key=OTHER_KEY, max_retries=0)
    uploaded = mine.files.create(file=("k.jsonl", _jsonl([_line("a", body("x"))])), purpose="batch")
    batch = mine.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    with pytest.raises(openai.NotFoundError):
        theirs.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        theirs.files.content(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        theirs.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    with pytest.raises(openai.NotFoundError):
        theirs.batches.retrieve(batch.id)
    with pytest.raises(openai.NotFoundError):
        theirs.batches.cancel(batch.id)
    assert mine.batches.cancel(batch.id).status == "cancelled"  # its one job was still queued


def test_files_and_batches_are_listed_newest_first(service: Service) -> None:
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0)
    tag = uuid.uuid4().hex[:8]
    uploaded = client.files.create(
        file=("l.jsonl", _jsonl([_line("l-0", body(f"listed {tag}", model="haiku"))])), purpose="batch"
    )
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert uploaded.id in {f.id for f in client.files.list(purpose="batch")}
    listed = client.batches.list(limit=100)
    assert batch.id in {b.id for b in listed.data}
    # newest first
    assert listed.data[0].created_at >= listed.data[-1].created_at
