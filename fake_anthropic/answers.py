"""Pure functions that decide what the fake model says.

What the Claude Code CLI (2.1.331) really sends, as recorded from its requests:
- `messages[0]` is the user turn. Its content is the prompt as a plain string, or a
  list of text blocks when the CLI prepends its own blocks: a
  "<system-reminder>...</system-reminder>" block (e.g. git attribution when tools
  are on) or, after `/clear`, "<local-command-caveat>...", "<command-name>/clear..."
  and "<local-command-stdout>..." blocks. The user's own text is the last block.
- Right after it comes a message with role "system" (not "user") holding
  "# Environment ..." details; it is skipped by role.
- Later user turns can be only `tool_result` blocks, or a CLI nudge such as
  "[structured-output-enforce] You MUST call the StructuredOutput tool ...".
So the real user text is the last user-role message that has text blocks left after
dropping tool results, blocks made only of <tag>...</tag> elements, and
"[bracketed-tag] ..." nudges.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

# A block made only of one or more <tag>...</tag> elements is CLI-added context.
_TAGGED_ONLY = re.compile(r"\s*(?:<([A-Za-z][\w-]*)>.*?</\1>\s*)+", re.DOTALL)
# CLI nudges such as "[structured-output-enforce] You MUST call ...".
_CLI_NUDGE = re.compile(r"\s*\[[a-z]+(?:-[a-z]+)+\]\s")
_WORD = re.compile(r"\w[\w'-]*")

STRUCTURED_OUTPUT_TOOL = "StructuredOutput"


def _text_blocks(content: Any) -> list[str]:
    """The text of each text block of a message content (a string is one block)."""
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text"]


def is_cli_added(text: str) -> bool:
    """True for text the CLI adds around the user's prompt (see module docstring)."""
    return bool(_TAGGED_ONLY.fullmatch(text) or _CLI_NUDGE.match(text))


def last_user_text(body: dict[str, Any]) -> str:
    """The last real user text of a Messages request body ("" if there is none)."""
    for message in reversed(body.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        real = [t for t in _text_blocks(message.get("content")) if not is_cli_added(t)]
        if real:
            return "\n".join(real)
    return ""


def reply_text(user_text: str) -> str:
    """The fake model's deterministic answer."""
    return f"You said: {user_text}"


def split_tokens(text: str) -> list[str]:
    """Split into tokens of one word plus its following whitespace; "".join() is `text`."""
    tokens = re.findall(r"\S+\s*", text)
    lead = text[: len(text) - len(text.lstrip())]
    if lead:
        if tokens:
            tokens[0] = lead + tokens[0]
        else:
            tokens = [lead]
    return tokens


def _content_texts(content: Any) -> Iterator[str]:
    """The text carried by a system or message content: text, tool inputs and results."""
    if isinstance(content, str):
        yield content
        return
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            yield str(block.get("text", ""))
        elif block.get("type") == "tool_use":
            yield json.dumps(block.get("input", {}))
        elif block.get("type") == "tool_result":
            yield from _content_texts(block.get("content"))


def count_input_tokens(body: dict[str, Any]) -> int:
    """Deterministic input token count: whitespace-separated words of system and messages."""
    texts = list(_content_texts(body.get("system")))
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            texts.extend(_content_texts(message.get("content")))
    return sum(len(text.split()) for text in texts)


def offered_tool(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The tool definition called `name` offered by the request, if any."""
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("name") == name:
            return tool
    return None


def has_tool_result(body: dict[str, Any], name: str) -> bool:
    """True when the conversation already holds a tool_result for a `name` tool_use."""
    ids: set[str] = set()
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use" and block.get("name") == name:
                ids.add(str(block.get("id")))
            elif block.get("type") == "tool_result" and block.get("tool_use_id") in ids:
                return True
    return False


def prompt_words(text: str) -> list[str]:
    """The words of a prompt, punctuation dropped, in order."""
    return _WORD.findall(text)


class _SchemaFiller:
    """Builds a value satisfying a JSON schema; strings cycle through the given words."""

    max_depth = 12

    def __init__(self, root: dict[str, Any], words: list[str]) -> None:
        self.root = root
        self.words = words or ["text"]
        self.cursor = 0
        self.counter = 0

    def next_word(self) -> str:
        word = self.words[self.cursor % len(self.words)]
        self.cursor += 1
        return word

    def resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref is supported: {ref!r}")
        node: Any = self.root
        for part in ref[1:].split("/"):
            if part:
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node if isinstance(node, dict) else {}

    def value(self, schema: Any, depth: int = 0) -> Any:
        if not isinstance(schema, dict) or depth > self.max_depth:
            return None if depth > self.max_depth else self.next_word()
        if "$ref" in schema:
            return self.value(self.resolve(str(schema["$ref"])), depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                return self.value(_first_non_null(schema[key]), depth + 1)
        if schema.get("allOf"):
            return self.value(_merge_all_of(schema, self), depth + 1)
        kind = _schema_type(schema)
        builder = getattr(self, f"make_{kind}", self.make_string)
        return builder(schema, depth)

    def make_object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        shallow = depth >= self.max_depth // 2  # deep down, required properties only
        out: dict[str, Any] = {}
        for name, sub in props.items():
            if name in required or not shallow:
                out[name] = self.value(sub, depth + 1)
        for name in sorted(required - props.keys()):
            out[name] = self.next_word()
        return out

    def make_array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        prefix: list[Any] = schema.get("prefixItems") or []
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        count = max(low, len(prefix), 2 if depth < self.max_depth // 2 else low)
        if high is not None:
            count = min(count, int(high))
        items = schema.get("items", {})
        return [self.value(prefix[i] if i < len(prefix) else items, depth + 1) for i in range(count)]

    def make_string(self, schema: dict[str, Any], _depth: int) -> str:
        fmt = schema.get("format")
        if fmt in _FORMATS:
            return _FORMATS[fmt]
        text = self.next_word()
        low = int(schema.get("minLength", 0))
        while len(text) < low:
            text = f"{text} {self.next_word()}"
        if schema.get("maxLength") is not None:
            text = text[: int(schema["maxLength"])]
        return text

    def make_integer(self, schema: dict[str, Any], _depth: int) -> int:
        self.counter += 1
        return int(_bounded(schema, self.counter, integer=True))

    def make_number(self, schema: dict[str, Any], _depth: int) -> float:
        self.counter += 1
        return float(_bounded(schema, self.counter + 0.5, integer=False))

    def make_boolean(self, _schema: dict[str, Any], _depth: int) -> bool:
        return True

    def make_null(self, _schema: dict[str, Any], _depth: int) -> None:
        return None


_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def _schema_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _first_non_null(options: list[Any]) -> Any:
    for option in options:
        if not (isinstance(option, dict) and option.get("type") == "null"):
            return option
    return options[0]


def _merge_all_of(schema: dict[str, Any], filler: _SchemaFiller) -> dict[str, Any]:
    """Shallow-merge allOf parts (properties and required unite)."""
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        part = filler.resolve(part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
        for key, val in (part or {}).items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **val}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *val]
            else:
                merged.setdefault(key, val)
    return merged


def _bounded(schema: dict[str, Any], guess: float, *, integer: bool) -> float:
    step = 1 if integer else 0.5
    low = schema.get("minimum")
    if schema.get("exclusiveMinimum") is not None and not isinstance(schema["exclusiveMinimum"], bool):
        low = schema["exclusiveMinimum"] + step
    high = schema.get("maximum")
    if schema.get("exclusiveMaximum") is not None and not isinstance(schema["exclusiveMaximum"], bool):
        high = schema["exclusiveMaximum"] - step
    value = guess
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    multiple = schema.get("multipleOf")
    if multiple:
        value = (value // multiple) * multiple
        if low is not None and value < low:
            value += multiple
    return value


def schema_instance(schema: dict[str, Any], prompt: str) -> Any:
    """A deterministic JSON value satisfying `schema`, its strings taken from `prompt`."""
    return _SchemaFiller(schema, prompt_words(prompt)).value(schema)


def chunk_json(value: Any, parts: int = 3) -> list[str]:
    """The JSON text of `value` cut into up to `parts` pieces (for input_json_delta)."""
    text = json.dumps(value)
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)]
