"""The deployment's Claude sign-ins: named subscriptions (OAuth token or login dir) and API keys.

Zero-config default: one sign-in named `default` built from today's variables
(CLAUDE_CODE_OAUTH_TOKEN, ANTHROPIC_API_KEY, CLAUDE_CONFIG_DIR). Several: the
`SIGNINS` variable holds a JSON list (or `SIGNINS_FILE` names a JSON file), e.g.

    [{"name": "team-a", "oauth_token": "sk-ant-oat01-..."},
     {"name": "team-b", "config_dir": "/data/claude-b"},
     {"name": "payg", "api_key": "sk-ant-api03-..."}]

Each entry has exactly one credential; each gets a CLI config dir of its own.
Names (never secrets) appear in logs, metrics, errors and job records.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, model_validator

if TYPE_CHECKING:
    from litellm_claude.config.settings import Settings

Kind = Literal["oauth", "login", "api_key"]
DEFAULT_NAME = "default"


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    oauth_token: SecretStr | None = None
    api_key: SecretStr | None = None
    config_dir: str | None = Field(
        default=None,
        description="CLAUDE_CONFIG_DIR of this sign-in: a logged-in dir (login), or where the CLI keeps "
        "its state (token sign-ins; default <CLAUDE_HOME or HOME>/.claude-signins/<name>).",
    )
    env_override: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    @model_validator(mode="after")
    def _one_credential(self) -> SignIn:
        if self.oauth_token is not None and self.api_key is not None:
            raise ValueError(f"sign-in {self.name!r}: give oauth_token or api_key, not both")
        if self.oauth_token is None and self.api_key is None and not self.config_dir:
            raise ValueError(f"sign-in {self.name!r}: needs oauth_token, api_key or config_dir (a login)")
        return self

    @property
    def kind(self) -> Kind:
        if self.api_key is not None:
            return "api_key"
        return "oauth" if self.oauth_token is not None else "login"

    @property
    def subscription(self) -> bool:
        """Subscriptions (OAuth or a login) have limit windows; API keys are pay-per-token."""
        return self.kind != "api_key"

    def cli_env(self, settings: Settings) -> dict[str, str]:
        """The CLI's environment for this sign-in: the deployment's, with only this credential."""
        env = settings.cli_env()
        if self.env_override:
            return {**env, **self.env_override}
        # blank the deployment-wide credentials so this sign-in's own is the one the CLI uses
        env["ANTHROPIC_API_KEY"] = ""
        env["CLAUDE_CODE_OAUTH_TOKEN"] = ""
        if self.api_key is not None:
            env["ANTHROPIC_API_KEY"] = self.api_key.get_secret_value()
        if self.oauth_token is not None:
            env["CLAUDE_CODE_OAUTH_TOKEN"] = self.oauth_token.get_secret_value()
        env["CLAUDE_CONFIG_DIR"] = self.config_dir or str(
            _state_root(settings) / ".claude-signins" / self.name
        )
        return env


def cli_config_dir(env: Mapping[str, str]) -> Path:
    """The CLAUDE_CONFIG_DIR a CLI with this environment uses (its state and an interactive login)."""
    if env.get("CLAUDE_CONFIG_DIR"):
        return Path(env["CLAUDE_CONFIG_DIR"])
    return Path(env.get("HOME") or os.environ.get("HOME") or Path.home()) / ".claude"


def signin_sources(env: Mapping[str, str]) -> list[str]:
    """Sign-ins a CLI with this environment finds, in its order of precedence; names only, never values."""
    sources = [name for name in ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN") if env.get(name)]
    credentials = cli_config_dir(env) / ".credentials.json"
    if credentials.is_file():
        sources.append(f"interactive login in {credentials}")
    return sources


def warn_if_signed_out(settings: Settings) -> None:
    """One clear line at start when the default sign-in has no credential at all (every job would fail)."""
    if settings.signins or settings.signins_file:
        return
    if not signin_sources({**os.environ, **settings.cli_env()}):
        log.warning(
            "no Claude sign-in found: set CLAUDE_CODE_OAUTH_TOKEN (from `claude setup-token`), "
            "ANTHROPIC_API_KEY, or run `litellm-claude login`; until then every job fails "
            "(`litellm-claude doctor` checks it)"
        )


def _state_root(settings: Settings) -> Path:
    return Path(settings.claude_home or os.environ.get("HOME") or Path.home())


log = logging.getLogger(__name__)
_LIST = TypeAdapter(list[SignIn])


def default_signin(settings: Settings) -> SignIn:
    """Today's single sign-in, exactly as the environment configures it."""
    api_key = settings.anthropic_api_key if settings.anthropic_api_key else None
    token = settings.claude_code_oauth_token if settings.claude_code_oauth_token else None
    if api_key is not None:  # the CLI prefers an API key when both are set
        token = None
    return SignIn.model_construct(
        name=DEFAULT_NAME,
        oauth_token=token,
        api_key=api_key,
        config_dir=settings.claude_config_dir or "",
        env_override=settings.cli_env(),
    )


def load_signins(settings: Settings) -> list[SignIn]:
    """SIGNINS (JSON) or SIGNINS_FILE, else the one default sign-in. Raises ValueError on bad config."""
    raw = settings.signins
    if not raw and settings.signins_file:
        raw = Path(settings.signins_file).read_text()
    if not raw or not raw.strip():
        return [default_signin(settings)]
    try:
        signins = _LIST.validate_python(json.loads(raw))
    except (ValueError, TypeError) as exc:
        # pydantic errors may quote input: never echo it (it holds secrets)
        raise ValueError(f"SIGNINS is not a valid list of sign-ins: {_safe(exc)}") from None
    names = [s.name for s in signins]
    if not signins or len(set(names)) != len(names):
        raise ValueError("SIGNINS must be a non-empty list with unique names")
    return signins


def _safe(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors())
    return type(exc).__name__
