"""Turn an OpenAI conversation into what the CLI is given: system prompt, earlier turns, prompt.

System and developer messages become the system prompt (or, by setting, are
appended to the Claude Code preset or prepended to the first user turn). The
last user turn (or the trailing tool results) is the prompt; everything before
it is history, which the worker hands to the CLI as a resumable session so the
model sees separate turns. `flat_transcript` is the fallback when no session
can be written: one prompt with delimited turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litellm_claude.jobs.contract import JobImage, JobMessage
from litellm_claude.worker.transcript import Turn, to_turns

CLAUDE_CODE_PRESET = "claude_code"
CONTINUE_PROMPT = "Continue your previous answer from where it stopped."
OPENING_TURN = "(The conversation starts with the assistant's message below.)"


@dataclass(frozen=True, slots=True)
class PromptPlan:
    system_prompt: str | dict[str, Any]
    prompt: str
    history: list[Turn] = field(default_factory=list)
    prompt_images: tuple[JobImage, ...] = ()


def plan_prompt(messages: list[JobMessage], *, system_mode: str = "system") -> PromptPlan:
    system_text = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    turns = to_turns(messages)
    images: tuple[JobImage, ...] = ()
    if turns and turns[-1].role == "user":
        history, prompt, images = turns[:-1], turns[-1].text, turns[-1].images
    else:
        history, prompt = turns, CONTINUE_PROMPT
    if history and history[0].role == "assistant":
        history = [Turn("user", OPENING_TURN), *history]
    if system_mode == "user" and system_text:
        wrapped = f"<system_instructions>\n{system_text}\n</system_instructions>\n\n"
        if history:
            history = [Turn("user", wrapped + history[0].text), *history[1:]]
        else:
            prompt = wrapped + prompt
        return PromptPlan(system_prompt="", prompt=prompt, history=history, prompt_images=images)
    if system_mode == "append":
        preset: dict[str, Any] = {"type": "preset", "preset": CLAUDE_CODE_PRESET}
        if system_text:
            preset["append"] = system_text
        return PromptPlan(system_prompt=preset, prompt=prompt, history=history, prompt_images=images)
    return PromptPlan(system_prompt=system_text, prompt=prompt, history=history, prompt_images=images)


def flat_transcript(plan: PromptPlan) -> str:
    """All turns in one prompt, each in its own delimited block (fallback only)."""
    lines = [
        "The conversation so far is below, one turn per block. Reply as the assistant to the last user turn.",
        "",
    ]
    for turn in [*plan.history, Turn("user", plan.prompt)]:
        lines.append(f"<{turn.role}>\n{turn.text}\n</{turn.role}>")
    return "\n".join(lines)
