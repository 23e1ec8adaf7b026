"""The warm floor: the same request on one long-lived CLI process through ClaudeSDKClient, no service.

Options come from the worker's own builder (`worker.cli_options.build_options`),
so the process is configured exactly as a warm worker process is; `/clear`
follows each call, outside the timing, as the worker resets its processes
after a job has been answered.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace

from loadgen import Sample

from litellm_claude.config.settings import Settings
from litellm_claude.openai_compat.request import ChatCompletionBody, build_job
from litellm_claude.worker.cli_options import build_options


class WarmSdk:
    """One warm ClaudeSDKClient for `model`; `call` asks it one prompt and then resets it."""

    def __init__(self, settings: Settings, model: str) -> None:
        self.settings = settings
        self.model = model
        self.scratch = tempfile.TemporaryDirectory(prefix="bench-warm-sdk-")
        self.client: object | None = None

    async def start(self) -> None:
        from claude_agent_sdk import ClaudeSDKClient

        body = ChatCompletionBody.model_validate(
            {"model": self.model, "messages": [{"role": "user", "content": "x"}]}
        )
        job = build_job(body, settings=self.settings)
        options, _ = build_options(job, job.cli_model, self.scratch.name, self.settings)
        client = ClaudeSDKClient(replace(options, stderr=None))
        await client.connect()
        self.client = client
        await self._clear()

    async def _clear(self) -> None:
        from claude_agent_sdk import ClaudeSDKClient

        assert isinstance(self.client, ClaudeSDKClient)
        await self.client.query("/clear")
        async for _ in self.client.receive_response():
            pass

    async def call(self, prompt: str, expect: str) -> Sample:
        from claude_agent_sdk import ClaudeSDKClient, ResultMessage, StreamEvent

        sent_at = time.time()
        t0 = time.perf_counter()
        ttft: float | None = None
        parts: list[str] = []
        result: ResultMessage | None = None
        try:
            if self.client is None:
                await self.start()
            assert isinstance(self.client, ClaudeSDKClient)
            await self.client.query(prompt)
            async for message in self.client.receive_response():
                if isinstance(message, StreamEvent) and message.event.get("type") == "content_block_delta":
                    delta = message.event.get("delta", {})
                    if delta.get("type") == "text_delta":
                        ttft = ttft if ttft is not None else time.perf_counter() - t0
                        parts.append(delta.get("text", ""))
                elif isinstance(message, ResultMessage):
                    result = message
            total = time.perf_counter() - t0
            await self._clear()
        except Exception as exc:
            return Sample(False, time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}"[:200])
        text = "".join(parts)
        ok = result is not None and not result.is_error and text == expect
        return Sample(ok, total, ttft, None if ok else f"answer {text[:80]!r}", None, sent_at, time.time())

    async def close(self) -> None:
        from claude_agent_sdk import ClaudeSDKClient

        if isinstance(self.client, ClaudeSDKClient):
            await self.client.disconnect()
        self.client = None
        self.scratch.cleanup()
