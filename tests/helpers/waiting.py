"""Waiting in tests: for a condition (one polling loop for every test module) or a process's HTTP endpoint."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import httpx

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    what: str,
    timeout: float = 30.0,
    *,
    every: float = 0.05,
    tolerate: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `condition` every `every` s until it returns something truthy, and return that.

    Exceptions of the `tolerate` types count as "not yet" (e.g. Redis still starting);
    after `timeout` s it fails the test naming `what`.
    """
    start = time.monotonic()
    while True:
        try:
            value = condition()
            if value:
                return value
        except tolerate:
            pass
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def seconds_until(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    *,
    every: float = 0.02,
    tolerate: tuple[type[BaseException], ...] = (),
) -> float:
    """`wait_for`, returning how long it took (the times some tests print)."""
    start = time.monotonic()
    wait_for(condition, what, timeout, every=every, tolerate=tolerate)
    return time.monotonic() - start


def wait_http_ok(
    url: str,
    what: str,
    processes: Mapping[str, subprocess.Popen[bytes]],
    logs: Callable[[], str],
    timeout: float,
    *,
    every: float,
) -> None:
    """Until GET `url` answers 200, failing with `logs()` after `timeout` or once one of `processes` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{logs()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(every)
    raise RuntimeError(f"{what} not ready:\n{logs()}")
