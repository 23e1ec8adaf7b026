"""OpenAI Batch API files: the multipart upload, the JSONL input lines, the output and error lines.

Input line:  {"custom_id": "...", "method": "POST", "url": "/v1/chat/completions", "body": {...}}
Output line: {"id": "batch_req_...", "custom_id": "...", "response": {"status_code", "request_id",
              "body"}, "error": null}; failed requests go to the error file in the same shape,
              with the OpenAI-style error as the response body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from litellm_claude.jobs import errors
from litellm_claude.openai_compat.errors import ApiError, invalid_request
from litellm_claude.openai_compat.json_guard import check_json, load_json

CHAT_COMPLETIONS = "/v1/chat/completions"
_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PARAM_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"|(\w+)=([^;\s]+)')


class BatchLine(BaseModel):
    """One request of a batch input file."""

    model_config = ConfigDict(extra="forbid")

    custom_id: str = Field(min_length=1, max_length=512)
    method: Literal["POST"]
    url: Literal["/v1/chat/completions", "/chat/completions"]
    body: dict[str, Any]


def parse_input(content: bytes, *, max_lines: int) -> list[BatchLine]:
    """Every line of a batch input file, or a 400 naming the first bad line (413 past max_lines)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_request("The file is not UTF-8 text.", param="file", code="invalid_file") from None
    lines: list[BatchLine] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(lines) >= max_lines:
            raise ApiError.of(errors.BATCH_FILE_TOO_LONG, param="file", limit=max_lines)
        line = _parse_line(number, raw)
        if line.custom_id in seen:
            raise _line_error(number, f"duplicate custom_id {line.custom_id!r}")
        seen.add(line.custom_id)
        lines.append(line)
    if not lines:
        raise invalid_request("The file holds no requests.", param="file", code="invalid_file")
    return lines


def _parse_line(number: int, raw: str) -> BatchLine:
    try:
        data = load_json(raw)
    except ApiError:
        raise _line_error(number, "not valid JSON") from None
    if not isinstance(data, dict):
        raise _line_error(number, "not a JSON object")
    try:
        check_json(data)
    except ApiError as exc:
        raise _line_error(number, exc.message.rstrip(".")) from None
    try:
        return BatchLine.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise _line_error(number, f"{where}: {first.get('msg', 'invalid')}") from None


def _line_error(number: int, reason: str) -> ApiError:
    return invalid_request(
        f"Line {number} of the file is invalid: {reason}.", param="file", code="invalid_file"
    )


def output_line(
    custom_id: str, request_id: str | None, status_code: int, body: dict[str, Any], *, line_id: str
) -> dict[str, Any]:
    return {
        "id": line_id,
        "custom_id": custom_id,
        "response": {"status_code": status_code, "request_id": request_id, "body": body},
        "error": None,
    }


def to_jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()


# --- multipart/form-data (the Files API upload), without extra dependencies ------------------------


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None


def parse_multipart(content_type: str, body: bytes) -> dict[str, FormPart]:
    """The parts of a multipart/form-data body by field name; 400 when it is not one."""
    match = _BOUNDARY_RE.search(content_type or "")
    if not content_type.lower().startswith("multipart/form-data") or match is None:
        raise invalid_request(
            "Upload the file as multipart/form-data with `file` and `purpose` fields.",
            code="invalid_content_type",
        )
    delimiter = b"--" + match.group(1).encode()
    parts: dict[str, FormPart] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        params = _disposition(head.decode("utf-8", "replace"))
        if "name" in params:
            parts[params["name"]] = FormPart(
                params["name"], data.removesuffix(b"\r\n"), params.get("filename")
            )
    return parts


def _disposition(head: str) -> dict[str, str]:
    for line in head.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            return {
                (m.group(1) or m.group(3)).lower(): (m.group(2) if m.group(1) else m.group(4))
                for m in _PARAM_RE.finditer(value)
            }
    return {}
