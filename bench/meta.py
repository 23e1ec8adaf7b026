"""What a run was: versions and the settings table of the report's 'Machine' section."""

from __future__ import annotations

import contextlib
import importlib.metadata
import platform
from typing import TYPE_CHECKING

from options import MODEL, requests_for

if TYPE_CHECKING:
    from services import Bench


def versions(cli: str, redis_version: str) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("claude-agent-sdk", "arq", "redis", "fastapi", "uvicorn", "httpx", "litellm"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[dist] = importlib.metadata.version(dist)
    out["Claude Code CLI"] = cli
    out["redis-server"] = redis_version
    return out


def settings_table(bench: Bench) -> dict[str, str]:
    a = bench.args
    return {
        "runs": str(a.runs),
        "fake upstream": f"first token after {a.first_token_delay * 1000:.0f} ms, then "
        f"{a.token_delay * 1000:.0f} ms per token; answer = prompt words + 2 = "
        f"{a.prompt_words + 2} tokens",
        "model": f"`{MODEL}` (no fallback chain), prompt of {a.prompt_words} words",
        "latency": f"{a.latency_requests} requests of each kind per run, concurrency 1, 1 worker",
        "throughput": "concurrency "
        + ", ".join(f"{c} ({requests_for(c, a.quick)} requests)" for c in a.concurrency)
        + f"; workers {', '.join(map(str, a.workers))}; non-streaming",
        "service": "the cold path (WARM_PROCESSES=false; the warm path: 'Warm CLI processes'), "
        "WORKER_MAX_JOBS=64, GLOBAL_MAX_CLI=128 (never the cap), REDIS_MAX_CONNECTIONS=2000 "
        "(default), API_KEYS set, one uvicorn process for the API, worker queue poll "
        + (
            f"WORKER_POLL_DELAY_S={bench.product_poll * 1000:g} ms (the product's default)"
            if bench.product_poll is not None
            else "arq's default 0.5 s"
        ),
        "Redis": bench.redis_source,
        "LiteLLM proxy": bench.proxy_note,
        "memory test": f"{a.streams} streams held open",
    }
