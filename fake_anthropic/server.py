"""Starlette app of the fake Anthropic Messages API, plus its `/_fake/*` control endpoints."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import answers, sse
from .state import FakeUpstreamState, Outcome

_ERROR_STATUS = {"429": 429, "529": 529, "500": 500, "401": 401}
_ERROR_TEXT = {
    429: "Number of requests has exceeded your rate limit (fake upstream, scripted).",
    529: "Overloaded (fake upstream, scripted).",
    500: "Internal server error (fake upstream, scripted).",
    401: "invalid x-api-key (fake upstream, scripted).",
}

_LIMIT_TEXT = "This request would exceed your account's rate limit. Please try again later."


@dataclass
class Block:
    """One content block of a planned answer: text, or a tool_use with its input."""

    kind: str
    text: str = ""
    tool_id: str = ""
    name: str = ""
    input: dict[str, Any] = field(default_factory=dict)

    def pieces(self) -> list[str]:
        """The deltas this block is streamed as (one output token each)."""
        if self.kind == "text":
            return answers.split_tokens(self.text)
        return answers.chunk_json(self.input)

    def to_json(self) -> dict[str, Any]:
        if self.kind == "text":
            return {"type": "text", "text": self.text}
        return {"type": "tool_use", "id": self.tool_id, "name": self.name, "input": self.input}


@dataclass
class Plan:
    blocks: list[Block]
    stop_reason: str
    hang: bool = False

    def output_tokens(self) -> int:
        return sum(len(b.pieces()) for b in self.blocks)


def usage_limit_text(reset_at: int | None) -> str:
    """Subscription-limit answer; resets at the next full hour unless given.

    The historic "Claude AI usage limit reached|<unix reset>" form. CLI 2.1.331 no longer
    holds that literal; the only usage-limit prose it matches is /usage limit reached/i, which
    this text contains. The CLI passes such a 200 answer through as a normal result.
    """
    reset = reset_at if reset_at is not None else (int(time.time()) // 3600 + 1) * 3600
    return f"Claude AI usage limit reached|{reset}"


def plan_reply(body: dict[str, Any], outcome: Outcome | None, num: int) -> Plan:
    """Decide the answer to a Messages request (error outcomes are handled earlier)."""
    tool_id = f"toolu_fake_{num:06d}"
    if outcome is not None and outcome.kind == "hang":
        return Plan(blocks=[], stop_reason="end_turn", hang=True)
    if outcome is not None and outcome.kind == "usage_limit":
        return Plan([Block("text", text=usage_limit_text(outcome.reset_at))], "end_turn")
    if outcome is not None and outcome.kind == "tool_use":
        block = Block("tool_use", tool_id=tool_id, name=outcome.tool_name, input=outcome.tool_input)
        return Plan([block], "tool_use")
    user_text = answers.last_user_text(body)
    so_tool = answers.offered_tool(body, answers.STRUCTURED_OUTPUT_TOOL)
    if so_tool is not None:
        if answers.has_tool_result(body, answers.STRUCTURED_OUTPUT_TOOL):
            return Plan([Block("text", text="Done.")], "end_turn")
        value = answers.schema_instance(so_tool.get("input_schema") or {}, user_text)
        if not isinstance(value, dict):
            value = {"value": value}
        block = Block("tool_use", tool_id=tool_id, name=so_tool["name"], input=value)
        return Plan([block], "tool_use")
    return Plan([Block("text", text=answers.reply_text(user_text))], "end_turn")


class _TrackedStream(StreamingResponse):
    """A streaming response that calls `on_close` however it ends (done or disconnected)."""

    def __init__(self, content: AsyncIterator[bytes], on_close: Callable[[], None]) -> None:
        super().__init__(content, media_type="text/event-stream")
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


async def _wait_forever(state: FakeUpstreamState, request: Request | None = None) -> None:
    """Sleep until the server closes (or, when given, the request disconnects)."""
    while not state.closing:
        if request is not None and await request.is_disconnected():
            return
        await asyncio.sleep(0.05)


async def _gate(state: FakeUpstreamState) -> None:
    """Wait while the state holds answers back (`FakeUpstreamState.hold`)."""
    while state.holding() and not state.closing:  # noqa: ASYNC110 - the gate is set from another thread
        await asyncio.sleep(0.01)


async def _stream(
    plan: Plan, state: FakeUpstreamState, msg_id: str, model: str, input_tokens: int
) -> AsyncIterator[bytes]:
    yield sse.message_start(msg_id, model, input_tokens)
    if plan.hang:
        await _wait_forever(state)
        return
    await _gate(state)
    first_delay, token_delay = state.delays()
    if first_delay > 0:
        await asyncio.sleep(first_delay)
    emitted = 0
    for index, block in enumerate(plan.blocks):
        if block.kind == "text":
            yield sse.text_block_start(index)
        else:
            yield sse.tool_use_block_start(index, block.tool_id, block.name)
        for piece in block.pieces():
            if emitted and token_delay > 0:
                await asyncio.sleep(token_delay)
            if block.kind == "text":
                yield sse.text_delta(index, piece)
            else:
                yield sse.input_json_delta(index, piece)
            emitted += 1
        yield sse.content_block_stop(index)
    yield sse.message_delta(plan.stop_reason, input_tokens, emitted)
    yield sse.message_stop()


def _error(status: int, message_text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    error_type = sse.ERROR_TYPES.get(status, "api_error")
    return JSONResponse(sse.error_body(error_type, message_text), status, headers=headers)


def _rate_limit_headers() -> dict[str, str]:
    reset = datetime.fromtimestamp(int(time.time()) + 1, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "retry-after": "1",
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": reset,
        "anthropic-ratelimit-tokens-limit": "40000",
        "anthropic-ratelimit-tokens-remaining": "0",
        "anthropic-ratelimit-tokens-reset": reset,
    }


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def create_app(state: FakeUpstreamState) -> Starlette:
    """The fake upstream as an ASGI app bound to `state`."""
    numbers = itertools.count(1)

    async def messages(request: Request) -> Response:
        body = await _json_body(request)
        if body is None:
            return _error(400, "request body must be a JSON object")
        state.record(request.url.path, request.url.query, dict(request.headers), body, count=True)
        num = next(numbers)
        headers = {"request-id": f"req_fake_{num:06d}"}
        model = str(body.get("model", ""))
        limited, limit_headers = state.limit_answer(dict(request.headers), model)
        headers |= limit_headers
        if limited:
            return _error(429, _LIMIT_TEXT, headers)
        outcome = state.next_outcome(model)
        if outcome is not None and outcome.kind in _ERROR_STATUS:
            status = _ERROR_STATUS[outcome.kind]
            if status == 429:
                headers |= _rate_limit_headers()
            return _error(status, _ERROR_TEXT[status], headers)
        plan = plan_reply(body, outcome, num)
        msg_id = f"msg_fake_{num:06d}"
        input_tokens = answers.count_input_tokens(body)
        state.enter()
        if body.get("stream"):
            stream = _stream(plan, state, msg_id, model, input_tokens)
            response = _TrackedStream(stream, state.leave)
            response.headers.update(headers)
            return response
        try:
            if plan.hang:
                await _wait_forever(state, request)
                return Response(status_code=499)
            await _gate(state)
            first_delay, token_delay = state.delays()
            output_tokens = plan.output_tokens()
            await asyncio.sleep(first_delay + token_delay * max(0, output_tokens - 1))
            content = [b.to_json() for b in plan.blocks]
            result = sse.message(msg_id, model, content, plan.stop_reason, input_tokens, output_tokens)
            return JSONResponse(result, headers=headers)
        finally:
            state.leave()

    async def count_tokens(request: Request) -> Response:
        body = await _json_body(request)
        if body is None:
            return _error(400, "request body must be a JSON object")
        state.record(request.url.path, request.url.query, dict(request.headers), body, count=False)
        return JSONResponse({"input_tokens": answers.count_input_tokens(body)})

    async def get_requests(_request: Request) -> Response:
        return JSONResponse([r.to_json() for r in state.requests])

    async def delete_requests(_request: Request) -> Response:
        state.clear_requests()
        return JSONResponse({"ok": True})

    async def post_script(request: Request) -> Response:
        body = await _json_body(request)
        try:
            if body is None or not isinstance(body.get("outcomes"), list):
                raise ValueError('expected {"model": str, "outcomes": [str], "sticky": bool}')
            state.script(str(body.get("model", "")), body["outcomes"], bool(body.get("sticky")))
        except ValueError as exc:
            return _error(400, str(exc))
        return JSONResponse({"ok": True, "script": state.pending_script()})

    async def delete_script(request: Request) -> Response:
        state.clear_script(request.query_params.get("model"))
        return JSONResponse({"ok": True})

    async def post_config(request: Request) -> Response:
        body = await _json_body(request)
        if body is None:
            return _error(400, "request body must be a JSON object")
        state.set_delays(body.get("first_token_delay"), body.get("token_delay"))
        first_delay, token_delay = state.delays()
        return JSONResponse({"first_token_delay": first_delay, "token_delay": token_delay})

    async def post_limits(request: Request) -> Response:
        body = await _json_body(request)
        try:
            if body is None or not isinstance(body.get("windows"), dict):
                raise ValueError('expected {"credential": str ("*" for all), "windows": {name: {...}}}')
            state.set_limits(str(body.get("credential", "*")), body["windows"])
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        return JSONResponse({"ok": True})

    async def delete_limits(_request: Request) -> Response:
        state.clear_limits()
        return JSONResponse({"ok": True})

    async def get_stats(_request: Request) -> Response:
        return JSONResponse({**state.stats(), "script": state.pending_script()})

    async def not_found(request: Request) -> Response:
        return _error(404, f"no route {request.method} {request.url.path} on the fake upstream")

    routes = [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/_fake/requests", get_requests, methods=["GET"]),
        Route("/_fake/requests", delete_requests, methods=["DELETE"]),
        Route("/_fake/script", post_script, methods=["POST"]),
        Route("/_fake/script", delete_script, methods=["DELETE"]),
        Route("/_fake/config", post_config, methods=["POST"]),
        Route("/_fake/limits", post_limits, methods=["POST"]),
        Route("/_fake/limits", delete_limits, methods=["DELETE"]),
        Route("/_fake/stats", get_stats, methods=["GET"]),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    return Starlette(routes=routes)
