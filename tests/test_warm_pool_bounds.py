"""The warm pool in-process with the real CLI: processes stay within busy + WARM_MAX_IDLE, none is lost.

Jobs of three configurations, four at a time, with WARM_MAX_IDLE=2: every
process the pool ever started is busy, idle, resetting or closed (no process
is forgotten while alive), and worker shutdown leaves none behind.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from litellm_claude.config.settings import Settings
from litellm_claude.fake_anthropic import FakeUpstream
from litellm_claude.openai_compat.request import ChatCompletionBody, build_job
from litellm_claude.worker.warm_pool import WarmPool
from litellm_claude.worker.warm_session import SCRATCH_PREFIX

BUSY = 4
MAX_IDLE = 2


def own_warm_processes() -> list[int]:
    """CLI processes this test process started for warm sessions (children in `lc-job-warm-*`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (
                os.path.basename(os.readlink(entry / "cwd")).startswith(SCRATCH_PREFIX)
                and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid()
            ):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


async def _drive(settings: Settings) -> tuple[int, int, dict[str, int], list[int]]:
    pool = WarmPool(settings)
    limit = asyncio.Semaphore(BUSY)
    peak = 0
    running = True

    async def sample() -> None:
        nonlocal peak
        while running:
            peak = max(peak, len(own_warm_processes()))
            await asyncio.sleep(0.05)

    async def emit(_text: str, _model: str | None = None) -> None:
        return None

    async def one(index: int) -> bool:
        body = ChatCompletionBody.model_validate(
            {
                "model": "sonnet",
                "messages": [
                    {"role": "system", "content": f"Configuration {index % 3}."},
                    {"role": "user", "content": f"job {index}"},
                ],
            }
        )
        job = build_job(body, settings=settings)
        async with limit:
            outcome = await pool.run(job, job.cli_model, emit, may_fall_back=False)
        return outcome.result is not None and outcome.result.text == f"You said: job {index}"

    sampler = asyncio.create_task(sample())
    answers = await asyncio.gather(*(one(i) for i in range(24)))
    await pool.settled()
    running = False
    await sampler
    stats = pool.stats()
    await pool.close()
    return sum(answers), peak, stats, own_warm_processes()


def test_warm_processes_stay_within_their_bounds(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings' init option, unknown to mypy
        anthropic_base_url=fake_upstream.url,
        anthropic_api_key="sk-ant-test-pool",  # type: ignore[arg-type]  # pydantic makes the str a SecretStr
        claude_home=str(tmp_path),
        claude_config_dir=str(tmp_path / ".claude"),
        warm_max_idle=MAX_IDLE,
    )
    answered, peak, stats, left = asyncio.run(_drive(settings))
    assert answered == 24
    assert stats["alive"] == stats["idle"] <= MAX_IDLE, stats  # every live process is accounted for
    assert 1 <= peak <= BUSY + MAX_IDLE, peak
    assert left == []
