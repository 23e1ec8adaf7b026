"""Turn an OpenAI conversation into the CLI's system prompt and user prompt.

The CLI takes one user prompt per query. A single user turn is passed as is.
A longer conversation becomes a transcript with explicit, delimited turns; what
the model then sees is documented in the README ("What the model sees").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobs.contract import JobMessage

CLAUDE_CODE_PRESET = "claude_code"


@dataclass(frozen=True, slots=True)
class PromptPlan:
    system_prompt: str | dict[str, Any]
    prompt: str


def plan_prompt(messages: list[JobMessage], *, system_mode: str = "system") -> PromptPlan:
    system_text = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    turns = [m for m in messages if m.role != "system"]
    prompt = _single_turn(turns) or _transcript(turns)
    if system_mode == "user" and system_text:
        prompt = f"<system_instructions>\n{system_text}\n</system_instructions>\n\n{prompt}"
        return PromptPlan(system_prompt="", prompt=prompt)
    if system_mode == "append":
        preset: dict[str, Any] = {"type": "preset", "preset": CLAUDE_CODE_PRESET}
        if system_text:
            preset["append"] = system_text
        return PromptPlan(system_prompt=preset, prompt=prompt)
    return PromptPlan(system_prompt=system_text, prompt=prompt)


def _single_turn(turns: list[JobMessage]) -> str | None:
    if len(turns) == 1 and turns[0].role == "user":
        return turns[0].content
    return None


def _transcript(turns: list[JobMessage]) -> str:
    lines = [
        "The conversation so far is below, one turn per block. Reply as the assistant to the last user turn.",
        "",
    ]
    for turn in turns:
        label = turn.role if turn.role != "tool" else f"tool result ({turn.tool_call_id or '?'})"
        lines.append(f"<{label}>\n{turn.content}\n</{label.split(' ')[0]}>")
    return "\n".join(lines)
