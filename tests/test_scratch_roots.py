"""Scratch roots: a live worker's root is left alone; a dead worker's is removed with what runs in it."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from litellm_claude.worker.cli_parent_death import guarded_cli_path
from litellm_claude.worker.scratch import ScratchRoot, remove_dead_roots, scratch_dir
from tests.conftest import REPO

HOLD_A_ROOT = """
import sys, time
from litellm_claude.worker.scratch import ScratchRoot
root = ScratchRoot(sys.argv[1])
with root.job_dir() as job:
    print(job, flush=True)
    time.sleep(600)
"""


def test_a_live_root_is_kept_and_removed_on_close(tmp_path: Path) -> None:
    root = ScratchRoot(str(tmp_path))
    with root.job_dir() as job:
        assert Path(job).parent == root.path and root.path.name.startswith("lc-worker-")
        assert remove_dead_roots(str(tmp_path)) == []
        assert Path(job).is_dir()
        root.close()
    assert list(tmp_path.iterdir()) == []


def test_job_directory_names_come_back_once_free(tmp_path: Path) -> None:
    """The CLI keeps an entry per working directory in its config file: names are reused, not new."""
    with scratch_dir(str(tmp_path)) as first, scratch_dir(str(tmp_path)) as second:
        assert [Path(first).name, Path(second).name] == ["lc-job-0", "lc-job-1"]
        assert not any(Path(first).iterdir())
    (tmp_path / "lc-job-0").write_text("")  # taken by something else: skipped, never reused
    with scratch_dir(str(tmp_path)) as again:
        assert Path(again).name == "lc-job-1"
    assert not Path(again).exists()


def test_a_dead_workers_root_is_removed_and_what_works_in_it_killed(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_ROOT, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    job_dir = holder.stdout.readline().strip()
    straggler = subprocess.Popen(["sleep", "600"], cwd=job_dir)  # like a CLI's own child
    assert remove_dead_roots(str(tmp_path)) == [], "the holder is alive"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    (removed,) = remove_dead_roots(str(tmp_path))
    assert removed == Path(job_dir).parent and not removed.exists()
    assert straggler.wait(5) == -signal.SIGKILL


@pytest.mark.parametrize("setpriv", [True, False], ids=["setpriv", "python-prctl"])
def test_the_cli_launcher_kills_the_cli_when_its_parent_dies(tmp_path: Path, setpriv: bool) -> None:
    fake_cli = tmp_path / "fake-cli"
    fake_cli.write_text("#!/bin/sh\nexec sleep 600\n")
    fake_cli.chmod(0o755)
    if setpriv:
        assert shutil.which("setpriv"), "util-linux's setpriv"
    with contextlib.nullcontext() if setpriv else mock.patch("shutil.which", return_value=None):
        launcher = guarded_cli_path(str(fake_cli), tmp_path)
    assert ("setpriv" in Path(launcher or "").read_text()) == setpriv
    assert launcher is not None and launcher != str(fake_cli)
    # a parent that starts the launcher, prints the child's pid, then waits to be killed
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; p = subprocess.Popen([sys.argv[1]]); "
            "print(p.pid, flush=True); time.sleep(600)",
            launcher,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 10
    while "sleep" not in Path(f"/proc/{child}/cmdline").read_text() and time.monotonic() < deadline:
        time.sleep(0.02)  # until setpriv has exec'd the "CLI"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(child), "the CLI outlived its parent"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
