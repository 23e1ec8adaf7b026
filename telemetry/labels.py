"""The labels every job metric carries: model, priority and caller — never a key.

`caller` is the first 8 hex digits of the job's owner tag (itself a SHA-256 of the
caller's API key, or the LiteLLM proxy's hash of its virtual key), or
`anonymous`. `/metrics` shows a configured name instead where CALLER_LABELS
names that hash (`caller_names`). `model` is the alias asked for (sonnet, opus,
haiku, default), so the series stay few whatever names clients send.
"""

from __future__ import annotations

from collections.abc import Mapping

from litellm_claude.jobs.contract import CompletionJob

CALLER_HASH_CHARS = 8
ANONYMOUS = "anonymous"


def caller_of(owner: str | None) -> str:
    return owner[:CALLER_HASH_CHARS] if owner else ANONYMOUS


def job_labels(job: CompletionJob) -> dict[str, str]:
    return {"model": job.alias, "priority": job.priority, "caller": caller_of(job.owner)}


def caller_names(labels: Mapping[str, str], names: Mapping[str, str]) -> dict[str, str]:
    """`labels` with the caller hash replaced by its configured name, if it has one."""
    caller = labels.get("caller")
    if caller is None or caller not in names:
        return dict(labels)
    return {**labels, "caller": names[caller]}
