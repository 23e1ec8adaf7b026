"""A service with no Claude sign-in at all says so once at start (`config.signins.warn_if_signed_out`)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from litellm_claude.config.settings import Settings
from litellm_claude.config.signins import signin_sources, warn_if_signed_out


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    names = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CONFIG_DIR", "SIGNINS", "SIGNINS_FILE")
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_no_sign_in_is_one_warning_naming_the_fixes(bare_env: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        warn_if_signed_out(Settings(_env_file=None))
    (record,) = [r for r in caplog.records if "no Claude sign-in" in r.getMessage()]
    assert "CLAUDE_CODE_OAUTH_TOKEN" in record.getMessage() and "litellm-claude login" in record.getMessage()


def test_a_token_or_a_login_is_enough(bare_env: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        warn_if_signed_out(Settings(_env_file=None, claude_code_oauth_token="sk-ant-oat01-x"))
    (bare_env / ".claude").mkdir()
    (bare_env / ".claude" / ".credentials.json").write_text("{}")
    login = bare_env / ".claude" / ".credentials.json"
    assert signin_sources({"HOME": str(bare_env)}) == [f"interactive login in {login}"]
    with caplog.at_level(logging.WARNING):
        warn_if_signed_out(Settings(_env_file=None))
    assert not [r for r in caplog.records if "no Claude sign-in" in r.getMessage()]
