"""The body of an async job (`POST /v1/jobs`, each request of a batch): a chat completion plus metadata."""

from __future__ import annotations

from pydantic import field_validator

from litellm_claude.openai_compat.request import ChatCompletionBody


class JobBody(ChatCompletionBody):
    """A chat completion body plus OpenAI-style `metadata` (up to 16 short string pairs)."""

    metadata: dict[str, str] | None = None

    @field_validator("metadata")
    @classmethod
    def _check_metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return value
        if len(value) > 16:
            raise ValueError("at most 16 metadata pairs")
        if any(len(k) > 64 or len(v) > 512 for k, v in value.items()):
            raise ValueError("metadata keys are at most 64 characters, values at most 512")
        return value
