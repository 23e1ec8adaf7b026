"""The CLI's config file does not grow with every warm process a worker starts.

A warm CLI process records its working directory in `.claude.json` of its config
dir (a `projects` entry; the CLI never prunes them, and rewrites the whole file).
With a fresh directory name per process the file grew for as long as the config
dir lived, which on a login volume is for good. Directory names are reused once
free (worker/scratch.py), so a worker leaves about as many entries as CLI
processes ran at once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.conftest import Factory, Service
from tests.helpers.streams import HEADERS, chat_body

JOBS = 8
REUSED_NAME = re.compile(r"lc-job-(warm-)?\d+")


def project_entries(svc: Service) -> list[str]:
    config = Path(svc.env["CLAUDE_CONFIG_DIR"]) / ".claude.json"
    return list(json.loads(config.read_text()).get("projects", {})) if config.exists() else []


def test_processes_started_one_after_another_leave_a_bounded_set_of_entries(service_factory: Factory) -> None:
    # a new warm process for every job (recycled after one), one job at a time
    svc = service_factory(WORKER_MAX_JOBS="1", GLOBAL_MAX_CLI="1", WARM_PROCESSES="true", WARM_MAX_JOBS="1")
    for n in range(JOBS):
        reply = httpx.post(
            f"{svc.url}/v1/chat/completions", json=chat_body(f"job {n}"), headers=HEADERS, timeout=60
        )
        assert reply.status_code == 200, reply.text
    svc.stop_all()
    entries = project_entries(svc)
    names = {Path(path).name for path in entries}
    assert all(REUSED_NAME.fullmatch(name) for name in names), entries
    # a process being closed holds its name until it is gone, so the next one may take the next
    # number: a few names, where fresh names gave one per process
    assert names <= {"lc-job-warm-0", "lc-job-warm-1", "lc-job-warm-2"}, entries
