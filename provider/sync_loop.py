"""A private event loop in a daemon thread: the sync LiteLLM entry points run the async path on it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class SyncLoop:
    """One loop, started on first use, so the sync calls share its Redis connection pool."""

    def __init__(self, name: str = "claude-code-provider") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name=self._name, daemon=True).start()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the private loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop()).result()

    def iterate(self, agen: AsyncGenerator[T, None]) -> Iterator[T]:
        """Yield each item of an async generator as soon as it is produced.

        Closing the returned generator early closes `agen` on the loop, so its
        `finally` blocks (job cancellation) run.
        """
        loop = self.loop()
        try:
            while True:
                try:
                    yield asyncio.run_coroutine_threadsafe(_next(agen), loop).result()
                except StopAsyncIteration:
                    return
        finally:
            asyncio.run_coroutine_threadsafe(agen.aclose(), loop).result()


async def _next(agen: AsyncGenerator[T, None]) -> T:
    return await agen.__anext__()
