"""Process settings, read once from the environment (and an optional `.env`)."""

from __future__ import annotations

import json
import re
from functools import lru_cache

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

COLD_CONCURRENCY = 4  # WORKER_MAX_JOBS and GLOBAL_MAX_CLI when every job spawns a CLI (~2 per core)
WARM_CONCURRENCY = 8  # ... when CLI processes are kept warm (the default)


class Settings(BaseSettings):
    """All knobs of the service. Environment variable names are the field names, upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # --- Redis and the queue -------------------------------------------------
    redis_url: str | None = Field(
        default=None,
        description="Redis to queue on. Unset: an embedded redis-server in this process (not durable).",
    )
    embedded_redis_path: str | None = Field(
        default=None,
        description="Database file for the embedded Redis. Unset: a temporary file, lost at exit.",
    )
    queue_name: str = "lc:queue"
    redis_max_connections: int = 2000
    redis_wait_replicas: int = Field(
        default=0,
        ge=0,
        description="Replicas that must confirm an accepted async job or batch (Redis WAIT) before its 202; "
        "fewer within REDIS_WAIT_TIMEOUT_MS is a 503. 0: no WAIT (asynchronous replication).",
    )
    redis_wait_timeout_ms: int = Field(default=1000, ge=1, description="How long a WAIT may take.")

    # --- API -----------------------------------------------------------------
    api_keys: str = Field(
        default="",
        description="Comma-separated bearer keys accepted by the API. Empty: no auth, loopback only.",
    )
    admin_api_keys: str = Field(
        default="",
        description="Comma-separated keys that may use the API and see every caller's work on /dashboard "
        "(other keys see their own). Empty with no API_KEYS: the loopback-only API is everyone's.",
    )
    bulk_api_keys: str = Field(
        default="",
        description="Comma-separated keys (also in API_KEYS) whose requests always run at bulk priority.",
    )
    host: str = "127.0.0.1"
    port: int = 8080
    request_timeout_s: float = 600.0
    max_body_bytes: int = 10_000_000
    protect_ops_endpoints: bool = Field(
        default=False,
        description="Require an API key (one of API_KEYS) for /metrics, /openapi.json, /docs and /redoc too.",
    )

    caller_labels: str = Field(
        default="",
        description="Names for callers in /metrics: comma-separated <hash>=<name>, where <hash> is the "
        "first 8 hex digits of sha256(API key), as /metrics shows unnamed callers.",
    )

    log_level: str = "INFO"
    log_format: str = Field(default="json", description="json (one object per line) or text.")

    # --- Jobs and events ------------------------------------------------------
    job_timeout_s: float = 600.0
    events_ttl_s: int = 3600
    events_maxlen: int = 10_000
    max_messages: int = 2_000
    max_request_chars: int = 2_000_000

    # --- Async jobs and batches (`/v1/jobs`, `/v1/batches`, `/v1/files`) ------
    result_ttl_s: int = Field(
        default=86_400,
        ge=60,
        description="Job records, results, batches and files are kept this long after submission. "
        "EVENTS_TTL_S is raised to at least this, so a job's events outlive its record.",
    )
    expired_ttl_s: int = Field(
        default=7 * 86_400,
        description="After its record expires, a job id still answers 410 (not 404) for this long.",
    )
    max_batch_size: int = Field(default=1_000, ge=1, description="Requests per batch; 413 past it.")
    max_file_bytes: int = Field(default=20_000_000, ge=1, description="Largest `POST /v1/files` upload.")

    # --- Worker ---------------------------------------------------------------
    worker_max_jobs: int = Field(
        default=COLD_CONCURRENCY,
        ge=1,
        description="Jobs (busy CLI processes) at once per worker. Unset: 8 with WARM_PROCESSES "
        "(a busy warm process costs far less CPU than a spawn), 4 without (docs/benchmarks.md).",
    )
    worker_max_tries: int = 3
    worker_poll_delay_s: float = Field(
        default=0.05,
        description="How often a worker polls the queue. A submit also wakes an idle worker at once "
        "(worker/wakeup.py), so polling only catches what no wake-up reached (batches, retries).",
    )
    global_max_cli: int = Field(
        default=COLD_CONCURRENCY,
        ge=1,
        description="Busy CLI processes at once across all workers of a queue (idle warm ones: "
        "WARM_MAX_IDLE). Unset: 8 with WARM_PROCESSES, 4 without (~2 spawns per core: docs/benchmarks.md).",
    )
    cli_slot_lease_s: float = Field(
        default=6.0,
        gt=0,
        description="A CLI slot is leased this long and renewed every third of it: a dead worker's "
        "slots come back within this long.",
    )
    worker_drain_grace_s: float = Field(
        default=25.0,
        ge=0,
        description="On SIGTERM/SIGINT a worker takes no new job and lets running ones finish this long, "
        "then hands the rest back to the queue for another worker (fits compose's 30 s stop_grace_period).",
    )
    api_drain_grace_s: float = Field(
        default=25.0,
        ge=0,
        description="On SIGTERM/SIGINT the API stops accepting and lets open requests and streams finish "
        "this long before cutting them.",
    )
    in_progress_lease_s: float = Field(
        default=15.0, description="A dead worker's job is picked up again after at most this long."
    )
    inactivity_timeout_s: float = Field(default=120.0, description="Kill a CLI silent this long.")
    max_queue_depth: int = Field(default=10_000, description="Past this backlog, 503 at once.")
    fail_without_workers: bool = Field(
        default=True,
        description="A synchronous request (API or LiteLLM provider) on a queue no live worker consumes "
        "gets 503 + Retry-After at once instead of waiting out QUEUE_WAIT_TIMEOUT_S. Async jobs and "
        "batches are still queued for workers that start later.",
    )
    queue_wait_timeout_s: float = Field(
        default=300.0, description="A synchronous request not started by then gets 503 + Retry-After."
    )
    model_chains: str = Field(
        default="",
        description="Fallback chains per alias, e.g. 'default=opus>sonnet;opus=opus>sonnet'. "
        "Unset aliases keep the built-in table (default = opus then sonnet).",
    )

    # --- Warm CLI processes (worker/warm_pool.py) ---------------------------------
    warm_processes: bool = Field(
        default=True,
        description="Keep CLI processes warm and reuse them for jobs of the same configuration. "
        "false: every job starts a fresh CLI (the cold path).",
    )
    warm_max_idle: int = Field(
        default=8, ge=0, description="Idle warm CLI processes per worker (each about 200-350 MB); LRU beyond."
    )
    warm_max_jobs: int = Field(default=200, ge=1, description="Recycle a warm process after this many jobs,")
    warm_max_age_s: float = Field(default=3600.0, gt=0, description="... or this many seconds,")
    warm_max_rss_mb: int = Field(
        default=1024, ge=1, description="... or once its resident memory exceeds this."
    )
    warm_idle_ttl_s: float = Field(default=300.0, gt=0, description="Close a warm process idle this long.")
    warm_freeze_after_s: float = Field(
        default=10.0,
        ge=0,
        description="Stop (SIGSTOP) a warm process idle this long, until a job takes it (SIGCONT): an "
        "idle CLI spends 2-3% of a core; its next job answers ~0.1 s later. 0: never freeze.",
    )
    warm_wait_s: float = Field(
        default=0.5,
        ge=0,
        description="A job with no idle process of its configuration waits up to this long for a busy "
        "one to finish (first come, first served) before starting another: a start costs ~1 s of CPU, "
        "a warm job tens of ms. 0: never wait.",
    )

    # --- The Claude Code CLI ------------------------------------------------------
    claude_cli_path: str | None = Field(
        default=None, description="CLI binary; unset uses the one bundled in claude-agent-sdk."
    )
    claude_config_dir: str | None = Field(
        default=None, description="CLAUDE_CONFIG_DIR for the CLI (holds an interactive login)."
    )
    claude_home: str | None = Field(
        default=None, description="HOME for the CLI processes; unset inherits this process's HOME."
    )
    anthropic_base_url: str | None = None
    anthropic_api_key: SecretStr | None = None
    claude_code_oauth_token: SecretStr | None = None
    claude_code_max_retries: int = 0

    # --- Sign-ins and subscription limits (config/signins.py, docs/operations.md) ---
    signins: str = Field(
        default="",
        description="JSON list of named sign-ins (oauth_token | config_dir | api_key). Empty: one "
        "sign-in named 'default' from CLAUDE_CODE_OAUTH_TOKEN / ANTHROPIC_API_KEY / CLAUDE_CONFIG_DIR.",
    )
    signins_file: str | None = Field(default=None, description="A JSON file holding the SIGNINS list.")
    api_key_overflow: bool = Field(
        default=False,
        description="Let API-key sign-ins take work when every subscription sign-in is limited "
        "(pay-per-token). Off: API keys in SIGNINS beside subscriptions are never used.",
    )
    bulk_pause_at_utilization: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Hold bulk-priority work while a sign-in's window is at or above this utilization "
        "(e.g. 0.9); held jobs wait in the queue and resume by themselves.",
    )
    bulk_pause_recheck_s: float = Field(
        default=30.0, gt=0, description="A held bulk job looks again after at most this long."
    )
    system_prompt_mode: str = Field(
        default="system",
        description="Where a client's system text goes: system | append | user "
        "(CLI system prompt, appended to the Claude Code preset, or prepended to the first user turn).",
    )

    @field_validator("system_prompt_mode")
    @classmethod
    def _check_mode(cls, value: str) -> str:
        if value not in {"system", "append", "user"}:
            raise ValueError("SYSTEM_PROMPT_MODE must be one of: system, append, user")
        return value

    @field_validator("caller_labels")
    @classmethod
    def _check_caller_labels(cls, value: str) -> str:
        parse_caller_labels(value)
        return value

    @model_validator(mode="after")
    def _warm_concurrency(self) -> Settings:
        # Warm processes: a busy one costs ~0.07 s of CPU per job against ~0.4 s for a spawn, so the
        # caps an operator did not set rise to WARM_CONCURRENCY (docs/benchmarks.md, "Warm CLI processes").
        if self.warm_processes and self.warm_max_idle > 0:
            for name in ("worker_max_jobs", "global_max_cli"):
                if name not in self.model_fields_set:
                    setattr(self, name, WARM_CONCURRENCY)
        return self

    @model_validator(mode="after")
    def _events_outlive_results(self) -> Settings:
        # A job's status and result are derived from its event stream: keep it as long as the record.
        self.events_ttl_s = max(self.events_ttl_s, self.result_ttl_s)
        return self

    def chain_overrides(self) -> dict[str, list[str]]:
        """MODEL_CHAINS parsed: alias -> [model, fallback, ...]."""
        chains: dict[str, list[str]] = {}
        for item in self.model_chains.split(";"):
            alias, _, chain = item.partition("=")
            models = [m.strip() for m in chain.split(">") if m.strip()]
            if alias.strip() and models:
                chains[alias.strip()] = models
        return chains

    @property
    def caller_names(self) -> dict[str, str]:
        """CALLER_LABELS as caller hash -> name."""
        return parse_caller_labels(self.caller_labels)

    @property
    def api_key_set(self) -> frozenset[str]:
        """Every key the API accepts: API_KEYS and ADMIN_API_KEYS."""
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip()) | self.admin_key_set

    @property
    def admin_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.admin_api_keys.split(",") if k.strip())

    @property
    def bulk_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.bulk_api_keys.split(",") if k.strip())

    def cli_env(self) -> dict[str, str]:
        """Environment handed to each CLI process (merged over the inherited one by the SDK)."""
        env = {
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_MAX_RETRIES": str(self.claude_code_max_retries),
            "DISABLE_AUTOUPDATER": "1",
        }
        if self.anthropic_base_url:
            env["ANTHROPIC_BASE_URL"] = self.anthropic_base_url
        if self.anthropic_api_key:
            env["ANTHROPIC_API_KEY"] = self.anthropic_api_key.get_secret_value()
        if self.claude_code_oauth_token:
            env["CLAUDE_CODE_OAUTH_TOKEN"] = self.claude_code_oauth_token.get_secret_value()
        if self.claude_config_dir:
            env["CLAUDE_CONFIG_DIR"] = self.claude_config_dir
        if self.claude_home:
            env["HOME"] = self.claude_home
        return env

    def secrets(self) -> list[str]:
        """Every secret value this process knows, for redaction."""
        values = [k for k in self.api_key_set]
        for secret in (self.anthropic_api_key, self.claude_code_oauth_token):
            if secret:
                values.append(secret.get_secret_value())
        values += _signin_secrets(self.signins)
        return [v for v in values if len(v) >= 6]


def parse_caller_labels(spec: str) -> dict[str, str]:
    """`<hash>=<name>,...` as hash -> name; a malformed pair raises ValueError."""
    names: dict[str, str] = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        digest, sep, name = (part.strip() for part in item.partition("="))
        if not sep or not re.fullmatch(r"[0-9a-f]{8}", digest) or not re.fullmatch(r"[\w.:-]{1,64}", name):
            raise ValueError(
                f"CALLER_LABELS item {item.strip()!r}: expected <first 8 hex digits of sha256(key)>=<name> "
                "(the name: letters, digits, _ . : -)"
            )
        names[digest] = name
    return names


def _signin_secrets(raw: str) -> list[str]:
    """Credentials named in SIGNINS, read leniently (for redaction even when the list is invalid)."""
    try:
        entries = json.loads(raw) if raw.strip() else []
    except ValueError:
        return []
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            found += [str(entry[k]) for k in ("oauth_token", "api_key") if entry.get(k)]
    return found


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
