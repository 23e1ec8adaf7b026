"""A LiteLLM proxy process for tests: `litellm --config config/litellm_config.yaml` on a free port.

It runs from the repository root on the environment of a `service` (its Redis and
queue, unless `extra_env` says otherwise) and is stopped with its process group.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO, free_port, stop_group
from tests.helpers.waiting import wait_http_ok

MASTER_KEY = "sk-" + secrets.token_urlsafe(32)
LITELLM_BIN = Path(sys.executable).parent / "litellm"


@dataclass
class Proxy:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def wait_ready(proxy: Proxy, timeout: float = 90) -> None:
    processes = {"litellm proxy": proxy.process}
    url = f"{proxy.url}/health/liveliness"
    wait_http_ok(url, "litellm proxy", processes, proxy.logs, timeout, every=0.2)


@contextmanager
def running_proxy(service_env: dict[str, str], log_dir: Path, **extra_env: str) -> Iterator[Proxy]:
    """A ready proxy (its log in `log_dir`), stopped when the block ends."""
    port = free_port()
    env = {
        **service_env,
        **extra_env,
        "LITELLM_MASTER_KEY": MASTER_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "NO_DOCS": "True",
    }
    command = [str(LITELLM_BIN), "--config", "config/litellm_config.yaml"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = log_dir / "proxy.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    proxy = Proxy(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        wait_ready(proxy)
        yield proxy
    finally:
        stop_group(process)
