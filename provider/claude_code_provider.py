"""`claude-code/<model>` for LiteLLM: each call is a job on the service's queue, like `api/chat.py`.

Submit, wait and stream go through the shared `jobs.flow`; request validation and
translation through `openai_compat` (`ChatCompletionBody`, `build_job`), answers
through `openai_compat.response`. Only the LiteLLM shapes are built here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import httpx
from litellm import CustomLLM, ModelResponse
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler, HTTPHandler
from litellm.types.utils import GenericStreamingChunk
from pydantic import ValidationError

from litellm_claude.config.settings import Settings, get_settings
from litellm_claude.jobs import flow
from litellm_claude.jobs.client import JobClient
from litellm_claude.jobs.connection import connect
from litellm_claude.jobs.contract import CompletionJob, DeltaEvent, ErrorEvent, ResultEvent
from litellm_claude.jobs.redis_down import REDIS_DOWN, redis_unavailable_error
from litellm_claude.openai_compat.errors import ApiError, from_validation_errors
from litellm_claude.openai_compat.json_guard import check_json
from litellm_claude.openai_compat.request import ChatCompletionBody, build_job
from litellm_claude.openai_compat.response import completion_object, usage_object
from litellm_claude.provider import model_info
from litellm_claude.provider.errors import PROVIDER, queue_unavailable, to_litellm_error
from litellm_claude.provider.sync_loop import SyncLoop
from litellm_claude.provider.unsupported import refuse

_BODY_FIELDS = frozenset(ChatCompletionBody.model_fields) - {"model", "messages", "stream"}
_USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details")
model_info.register()


@dataclass(frozen=True, slots=True)
class Call:
    """What one LiteLLM call asks for, reduced to what the queue understands."""

    model: str
    messages: list[Any]
    optional_params: dict[str, Any]
    litellm_params: dict[str, Any]
    user: str | None
    timeout: float | None


class ClaudeCodeProvider(CustomLLM):
    """LiteLLM custom provider; one Redis connection pool per event loop."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._clients: WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[str, JobClient]] = (
            WeakKeyDictionary()
        )
        self._sync = SyncLoop()

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    # -- LiteLLM entry points (signatures of litellm 1.106.12 CustomLLM) ---------------------
    async def acompletion(
        self,
        model: str,
        messages: list[Any],
        api_base: str | None,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Callable[..., Any],
        encoding: Any,
        api_key: str | None,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: bool | None = None,
        litellm_params: dict[str, Any] | None = None,
        logger_fn: Callable[..., Any] | None = None,
        headers: dict[str, Any] | None = None,
        timeout: float | httpx.Timeout | None = None,  # noqa: ASYNC109 - LiteLLM's signature
        client: AsyncHTTPHandler | None = None,
    ) -> ModelResponse:
        call = _call(model, messages, optional_params, litellm_params, logging_obj, timeout)
        return await self._complete(call)

    async def astreaming(  # type: ignore[override,misc]  # LiteLLM types it a coroutine, iterates a generator
        self,
        model: str,
        messages: list[Any],
        api_base: str | None,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Callable[..., Any],
        encoding: Any,
        api_key: str | None,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: bool | None = None,
        litellm_params: dict[str, Any] | None = None,
        logger_fn: Callable[..., Any] | None = None,
        headers: dict[str, Any] | None = None,
        timeout: float | httpx.Timeout | None = None,  # noqa: ASYNC109 - LiteLLM's signature
        client: AsyncHTTPHandler | None = None,
    ) -> AsyncIterator[GenericStreamingChunk]:
        call = _call(model, messages, optional_params, litellm_params, logging_obj, timeout)
        async for chunk in self._stream(call):
            yield chunk

    def completion(
        self,
        model: str,
        messages: list[Any],
        api_base: str | None,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Callable[..., Any],
        encoding: Any,
        api_key: str | None,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: bool | None = None,
        litellm_params: dict[str, Any] | None = None,
        logger_fn: Callable[..., Any] | None = None,
        headers: dict[str, Any] | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: HTTPHandler | None = None,
    ) -> ModelResponse:
        call = _call(model, messages, optional_params, litellm_params, logging_obj, timeout)
        return self._sync.run(self._complete(call))

    def streaming(
        self,
        model: str,
        messages: list[Any],
        api_base: str | None,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Callable[..., Any],
        encoding: Any,
        api_key: str | None,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: bool | None = None,
        litellm_params: dict[str, Any] | None = None,
        logger_fn: Callable[..., Any] | None = None,
        headers: dict[str, Any] | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: HTTPHandler | None = None,
    ) -> Iterator[GenericStreamingChunk]:
        call = _call(model, messages, optional_params, litellm_params, logging_obj, timeout)
        return self._sync.iterate(self._stream(call))

    # -- what this gateway does not serve: a clear 400 instead of LiteLLM's "Not implemented yet!" --
    def embedding(self, model: str, *args: Any, **kwargs: Any) -> Any:
        raise refuse("embeddings", model=model)

    async def aembedding(self, model: str, *args: Any, **kwargs: Any) -> Any:
        raise refuse("embeddings", model=model)

    def image_generation(self, model: str, *args: Any, **kwargs: Any) -> Any:
        raise refuse("image generation", model=model)

    async def aimage_generation(self, model: str, *args: Any, **kwargs: Any) -> Any:
        raise refuse("image generation", model=model)

    def image_edit(self, model: str, *args: Any, **kwargs: Any) -> Any:
        raise refuse("image edits", model=model)

    async def aimage_edit(self, model: str, *args: Any, **kwargs: Any) -> Any:
        raise refuse("image edits", model=model)

    # -- the one async path: the shared job flow (jobs.flow), LiteLLM shapes only here ---------
    async def _complete(self, call: Call) -> ModelResponse:
        client, job, limits = await self._submit(call, stream=False)
        try:
            final = await flow.result(client, job, limits)
        except flow.JobFailed as failed:
            raise to_litellm_error(failed.error, model=call.model) from None
        except REDIS_DOWN as exc:  # jobs.flow turns these into JobFailed; this is a safety net
            raise to_litellm_error(redis_unavailable_error(), model=call.model) from exc
        return _with_cost(ModelResponse(**completion_object(job, final)), final)

    async def _stream(self, call: Call) -> AsyncGenerator[GenericStreamingChunk, None]:
        client, job, limits = await self._submit(call, stream=True)
        try:
            async with aclosing(flow.follow(client, job, limits)) as events:
                async for event in events:
                    if isinstance(event, DeltaEvent):
                        yield _chunk(event.text)
                    elif isinstance(event, ResultEvent):
                        for chunk in _final_chunks(event):
                            yield chunk
                    elif isinstance(event, ErrorEvent):
                        raise to_litellm_error(event.error, model=call.model)
        except REDIS_DOWN as exc:  # jobs.flow turns these into JobFailed; this is a safety net
            raise to_litellm_error(redis_unavailable_error(), model=call.model) from exc

    async def _submit(self, call: Call, *, stream: bool) -> tuple[JobClient, CompletionJob, flow.Limits]:
        settings = self.settings
        try:
            fields = _body_fields(call, stream=stream)
            check_json(fields)
            body = ChatCompletionBody.model_validate(fields)
            job = build_job(body, settings=settings, api_key=_caller_key(call.litellm_params))
            job.followed = stream  # a caller waiting for the whole answer reads no deltas
        except ValidationError as exc:
            raise to_litellm_error(from_validation_errors(exc.errors()), model=call.model) from exc
        except ApiError as exc:
            raise to_litellm_error(exc, model=call.model) from exc
        wait_s = settings.request_timeout_s
        if call.timeout:
            wait_s = min(wait_s, call.timeout)
            job = job.model_copy(update={"timeout_s": min(job.timeout_s, call.timeout)})
        limits = flow.Limits(
            max_depth=settings.max_queue_depth,
            timeout_s=wait_s,
            start_timeout_s=min(settings.queue_wait_timeout_s, wait_s),
            require_worker=settings.fail_without_workers,
        )
        client = self._client(settings, model=call.model)
        try:
            await flow.submit(client, job, limits)
        except flow.JobFailed as failed:
            raise to_litellm_error(failed.error, model=call.model) from None
        except REDIS_DOWN as exc:  # jobs.flow turns these into JobFailed; this is a safety net
            raise to_litellm_error(redis_unavailable_error(), model=call.model) from exc
        return client, job, limits

    def _client(self, settings: Settings, *, model: str) -> JobClient:
        if not settings.redis_url:
            raise queue_unavailable("REDIS_URL is not set for the LiteLLM provider.", model=model)
        loop = asyncio.get_running_loop()
        cached = self._clients.get(loop)
        if cached is not None and cached[0] == settings.redis_url:
            return cached[1]
        redis = connect(
            settings.redis_url,
            default_queue=settings.queue_name,
            max_connections=settings.redis_max_connections,
        )
        client = JobClient(redis)
        self._clients[loop] = (settings.redis_url, client)
        return client


def _with_cost(response: ModelResponse, result: ResultEvent) -> ModelResponse:
    """The CLI's own cost as LiteLLM's response cost (cost tracking, `x-litellm-response-cost`)."""
    cost = result.usage.total_cost_usd
    if cost is not None:
        response._hidden_params["response_cost"] = cost
    return response


def _call(
    model: str,
    messages: list[Any],
    optional_params: dict[str, Any],
    litellm_params: dict[str, Any] | None,
    logging_obj: Any,
    timeout: float | httpx.Timeout | None,
) -> Call:
    details = getattr(logging_obj, "model_call_details", None) or {}
    user = optional_params.get("user") or details.get("user")
    return Call(
        model=model,
        messages=messages,
        optional_params=optional_params,
        litellm_params=litellm_params or {},
        user=user if isinstance(user, str) else None,
        timeout=_seconds(timeout),
    )


def _seconds(timeout: float | httpx.Timeout | None) -> float | None:
    if isinstance(timeout, httpx.Timeout):
        return timeout.read
    return float(timeout) if timeout else None


def _body_fields(call: Call, *, stream: bool) -> dict[str, Any]:
    """The OpenAI request body LiteLLM received, rebuilt from its model, messages and params."""
    fields = {k: v for k, v in call.optional_params.items() if k in _BODY_FIELDS and v is not None}
    if call.user and "user" not in fields:
        fields["user"] = call.user
    return {
        "model": call.model.removeprefix(f"{PROVIDER}/"),
        "messages": [_plain(m) for m in call.messages],
        "stream": stream,
        **fields,
    }


def _plain(message: Any) -> Any:
    """LiteLLM may hand over pydantic `Message` objects; the body wants dicts."""
    return message.model_dump(exclude_none=True) if hasattr(message, "model_dump") else message


def _caller_key(litellm_params: dict[str, Any]) -> str | None:
    """The proxy's hash of the caller's virtual key, as the job owner tag (never a raw key)."""
    for name in ("metadata", "litellm_metadata"):
        meta = litellm_params.get(name)
        if isinstance(meta, dict) and isinstance(meta.get("user_api_key_hash"), str):
            return str(meta["user_api_key_hash"])
    return None


def _chunk(
    text: str,
    *,
    finish_reason: str = "",
    usage: dict[str, Any] | None = None,
    tool_use: dict[str, Any] | None = None,
) -> GenericStreamingChunk:
    chunk: GenericStreamingChunk = {
        "text": text,
        "is_finished": bool(finish_reason),
        "finish_reason": finish_reason,
        "usage": usage,  # type: ignore[typeddict-item]  # LiteLLM's TypedDict, built as a plain dict
        "index": 0,
        "tool_use": tool_use,  # type: ignore[typeddict-item]  # likewise
    }
    return chunk


def _final_chunks(result: ResultEvent) -> list[GenericStreamingChunk]:
    """Tool calls (one chunk each), then the finish reason with the real usage."""
    usage = usage_object(result.usage)
    chunks = [
        _chunk("", tool_use={"index": i, **call, "type": "function"})
        for i, call in enumerate(result.tool_calls or [])
    ]
    chunks.append(_chunk("", finish_reason=result.finish_reason, usage={k: usage[k] for k in _USAGE_FIELDS}))
    return chunks
