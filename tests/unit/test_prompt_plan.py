"""`worker.prompt.plan_prompt`: system text, history and prompt from a normalized conversation."""

from __future__ import annotations

from typing import Literal

from litellm_claude.jobs.contract import JobMessage
from litellm_claude.worker.prompt import CONTINUE_PROMPT, OPENING_TURN, flat_transcript, plan_prompt

Role = Literal["system", "user", "assistant", "tool"]


def msg(role: Role, content: str) -> JobMessage:
    return JobMessage(role=role, content=content)


def test_single_turn_has_no_history_and_system_text_is_the_system_prompt() -> None:
    plan = plan_prompt([msg("system", "be brief"), msg("user", "hi")])
    assert (plan.system_prompt, plan.prompt, plan.history) == ("be brief", "hi", [])


def test_earlier_turns_are_history_and_the_last_user_turn_is_the_prompt() -> None:
    plan = plan_prompt([msg("user", "a"), msg("assistant", "b"), msg("user", "c")])
    assert [(t.role, t.text) for t in plan.history] == [("user", "a"), ("assistant", "b")]
    assert plan.prompt == "c"


def test_a_conversation_ending_with_the_assistant_asks_to_continue() -> None:
    plan = plan_prompt([msg("user", "a"), msg("assistant", "half")])
    assert plan.prompt == CONTINUE_PROMPT
    assert [t.role for t in plan.history] == ["user", "assistant"]


def test_history_opening_with_the_assistant_gets_a_user_turn_first() -> None:
    plan = plan_prompt([msg("assistant", "hello"), msg("user", "hi")])
    assert plan.history[0].role == "user" and plan.history[0].text == OPENING_TURN


def test_user_mode_wraps_system_text_into_the_first_user_turn() -> None:
    plan = plan_prompt([msg("system", "rules"), msg("user", "hi")], system_mode="user")
    assert plan.system_prompt == ""
    assert plan.prompt.startswith(
        "<system_instructions>\nrules\n</system_instructions>"
    ) and plan.prompt.endswith("hi")
    multi = plan_prompt(
        [msg("system", "rules"), msg("user", "a"), msg("assistant", "b"), msg("user", "c")],
        system_mode="user",
    )
    assert "rules" in multi.history[0].text and multi.prompt == "c"


def test_append_mode_appends_to_the_claude_code_preset() -> None:
    plan = plan_prompt([msg("system", "extra"), msg("user", "hi")], system_mode="append")
    assert plan.system_prompt == {"type": "preset", "preset": "claude_code", "append": "extra"}


def test_flat_transcript_delimits_every_turn_and_ends_with_the_prompt() -> None:
    plan = plan_prompt([msg("user", "a"), msg("assistant", "b"), msg("user", "c")])
    text = flat_transcript(plan)
    assert (
        text.index("<user>\na\n</user>")
        < text.index("<assistant>\nb\n</assistant>")
        < text.index("<user>\nc\n</user>")
    )
