"""The wheel as a user installs it: non-editable, in a fresh venv, run from a project of their own.

The installed package is one namespace (`litellm_claude`), so a user directory that has
its own `config/` and `api/` packages (the names this repository keeps at its top level)
must not shadow it: the service and the LiteLLM proxy config both run from there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import uuid
import venv
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, REPO, free_port, service_env, stop_group
from tests.helpers.waiting import wait_http_ok

pytestmark = pytest.mark.proxy

MASTER_KEY = "sk-" + uuid.uuid4().hex + uuid.uuid4().hex
SOURCE_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "tests", "bench", "docs", "examples", "__pycache__", "*.egg-info", "build", ".ci"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the built wheel (non-editable); dependencies come from the test venv."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(REPO, source, ignore=SOURCE_IGNORE)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (work / "dist").glob("litellm_claude-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    # The dependencies (claude-agent-sdk, litellm, ...) without installing them again: the
    # test venv's site-packages as a plain path entry (its .pth files, the editable finder of
    # this checkout among them, are not processed from there).
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    """A directory with its own `config` and `api` packages, as many user projects have."""
    for package in ("config", "api"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(f'"""The user\'s own {package}."""\nOWNER = "user"\n')
    (tmp_path / "config" / "settings.py").write_text("raise ImportError('the user package was imported')\n")
    return tmp_path


def _start(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    def tail() -> str:
        return log.read_text(errors="replace")[-3000:]

    wait_http_ok(url, url, {log.stem: proc}, tail, timeout, every=0.2)


@pytest.fixture
def running(
    installed: Path, user_project: Path, redis_url: str, fake_upstream: FakeUpstream, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """`litellm-claude serve` and the LiteLLM proxy, both from the installed wheel, in the user's dir."""
    api_port, proxy_port = free_port(), free_port()
    env = service_env(
        redis_url=redis_url,
        upstream=fake_upstream,
        home=tmp_path / "home",
        port=api_port,
        queue=f"lc:test:{uuid.uuid4().hex[:8]}",
    )
    env.pop("PYTHONPATH", None)
    serve_log, proxy_log = tmp_path / "serve.log", tmp_path / "proxy.log"
    serve = _start([str(installed / "bin" / "litellm-claude"), "serve"], user_project, env, serve_log)
    procs = [serve]
    try:
        _wait(f"http://127.0.0.1:{api_port}/ready", serve, serve_log)
        config = subprocess.run(
            [
                str(installed / "bin" / "python"),
                "-c",
                "import importlib.resources as r; "
                "print(r.files('litellm_claude.config') / 'litellm_config.yaml')",
            ],
            cwd=user_project,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        assert str(installed) in config, config
        proxy_env = {**env, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        proxy = _start(
            [
                *(str(installed / "bin" / "python"), "-m", "litellm.proxy.proxy_cli", "--config", config),
                *("--host", "127.0.0.1", "--port", str(proxy_port)),
            ],
            user_project,
            proxy_env,
            proxy_log,
        )
        procs.append(proxy)
        _wait(f"http://127.0.0.1:{proxy_port}/health/liveliness", proxy, proxy_log)
        yield f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{proxy_port}"
    finally:
        for proc in reversed(procs):
            stop_group(proc)


def test_installed_wheel_serves_from_a_project_with_its_own_config_and_api(running: tuple[str, str]) -> None:
    api, proxy = running
    body = {"model": "sonnet", "messages": [{"role": "user", "content": "installed wheel"}]}
    through_api = httpx.post(
        f"{api}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60
    )
    assert through_api.status_code == 200, through_api.text
    assert through_api.json()["choices"][0]["message"]["content"] == "You said: installed wheel"

    through_proxy = httpx.post(
        f"{proxy}/v1/chat/completions",
        json={**body, "messages": [{"role": "user", "content": "through the proxy"}]},
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
        timeout=60,
    )
    assert through_proxy.status_code == 200, through_proxy.text
    assert through_proxy.json()["choices"][0]["message"]["content"] == "You said: through the proxy"
