"""Hostile request bodies against the real API process: each gets a 4xx OpenAI error naming the
parameter, never a 5xx, and the keep-alive connection stays usable. Also: the body size limit while
reading, a tool_use-only answer, keys for /metrics and the docs, and the OpenAPI request bodies."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from litellm_claude.api.app import create_app
from litellm_claude.config.settings import Settings
from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, REPO, Factory, Service

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
USER = {"role": "user", "content": "hi"}


def nested_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": "sonnet", "messages": [USER], **extra}


def deep_arrays(levels: int) -> bytes:
    return b'{"model": "sonnet", "messages": [{"role": "user", "content": "hi"}], "x": ' + (
        b"[" * levels + b"]" * levels + b"}"
    )


def json_schema_format(levels: int) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "deep", "schema": nested_schema(levels)}}


# (case id, chat completion body, the param the 400 names)
CHAT_CASES: list[tuple[str, dict[str, Any] | bytes, str | None]] = [
    (
        "tool_choice_function_str",
        chat(tools=[TOOL], tool_choice={"type": "function", "function": "f"}),
        "tool_choice.function",
    ),
    (
        "tool_choice_function_int",
        chat(tools=[TOOL], tool_choice={"type": "function", "function": 5}),
        "tool_choice.function",
    ),
    ("tool_choice_unknown_str", chat(tools=[TOOL], tool_choice="sometimes"), "tool_choice"),
    ("surrogate_in_model", {"model": "sonnet\ud800", "messages": [USER]}, "model"),
    ("surrogate_in_metadata", chat(metadata={"tag": "x\udc00"}), "metadata.tag"),
    ("surrogate_in_metadata_key", chat(metadata={"\ud800": "x"}), "metadata"),
    (
        "tool_calls_function_not_an_object",
        chat(messages=[USER, {"role": "assistant", "tool_calls": [{"id": "c", "function": "x"}]}, USER]),
        "messages[1].tool_calls[0].function",
    ),
    (
        "nul_in_system",
        chat(messages=[{"role": "system", "content": "be\x00nice"}, USER]),
        "messages[0].content",
    ),
    (
        "surrogate_in_system",
        chat(messages=[{"role": "system", "content": "be\ud800"}, USER]),
        "messages[0].content",
    ),
    (
        "nul_in_tool_name",
        chat(tools=[{"type": "function", "function": {"name": "f\x00"}}]),
        "tools[0].function.name",
    ),
    (
        "surrogate_in_tool_name",
        chat(tools=[{"type": "function", "function": {"name": "f\ud800"}}]),
        "tools[0].function.name",
    ),
    (
        "tool_name_with_spaces",
        chat(tools=[{"type": "function", "function": {"name": "a b"}}]),
        "tools[0].function.name",
    ),
    ("stream_yes", chat(stream="yes"), "stream"),
    ("max_tokens_huge", chat(max_tokens=10**30), "max_tokens"),
    ("max_completion_tokens_huge", chat(max_completion_tokens=128_001), "max_completion_tokens"),
    ("arrays_100000_deep", deep_arrays(100_000), None),
    ("arrays_150_deep", deep_arrays(150), "x"),
    ("json_schema_200_levels", chat(response_format=json_schema_format(200)), "response_format"),
    (
        "json_schema_40_levels",
        chat(response_format=json_schema_format(40)),
        "response_format.json_schema.schema",
    ),
    (
        "json_schema_dialect_not_a_string",
        chat(
            response_format={"type": "json_schema", "json_schema": {"name": "d", "schema": {"$schema": [1]}}}
        ),
        "response_format.json_schema.schema.$schema",
    ),
    ("stop_5000_sequences", chat(stop=["x"] * 5000), "stop"),
    (
        "content_part_not_an_object",
        chat(messages=[{"role": "user", "content": ["x"]}]),
        "messages[0].content",
    ),
    (
        "nan_temperature",
        b'{"model": "sonnet", "messages": [{"role": "user", "content": "hi"}], "temperature": NaN}',
        None,
    ),
]

RESPONSES_CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("surrogate_in_model", {"model": "\ud800", "input": "hi"}, "model"),
    ("surrogate_in_metadata", {"model": "sonnet", "input": "hi", "metadata": {"k": "\udfff"}}, "metadata.k"),
    ("nul_in_instructions", {"model": "sonnet", "input": "hi", "instructions": "a\x00"}, "instructions"),
    ("stream_yes", {"model": "sonnet", "input": "hi", "stream": "yes"}, "stream"),
    (
        "max_output_tokens_huge",
        {"model": "sonnet", "input": "hi", "max_output_tokens": 10**30},
        "max_output_tokens",
    ),
    (
        "json_schema_40_levels",
        {
            "model": "sonnet",
            "input": "hi",
            "text": {"format": {"type": "json_schema", "name": "d", "schema": nested_schema(40)}},
        },
        "text.format",
    ),
]


def encode(body: dict[str, Any] | bytes) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def assert_openai_error(response: httpx.Response, status: int, param: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error
    return error


@pytest.fixture(scope="module")
def http(service: Service) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    with httpx.Client(base_url=service.url, headers=headers, timeout=60) as client:
        yield client


def local_port(response: httpx.Response) -> int:
    """The client-side port of the connection a response came on (same port: same connection)."""
    return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])


@pytest.mark.parametrize(("body", "param"), [c[1:] for c in CHAT_CASES], ids=[c[0] for c in CHAT_CASES])
def test_hostile_chat_bodies_are_400_naming_the_parameter(
    http: httpx.Client, body: dict[str, Any] | bytes, param: str | None
) -> None:
    error = assert_openai_error(http.post("/v1/chat/completions", content=encode(body)), 400, param)
    if error["code"] == "json_too_deep":
        assert "100 levels" in error["message"] or "64 levels" in error["message"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/jobs"])
def test_hostile_bodies_keep_the_connection_alive(http: httpx.Client, path: str) -> None:
    ports = set()
    for _name, body, param in CHAT_CASES:
        response = http.post(path, content=encode(body))
        assert_openai_error(response, 400, param)
        assert response.headers.get("connection") != "close"
        ports.add(local_port(response))
    assert len(ports) == 1, "a hostile body dropped the keep-alive connection"


@pytest.mark.parametrize(
    ("body", "param"), [c[1:] for c in RESPONSES_CASES], ids=[c[0] for c in RESPONSES_CASES]
)
def test_hostile_responses_bodies_are_400_naming_the_parameter(
    http: httpx.Client, body: dict[str, Any], param: str | None
) -> None:
    assert_openai_error(http.post("/v1/responses", content=encode(body)), 400, param)


def test_hostile_batch_items_are_rejected_one_by_one(http: httpx.Client) -> None:
    by_validation = [c for c in CHAT_CASES if c[0].startswith(("tool_", "stream", "max_"))]
    bodies = [body for _, body, _ in by_validation]
    response = http.post("/v1/jobs/batch", json={"requests": bodies})
    assert response.status_code == 202, response.text
    items = response.json()["items"]
    assert [i["error"]["param"] for i in items] == [param for _, _, param in by_validation]
    assert all(i["status"] == "failed" and i["job_id"] is None for i in items)


def test_a_batch_holding_a_nul_or_a_lone_surrogate_is_400(http: httpx.Client) -> None:
    raw = encode({"requests": [chat(), chat(messages=[{"role": "system", "content": "\ud800"}, USER])]})
    assert_openai_error(http.post("/v1/jobs/batch", content=raw), 400, "requests[1].messages[0].content")


def test_a_batch_file_line_with_a_nul_is_rejected(service: Service) -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": chat(user="\x00")}
    response = httpx.post(
        f"{service.url}/v1/files",
        headers={"Authorization": f"Bearer {API_KEY}"},
        files={"file": ("in.jsonl", json.dumps(line).encode() + b"\n")},
        data={"purpose": "batch"},
        timeout=30,
    )
    error = assert_openai_error(response, 400, "file")
    assert "Line 1" in error["message"] and "NUL" in error["message"]


def test_a_file_upload_with_a_purpose_that_is_not_utf8_is_400(service: Service) -> None:
    response = httpx.post(
        f"{service.url}/v1/files",
        headers={"Authorization": f"Bearer {API_KEY}"},
        files={"file": ("in.jsonl", b"{}\n"), "purpose": (None, b"\xff\xfe")},
        timeout=30,
    )
    assert_openai_error(response, 400, "purpose")


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"model": "sonnet", "messages": [{"role": "user", "content": "'
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size
    yield b'"}]}'


def test_an_oversized_chunked_body_is_413_while_reading(http: httpx.Client, service: Service) -> None:
    limit = 10_000_000  # the default MAX_BODY_BYTES
    response = http.post("/v1/chat/completions", content=_chunks(limit + 5_000_000))
    assert "content-length" not in response.request.headers  # sent chunked
    error = assert_openai_error(response, 413, None)
    assert error["code"] == "request_too_large" and str(limit) in error["message"]
    again = http.get("/v1/models")
    assert again.status_code == 200
    assert local_port(again) == local_port(response), "the 413 dropped the keep-alive connection"


def test_an_oversized_declared_body_is_413(http: httpx.Client) -> None:
    response = http.post("/v1/responses", content=b"x" * 10_000_001)
    assert assert_openai_error(response, 413, None)["code"] == "request_too_large"


def test_a_tool_use_only_answer_is_an_error_naming_the_tool(
    http: httpx.Client, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.state.script("sonnet", ['tool_use:Bash:{"command": "ls"}'], sticky=True)
    response = http.post("/v1/chat/completions", json=chat())
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["code"] == "model_called_unavailable_tool"
    assert "Bash" in error["message"]


def test_a_system_prompt_too_long_for_a_cli_argument_still_reaches_the_model(
    http: httpx.Client, fake_upstream: FakeUpstream
) -> None:
    system = "rule" + "s" * 300_000  # 300 kB in one word (one fake token): more than a CLI argument holds
    response = http.post(
        "/v1/chat/completions", json=chat(messages=[{"role": "system", "content": system}, USER])
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"].endswith("hi")
    sent = json.dumps(fake_upstream.state.message_requests()[-1].body)
    assert system in sent


def test_schemas_too_large_for_a_cli_argument_are_400(http: httpx.Client) -> None:
    wide = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(5_000)}}
    fmt = {"type": "json_schema", "json_schema": {"name": "wide", "schema": wide}}
    error = assert_openai_error(
        http.post("/v1/chat/completions", json=chat(response_format=fmt)),
        400,
        "response_format.json_schema.schema",
    )
    assert error["code"] == "schema_too_large"
    tools = [{"type": "function", "function": {"name": "f", "parameters": wide}}]
    error = assert_openai_error(http.post("/v1/chat/completions", json=chat(tools=tools)), 400, "tools")
    assert error["code"] == "tools_too_large"


def test_every_request_body_is_in_the_openapi_schema(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    posts = {path: ops["post"] for path, ops in schema["paths"].items() if "post" in ops}
    assert {"/v1/chat/completions", "/v1/responses", "/v1/jobs", "/v1/jobs/batch", "/v1/files"} <= set(posts)
    components = schema["components"]["schemas"]
    for path, op in posts.items():
        if path.endswith("/cancel"):
            continue  # no body
        content = op["requestBody"]["content"]
        ref = next(iter(content.values()))["schema"].get("$ref")
        if ref:
            assert ref.rsplit("/", 1)[-1] in components, (path, ref)
    chat_body = components["ChatCompletionBody"]
    assert {"model", "messages"} <= set(chat_body["required"])
    assert chat_body["properties"]["max_tokens"]["anyOf"][0]["maximum"] == 128_000


def test_ops_endpoints_need_a_key_when_protected(service_factory: Factory) -> None:
    svc = service_factory(workers=0, PROTECT_OPS_ENDPOINTS="true")
    with httpx.Client(base_url=svc.url, timeout=30) as client:
        for path in ("/metrics", "/openapi.json", "/docs", "/redoc"):
            denied = client.get(path)
            assert denied.status_code == 401, (path, denied.text)
            assert denied.json()["error"]["code"] == "missing_api_key"
            assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert client.get(path, headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 200
        assert client.get("/health").status_code == 200


def test_ops_endpoints_are_open_by_default(http: httpx.Client) -> None:
    bare = {"Authorization": ""}
    for path in ("/metrics", "/openapi.json", "/docs"):
        assert http.get(path, headers=bare).status_code == 200, path


TRACEBACK_SCRIPT = """
import logging, sys
from litellm_claude.service.logs import setup_logging
setup_logging([sys.argv[1]], json_format=sys.argv[2] == "json")
try:
    raise RuntimeError("upstream said no to key " + sys.argv[1])
except RuntimeError:
    logging.getLogger("probe").exception("failed with %s", sys.argv[1])
logging.getLogger("probe").warning("stack of %s", sys.argv[1], stack_info=True)
"""


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_tracebacks_in_logs_are_redacted(log_format: str) -> None:
    secret = "sk-ant-test-traceback-secret-42"
    done = subprocess.run(
        [sys.executable, "-c", TRACEBACK_SCRIPT, secret, log_format],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "RuntimeError: upstream said no to key [REDACTED]" in done.stderr
    assert "Traceback" in done.stderr
    assert secret not in done.stderr


def test_an_unexpected_error_is_a_500_that_keeps_the_connection(redis_url: str) -> None:
    """The last-resort 500 is an ordinary response: the keep-alive connection stays usable."""

    async def boom() -> None:
        raise RuntimeError("a bug")

    app = create_app(Settings(redis_url=redis_url, queue_name=f"lc:test:{uuid.uuid4().hex[:8]}"))
    app.add_api_route("/boom", boom)  # the real app, plus one route with a bug
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            failed = client.get("/boom")
            assert failed.status_code == 500
            assert failed.json()["error"]["code"] == "internal_error"
            after = client.get("/health")
            assert after.status_code == 200
            assert local_port(after) == local_port(failed)
    finally:
        server.should_exit = True
        thread.join(10)
