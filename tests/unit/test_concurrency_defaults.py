"""WORKER_MAX_JOBS and GLOBAL_MAX_CLI: 8 when CLI processes are kept warm, 4 when every job spawns one."""

from __future__ import annotations

import pytest

from litellm_claude.config.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORKER_MAX_JOBS", "GLOBAL_MAX_CLI", "WARM_PROCESSES", "WARM_MAX_IDLE"):
        monkeypatch.delenv(name, raising=False)


def caps(**env: str) -> tuple[int, int]:
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[call-arg]
    return settings.worker_max_jobs, settings.global_max_cli


def test_warm_processes_raise_the_unset_caps() -> None:
    assert caps() == (8, 8)


def test_the_cold_path_keeps_two_spawns_per_core() -> None:
    assert caps(WARM_PROCESSES="false") == (4, 4)
    assert caps(WARM_MAX_IDLE="0") == (4, 4)


def test_a_cap_set_by_the_operator_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    assert caps(WORKER_MAX_JOBS="4") == (4, 8)
    monkeypatch.setenv("GLOBAL_MAX_CLI", "4")
    assert Settings(_env_file=None).global_max_cli == 4  # type: ignore[call-arg]
    assert Settings(_env_file=None).worker_max_jobs == 8  # type: ignore[call-arg]
