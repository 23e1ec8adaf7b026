"""`litellm-claude batch run requests.jsonl -o results.jsonl`: one OpenAI batch, start to files.

Uploads the input (`POST /v1/files`), creates a batch (`POST /v1/batches`), follows
it with a progress bar (rate and ETA) and writes its output and error files in
OpenAI's format. A state file named by the input's SHA-256 (and the API's URL)
remembers the batch: after Ctrl-C or a crash, the same command follows the same
batch instead of paying for a new one. The batch also carries the hash in its
metadata, so a run interrupted between creating the batch and saving its id finds
it again through `GET /v1/batches`. Ctrl-C leaves the batch running on the server.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

METADATA_KEY = "input_sha256"
DONE = {"completed", "cancelled", "failed", "expired"}


class BatchState(BaseModel):
    """What a run remembers about its input's batch."""

    input: str
    input_sha256: str
    base_url: str
    input_file_id: str | None = None
    batch_id: str | None = None


class BatchRunError(Exception):
    pass


def default_state_dir() -> Path:
    """$XDG_STATE_HOME/litellm-claude/batches (default ~/.local/state/...)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "litellm-claude" / "batches"


def state_path(directory: Path, digest: str, base_url: str) -> Path:
    where = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:8]
    return directory / f"{digest[:32]}-{where}.json"


def default_error_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.errors{output.suffix or '.jsonl'}")


def run_batch(
    input_path: Path,
    output: Path,
    *,
    base_url: str,
    api_key: str | None,
    errors: Path | None = None,
    poll_s: float = 1.0,
    fresh: bool = False,
    states: Path | None = None,
    console: Console | None = None,
) -> int:
    console = console or Console(stderr=True)
    errors = errors or default_error_path(output)
    content = input_path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    path = state_path(states or default_state_dir(), digest, base_url)
    state = _load(path) if not fresh else None
    state = state or BatchState(input=str(input_path), input_sha256=digest, base_url=base_url)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    _stop_on_sigterm()
    with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=60) as client:
        try:
            batch = _ensure_batch(client, state, path, content, input_path.name, console)
            batch = _follow(client, batch, poll_s, console)
        except KeyboardInterrupt:
            console.print(
                f"\ninterrupted: batch {state.batch_id or '(not created)'} keeps running on the server; "
                "run the same command again to resume it (nothing is submitted twice)."
            )
            return 130
        except BatchRunError as exc:
            console.print(f"[red]{exc}[/red]")
            return 1
        written = _download(client, batch, output, errors)
    counts = batch.get("request_counts") or {}
    console.print(
        f"batch {batch['id']} {batch['status']}: {counts.get('completed', 0)} succeeded, "
        f"{counts.get('failed', 0)} failed; " + ", ".join(f"{n} lines -> {p}" for p, n in written)
    )
    return 0 if batch["status"] == "completed" and not counts.get("failed") else 1


def _ensure_batch(
    client: httpx.Client, state: BatchState, path: Path, content: bytes, name: str, console: Console
) -> dict[str, Any]:
    if state.batch_id:
        found = client.get(f"/batches/{state.batch_id}")
        if found.status_code == 200:
            console.print(f"resuming batch {state.batch_id}")
            return dict(found.json())
        if found.status_code != 404:
            raise BatchRunError(_error_text(found))
        console.print(f"batch {state.batch_id} is gone from the server (expired?): submitting again")
        state.batch_id = state.input_file_id = None
    adopted = _find_by_hash(client, state.input_sha256)
    if adopted is not None:
        state.batch_id = adopted["id"]
        _save(path, state)
        console.print(f"resuming batch {state.batch_id}")
        return adopted
    if state.input_file_id is None or client.get(f"/files/{state.input_file_id}").status_code != 200:
        upload = client.post("/files", data={"purpose": "batch"}, files={"file": (name, content)})
        if upload.status_code != 200:
            raise BatchRunError(_error_text(upload))
        state.input_file_id = upload.json()["id"]
        _save(path, state)
    created = client.post(
        "/batches",
        json={
            "input_file_id": state.input_file_id,
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "metadata": {METADATA_KEY: state.input_sha256},
        },
    )
    if created.status_code != 200:
        raise BatchRunError(_error_text(created))
    batch = dict(created.json())
    state.batch_id = batch["id"]
    _save(path, state)
    console.print(f"submitted batch {state.batch_id}")
    return batch


def _find_by_hash(client: httpx.Client, digest: str) -> dict[str, Any] | None:
    """A live batch of this caller created from the same input (newest first)."""
    after: str | None = None
    while True:
        listing = client.get("/batches", params={"limit": 100, **({"after": after} if after else {})})
        if listing.status_code != 200:
            return None
        body = listing.json()
        for batch in body.get("data", []):
            if (batch.get("metadata") or {}).get(METADATA_KEY) == digest and batch.get(
                "status"
            ) != "cancelled":
                return dict(batch)
        if not body.get("has_more") or not body.get("last_id"):
            return None
        after = body["last_id"]


def _follow(client: httpx.Client, batch: dict[str, Any], poll_s: float, console: Console) -> dict[str, Any]:
    total = int((batch.get("request_counts") or {}).get("total") or 0)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    started = time.monotonic()
    first_done: int | None = None
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(batch["id"], total=total or None, rate="")
        while True:
            counts = batch.get("request_counts") or {}
            done = int(counts.get("completed", 0)) + int(counts.get("failed", 0))
            first_done = done if first_done is None else first_done
            elapsed = time.monotonic() - started
            rate = (done - first_done) / elapsed if elapsed > 0 else 0.0
            progress.update(
                task, total=int(counts.get("total") or 0) or None, completed=done, rate=f"{rate:.2f} req/s"
            )
            if batch.get("status") in DONE:
                return batch
            time.sleep(poll_s)
            reply = client.get(f"/batches/{batch['id']}")
            if reply.status_code != 200:
                raise BatchRunError(_error_text(reply))
            batch = dict(reply.json())


def _download(
    client: httpx.Client, batch: dict[str, Any], output: Path, errors: Path
) -> list[tuple[Path, int]]:
    written = []
    for file_id, target in ((batch.get("output_file_id"), output), (batch.get("error_file_id"), errors)):
        data = b""
        if file_id:
            reply = client.get(f"/files/{file_id}/content")
            if reply.status_code != 200:
                raise BatchRunError(_error_text(reply))
            data = reply.content
        if file_id or target == output:
            _write_atomic(target, data)
            written.append((target, data.count(b"\n")))
    return written


def _write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _load(path: Path) -> BatchState | None:
    try:
        return BatchState.model_validate_json(path.read_text())
    except (OSError, ValueError):
        return None


def _save(path: Path, state: BatchState) -> None:
    _write_atomic(path, state.model_dump_json(indent=2).encode())


def _error_text(reply: httpx.Response) -> str:
    try:
        message = reply.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = reply.text[:300]
    return f"{reply.request.method} {reply.request.url.path}: HTTP {reply.status_code}: {message}"


def _stop_on_sigterm() -> None:
    """SIGTERM stops a run as Ctrl-C does: the batch keeps running, the state file stays."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if sys.platform != "win32":
        signal.signal(signal.SIGTERM, handler)
