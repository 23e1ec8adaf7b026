"""A busy service to look at, for the `status` and dashboard tests; made through the API, for real.

`build_scene` leaves: one finished job, one failed job (the upstream answers 401:
code `upstream_authentication_failed`), a usage-limit cooldown on opus (a `default`
request whose opus call hits the limit and falls back to sonnet), and an OpenAI
batch of three requests of which two are done and one hangs in its CLI process
(so one job runs and one CLI process is alive). `end_scene` cancels the batch.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, Service
from tests.helpers import waiting

FAILED_CODE = "upstream_authentication_failed"
# The hanging request must outlive a slow build of the scene on a loaded machine.
SLOW_MACHINE = {
    "JOB_TIMEOUT_S": "900",
    "INACTIVITY_TIMEOUT_S": "900",
    "REQUEST_TIMEOUT_S": "300",
    # One CLI per job: the scene counts CLI processes and waits for the hanging one to end,
    # which idle warm processes (kept on purpose) would blur.
    "WARM_PROCESSES": "false",
}


@dataclass(frozen=True)
class Scene:
    batch_id: str
    tag: str


def bearer(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# `wait_for(condition, what)`: a scene's steps take a while
wait_for = functools.partial(waiting.wait_for, timeout=90.0, every=0.2)


def chat(model: str, text: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


def build_scene(svc: Service, upstream: FakeUpstream, key: str = API_KEY) -> Scene:
    tag = uuid.uuid4().hex[:8]
    url = f"{svc.url}/v1"
    with httpx.Client(base_url=url, headers=bearer(key), timeout=90) as client:
        assert client.post("/chat/completions", json=chat("sonnet", f"fine {tag}")).status_code == 200
        upstream.state.script("sonnet", ["401"])
        failed = client.post("/chat/completions", json=chat("sonnet", f"denied {tag}"))
        assert failed.status_code == 401 and failed.json()["error"]["code"] == FAILED_CODE, failed.text
        upstream.state.script("opus", [f"usage_limit:{int(time.time()) + 3600}"])
        assert client.post("/chat/completions", json=chat("default", f"limited {tag}")).status_code == 200

        upstream.state.script("haiku", ["hang"], sticky=True)
        lines = [
            {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
            for i, body in enumerate(
                [chat("sonnet", f"one {tag}"), chat("sonnet", f"two {tag}"), chat("haiku", f"hang {tag}")]
            )
        ]
        content = "".join(json.dumps(line) + "\n" for line in lines)
        upload = client.post("/files", data={"purpose": "batch"}, files={"file": ("scene.jsonl", content)})
        batch = client.post(
            "/batches",
            json={
                "input_file_id": upload.json()["id"],
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
        ).json()

        def two_done() -> bool:
            counts = client.get(f"/batches/{batch['id']}").json()["request_counts"]
            hanging = any(f"hang {tag}" in json.dumps(r.body) for r in upstream.state.message_requests())
            return counts["completed"] == 2 and hanging

        wait_for(two_done, "two requests of the batch done and the third hanging upstream")
    return Scene(batch_id=batch["id"], tag=tag)


def end_scene(svc: Service, upstream: FakeUpstream, scene: Scene, key: str = API_KEY) -> None:
    httpx.post(f"{svc.url}/v1/batches/{scene.batch_id}/cancel", headers=bearer(key), timeout=30)
    wait_for(lambda: not svc.cli_pids(), "the hanging CLI process to stop")
    upstream.state.clear_script()
