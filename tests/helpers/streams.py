"""Reading the service's streams in tests: chat completion chunks and a job's event stream."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx

from tests.conftest import API_KEY

HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def chat_body(
    content: str, *, model: str = "sonnet", stream: bool = False, system: str | None = None
) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    return {"model": model, "stream": stream, "messages": [*messages, {"role": "user", "content": content}]}


def open_chat_stream(
    url: str, body: dict[str, Any], timeout: float = 90.0
) -> AbstractContextManager[httpx.Response]:
    return httpx.stream("POST", f"{url}/v1/chat/completions", json=body, headers=HEADERS, timeout=timeout)


def payloads(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects of the `data: {...}` lines."""
    for line in lines:
        if line.startswith("data: {"):
            yield json.loads(line.removeprefix("data: "))


def content_of(payload: Any) -> str | None:
    """A chunk's text delta (None for the role chunk, usage, errors and job events)."""
    choices = payload.get("choices") if isinstance(payload, dict) else None
    return choices[0].get("delta", {}).get("content") if choices else None


def deltas(response: httpx.Response) -> Iterator[str]:
    """The text deltas of a chat completion stream, failing the test on an error chunk."""
    for payload in payloads(response.iter_lines()):
        assert "error" not in payload, payload
        if text := content_of(payload):
            yield text


class StreamReader(threading.Thread):
    """A streamed chat completion (or, with `job_id`, a job's event stream) read line by line."""

    def __init__(
        self,
        url: str,
        content: str = "",
        *,
        model: str = "sonnet",
        job_id: str | None = None,
        timeout: float = 90.0,
    ) -> None:
        super().__init__(daemon=True)
        self.url, self.content, self.model, self.job_id, self.timeout = url, content, model, job_id, timeout
        self.lines: list[str] = []
        self.status = 0
        self.first_delta = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        if self.job_id:
            events = f"{self.url}/v1/jobs/{self.job_id}/events"
            request = httpx.stream("GET", events, headers=HEADERS, timeout=self.timeout)
        else:
            body = chat_body(self.content, model=self.model, stream=True)
            request = open_chat_stream(self.url, body, self.timeout)
        try:
            with request as response:
                self.status = response.status_code
                for line in response.iter_lines():
                    if not line:
                        continue
                    self.lines.append(line)
                    if line == "event: delta" or any(content_of(p) for p in payloads([line])):
                        self.first_delta.set()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.first_delta.set()

    def data(self) -> list[Any]:
        """Every `data:` line, parsed (`[DONE]` kept as the string)."""
        out = []
        for line in list(self.lines):
            if line.startswith("data: "):
                raw = line.removeprefix("data: ")
                out.append(raw if raw == "[DONE]" else json.loads(raw))
        return out

    @property
    def texts(self) -> list[str]:
        return [text for p in self.data() if (text := content_of(p))]

    @property
    def errors(self) -> list[Any]:
        return [p["error"] for p in self.data() if isinstance(p, dict) and "error" in p]

    def text(self, timeout: float = 90.0) -> str:
        """Once the stream ends: its whole text; fails on an error, an error event or a missing [DONE]."""
        self.join(timeout)
        assert not self.is_alive(), "the stream did not end"
        assert self.error is None, self.error
        assert not self.errors, self.errors
        assert "data: [DONE]" in self.lines, "no [DONE]"
        return "".join(self.texts)


def read_stream(url: str, content: str, **options: Any) -> StreamReader:
    """A `StreamReader` already reading."""
    reader = StreamReader(url, content, **options)
    reader.start()
    return reader
