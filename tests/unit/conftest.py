"""Unit tests of pure functions and Redis-side logic: no service, no upstream, no real Redis."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _reset_upstream() -> None:
    """Overrides the suite's autouse fixture: unit tests start no fake upstream."""
