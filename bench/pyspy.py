"""Sample the worker's Python stacks with py-spy while it serves load, and sum where the time goes."""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from procs import VENV_BIN

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def py_spy_binary(*, install: bool) -> tuple[str | None, str]:
    """The py-spy binary and a note on where it came from (installs it from PyPI when allowed)."""
    found = VENV_BIN / "py-spy"
    if found.exists():
        return str(found), "py-spy from the venv"
    on_path = shutil.which("py-spy")
    if on_path:
        return on_path, "py-spy from PATH"
    if not install:
        return None, "py-spy is not installed (the full run installs it: .venv/bin/pip install py-spy)"
    try:
        subprocess.run(
            [str(VENV_BIN / "pip"), "install", "-q", "py-spy"],
            check=True,
            timeout=180,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"py-spy could not be installed ({type(exc).__name__})"
    return (str(found), "py-spy installed from PyPI") if found.exists() else (None, "py-spy not found")


class Recorder:
    """`py-spy record --pid PID --gil --format raw` until `stop()`.

    `--gil` keeps only samples of the thread holding the GIL, i.e. running Python code:
    py-spy's own idle detection counted threads blocked in waitpid, epoll or socket
    writes as busy here (20x the worker's CPU time in /proc).
    """

    def __init__(self, binary: str, pid: int, out: Path, rate: int = 100) -> None:
        self.out = out
        self.rate = rate
        self.proc = subprocess.Popen(
            [
                binary,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--gil",
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def stop(self) -> str:
        """Stop recording (py-spy writes its file on SIGINT); returns py-spy's own messages."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            _, err = self.proc.communicate()
        return (err or b"").decode(errors="replace")[-500:]


def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _parse(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip(), ""
    return match["func"], _short(match["file"])


# Leaf frames of threads blocked in a system call, which py-spy still reports as active:
# the asyncio child watcher's waitpid threads, anyio's idle worker threads, the event loop's epoll.
IDLE_LEAVES = ("._do_waitpid", "Condition.wait", "Selector.select", "Event.wait", "Queue.get")


@dataclass
class Profile:
    samples: int = 0
    idle_samples: int = 0
    seconds: float = 0.0
    self_funcs: Counter[str] = field(default_factory=Counter)
    incl_files: Counter[str] = field(default_factory=Counter)
    incl_groups: Counter[str] = field(default_factory=Counter)


# Inclusive buckets: a sample counts in every group one of its frames belongs to.
GROUPS = [
    ("CLI subprocess spawn (fork/exec)", ("subprocess.py", "anyio/_backends/_asyncio.py:open_process")),
    ("claude_agent_sdk (transport, message parsing)", ("claude_agent_sdk/",)),
    ("worker.cli_run (options, observe, stop scan)", ("worker/cli_run.py",)),
    ("worker.job (chain, publish)", ("worker/job.py",)),
    ("job events to Redis (event_stream.publish)", ("jobs/event_stream.py",)),
    ("redis client (commands, parsing)", ("redis/",)),
    ("arq (poll, job bookkeeping)", ("arq/",)),
    ("pydantic (validation, JSON)", ("pydantic/", "pydantic_core")),
    ("JSON (json module)", ("json/",)),
    ("logging", ("logging/", "service/logs.py")),
    ("asyncio event loop itself", ("asyncio/base_events.py:_run_once", "selectors.py")),
]


def summarize(raw: Path, rate: int) -> Profile:
    prof = Profile()
    if not raw.exists():
        return prof
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        func, file = _parse(frames[-1])
        if func.endswith(IDLE_LEAVES):
            prof.idle_samples += count
            continue
        prof.samples += count
        prof.self_funcs[f"{func} ({file})"] += count
        parsed = [_parse(f) for f in frames]
        for file in {f for _, f in parsed if f}:
            prof.incl_files[file] += count
        keys = [f"{file}:{func}" for func, file in parsed]
        for name, needles in GROUPS:
            if any(needle in key for key in keys for needle in needles):
                prof.incl_groups[name] += count
    prof.seconds = prof.samples / rate
    return prof
