"""Earlier turns of a conversation as a Claude Code session transcript, so the CLI resumes them.

The CLI takes one prompt per run, but it can resume a session from a JSONL
transcript in its config directory. Writing the client's earlier user and
assistant turns there (and passing `resume=<session id>`) makes them reach the
model as separate turns, not one flattened string. Tool calls and tool results
from OpenAI function calling become tagged text inside those turns, because the
CLI's own tools stay off. The transcript lives in a project directory keyed by
the job's scratch directory and is removed with it.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litellm_claude.jobs.contract import JobImage, JobMessage

CLI_SANITIZE = re.compile(r"[^a-zA-Z0-9]")


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # "user" | "assistant"
    text: str
    images: tuple[JobImage, ...] = ()

    def content(self) -> str | list[dict[str, Any]]:
        """Anthropic message content: plain text, or image blocks followed by the text."""
        if not self.images:
            return self.text
        blocks: list[dict[str, Any]] = [
            {"type": "image", "source": {"type": "base64", "media_type": i.media_type, "data": i.data}}
            for i in self.images
        ]
        if self.text:
            blocks.append({"type": "text", "text": self.text})
        return blocks


def turn_text(message: JobMessage) -> str:
    """What one OpenAI message becomes inside a turn."""
    if message.role == "tool":
        call_id = f' tool_call_id="{message.tool_call_id}"' if message.tool_call_id else ""
        return f"<tool_result{call_id}>\n{message.content}\n</tool_result>"
    parts = [message.content] if message.content else []
    for call in message.tool_calls or []:
        function = call.get("function") or {}
        parts.append(
            f'<tool_call id="{call.get("id", "")}" name="{function.get("name", "")}">'
            f"{function.get('arguments', '{}')}</tool_call>"
        )
    return "\n".join(parts)


def to_turns(messages: list[JobMessage]) -> list[Turn]:
    """Non-system messages as alternating user/assistant turns (same-role neighbours merged)."""
    turns: list[Turn] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        text = turn_text(message)
        images = tuple(message.images)
        if turns and turns[-1].role == role:
            last = turns[-1]
            turns[-1] = Turn(role, f"{last.text}\n\n{text}", last.images + images)
        else:
            turns.append(Turn(role, text, images))
    return turns


def project_dir(config_dir: Path, cwd: str) -> Path:
    return config_dir / "projects" / CLI_SANITIZE.sub("-", cwd)


def write_transcript(config_dir: Path, cwd: str, history: list[Turn], model: str) -> str:
    """Write `history` as a resumable session for a CLI started in `cwd`; return its session id."""
    session_id = str(uuid.uuid4())
    directory = project_dir(config_dir, cwd)
    directory.mkdir(parents=True, exist_ok=True)
    parent: str | None = None
    lines = []
    for index, turn in enumerate(history):
        entry_id = str(uuid.uuid4())
        lines.append(json.dumps(_entry(turn, index, entry_id, parent, session_id, cwd, model)))
        parent = entry_id
    (directory / f"{session_id}.jsonl").write_text("\n".join(lines) + "\n")
    return session_id


def remove_transcripts(config_dir: Path, cwd: str) -> None:
    shutil.rmtree(project_dir(config_dir, cwd), ignore_errors=True)


def _entry(
    turn: Turn, index: int, entry_id: str, parent: str | None, session_id: str, cwd: str, model: str
) -> dict[str, Any]:
    message: dict[str, Any]
    if turn.role == "user":
        message = {"role": "user", "content": turn.content()}
    else:
        message = {
            "id": f"msg_history_{index}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": turn.text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
    return {
        "parentUuid": parent,
        "isSidechain": False,
        "type": turn.role,
        "message": message,
        "uuid": entry_id,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "userType": "external",
        "cwd": cwd,
        "sessionId": session_id,
    }
