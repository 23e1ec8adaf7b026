"""The API's memory while a client sends an oversized body: the 413 comes while reading, RSS stays flat.

    .venv/bin/python bench/oversized_body.py [--mb 300] [--redis-url redis://127.0.0.1:6379/9]

Starts one API process (no worker is needed: nothing is queued), streams a chunked body of
`--mb` megabytes (no Content-Length) and prints the API's RSS before, its peak (VmHWM)
after, the status and how long the 413 took. Every process it starts is stopped at exit,
on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

import httpx  # noqa: E402
from procs import Procs, free_port, install_signal_handlers, status_kb  # noqa: E402

CHUNK = 256 * 1024


def body(total: int) -> Iterator[bytes]:
    yield b'{"model": "sonnet", "messages": [{"role": "user", "content": "'
    for _ in range(total // CHUNK):
        yield b"a" * CHUNK
    yield b'"}]}'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=300, help="body size in MB (default 300)")
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9"))
    args = parser.parse_args(argv)
    install_signal_handlers()
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": args.redis_url,
        "QUEUE_NAME": f"lc:bench:{uuid.uuid4().hex[:8]}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "API_KEYS": "",
        "LOG_LEVEL": "WARNING",
    }
    procs = Procs(Path(tempfile.mkdtemp(prefix="lc-bench-body-")))
    try:
        procs.start("api", [sys.executable, "-m", "litellm_claude.service.cli", "api"], env)
        url = f"http://127.0.0.1:{port}"
        procs.wait_http("api", f"{url}/health")
        pid = procs.pid("api")
        before = status_kb(pid, "VmRSS") or 0
        started = time.monotonic()
        response = httpx.post(f"{url}/v1/chat/completions", content=body(args.mb * 1024 * 1024), timeout=300)
        took = time.monotonic() - started
        peak = status_kb(pid, "VmHWM") or 0
        print(
            json.dumps(
                {
                    "body_mb": args.mb,
                    "status": response.status_code,
                    "connection": response.headers.get("connection"),
                    "seconds": round(took, 2),
                    "api_rss_before_mb": round(before / 1024, 1),
                    "api_peak_rss_mb": round(peak / 1024, 1),
                }
            )
        )
    except httpx.HTTPError as exc:  # the server may close before the client has sent everything
        print(json.dumps({"body_mb": args.mb, "client_error": repr(exc)}))
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
