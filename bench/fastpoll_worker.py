"""The product's worker with arq's `poll_delay` set from BENCH_POLL_DELAY (seconds): an experiment.

The benchmark runs it beside the real worker, on a queue of its own, to measure what
the added latency would be if the worker polled its queue more often. Everything
else is `python -m service.cli worker` unchanged.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import service.run
from service.cli import main

_original = service.run.worker_kwargs


def _with_poll_delay(*args: Any, **kwargs: Any) -> dict[str, Any]:
    out = _original(*args, **kwargs)
    out["poll_delay"] = float(os.environ.get("BENCH_POLL_DELAY", "0.01"))
    return out


service.run.worker_kwargs = _with_poll_delay  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(main(["worker"]))
