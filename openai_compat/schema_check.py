"""Check a client's JSON Schema before it reaches the CLI, and name what it cannot take.

The CLI hands response schemas and function parameters to the model as a tool
input schema: the root must be an object, references must be local (`#/...`),
and the schema itself must be valid JSON Schema. Anything else is a 400 naming
the feature, instead of a CLI failure later.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import SchemaError
from jsonschema.validators import validator_for

from litellm_claude.openai_compat.errors import invalid_request


def check_schema(schema: dict[str, Any], *, param: str, object_root: bool = True) -> None:
    if object_root and schema.get("type", "object") != "object":
        raise invalid_request(
            f"The root of the schema must be of type object, not {schema.get('type')!r}; "
            "wrap other values in an object property.",
            param=f"{param}.type",
            code="unsupported_schema",
        )
    for path, ref in _refs(schema, ""):
        if not ref.startswith("#"):
            raise invalid_request(
                f"Remote $ref {ref!r} at {path or '/'} is not supported; put the definition under $defs "
                "and refer to it as #/$defs/....",
                param=param,
                code="unsupported_schema",
            )
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "/"
        raise invalid_request(
            f"Invalid JSON Schema at {where}: {exc.message}", param=param, code="invalid_schema"
        ) from None


def _refs(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield path, value
            else:
                yield from _refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _refs(value, f"{path}/{i}")
