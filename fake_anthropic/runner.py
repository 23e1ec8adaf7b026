"""Run the fake upstream: in a background thread (`FakeUpstream`) or standalone (`main`)."""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
import time
from types import TracebackType

import uvicorn

from .server import create_app
from .state import FakeUpstreamState


class FakeUpstream:
    """Uvicorn serving the fake on 127.0.0.1 in a daemon thread; a sync or async context manager.

    `port=0` picks a free port. `.url` is the base URL for ANTHROPIC_BASE_URL.
    """

    def __init__(
        self,
        state: FakeUpstreamState | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        first_token_delay: float = 0.0,
        token_delay: float = 0.0,
    ) -> None:
        self.state = state or FakeUpstreamState()
        self.state.set_delays(first_token_delay, token_delay)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> FakeUpstream:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.state),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self.state.set_closing(False)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="fake-upstream"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("fake upstream did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is None or self._thread is None:
            return
        self.state.set_closing(True)  # ends "hang" streams so shutdown does not wait on them
        self._server.should_exit = True
        self._thread.join(timeout)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeUpstream:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


def main(argv: list[str] | None = None) -> None:
    """Serve the fake upstream in the foreground until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m litellm_claude.fake_anthropic", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--first-token-delay", type=float, default=0.0, help="seconds")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds between tokens")
    args = parser.parse_args(argv)
    state = FakeUpstreamState(args.first_token_delay, args.token_delay)
    print(f"fake Anthropic upstream on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(
        create_app(state),
        host=args.host,
        port=args.port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
