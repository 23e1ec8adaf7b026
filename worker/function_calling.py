"""OpenAI function calling on top of the CLI's structured output.

The CLI's own tools stay off. Instead the model is given the client's function
definitions in the system prompt and must answer through a structured-output
schema: either `respond` with text, or `call_tools` with a list of calls whose
arguments follow each function's parameter schema. `tool_choice` narrows the
schema: `required` and a named function leave only `call_tools`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from litellm_claude.jobs.contract import JobParams


def tools_active(params: JobParams) -> bool:
    return bool(params.tools) and params.tool_choice != "none"


def _functions(params: JobParams) -> list[dict[str, Any]]:
    functions = [t["function"] for t in params.tools or [] if t.get("type") == "function"]
    choice = params.tool_choice
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        functions = [f for f in functions if f.get("name") == wanted]
    return functions


def _forced(params: JobParams) -> bool:
    return params.tool_choice == "required" or isinstance(params.tool_choice, dict)


def decision_schema(params: JobParams) -> dict[str, Any]:
    calls = [
        {
            "type": "object",
            "properties": {
                "name": {"const": f["name"]},
                "arguments": f.get("parameters") or {"type": "object", "properties": {}},
            },
            "required": ["name", "arguments"],
        }
        for f in _functions(params)
    ]
    tool_calls: dict[str, Any] = {"type": "array", "items": {"anyOf": calls}}
    if _forced(params):
        tool_calls["minItems"] = 1
        return {
            "type": "object",
            "properties": {"action": {"enum": ["call_tools"]}, "tool_calls": tool_calls},
            "required": ["action", "tool_calls"],
        }
    return {
        "type": "object",
        "properties": {
            "action": {"enum": ["respond", "call_tools"]},
            "content": {"type": "string", "description": "The answer, when action is respond."},
            "tool_calls": tool_calls,
        },
        "required": ["action"],
    }


def tools_prompt(params: JobParams) -> str:
    lines = [
        "You can call the functions below; the caller runs them and sends back their results "
        "as <tool_result> blocks. Answer only through the StructuredOutput tool: set action to "
        '"call_tools" with the calls to make, or to "respond" with your answer in content.',
    ]
    if _forced(params):
        lines.append("You must call at least one function now.")
    for function in _functions(params):
        lines.append(
            f"\n## {function['name']}\n{function.get('description', '')}\n"
            f"Parameters (JSON Schema): {json.dumps(function.get('parameters') or {})}"
        )
    return "\n".join(lines)


def decision_result(decision: Any) -> tuple[str, list[dict[str, Any]] | None]:
    """(text, OpenAI tool_calls or None) from the model's structured decision."""
    if not isinstance(decision, dict):
        return json.dumps(decision), None
    calls = decision.get("tool_calls") or []
    if decision.get("action") == "call_tools" and calls:
        return "", [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {
                    "name": str(call.get("name", "")),
                    "arguments": json.dumps(call.get("arguments") or {}, ensure_ascii=False),
                },
            }
            for call in calls
            if isinstance(call, dict)
        ]
    return str(decision.get("content") or ""), None
