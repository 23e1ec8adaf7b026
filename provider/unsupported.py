"""Requests LiteLLM could send `claude-code/<model>` that this gateway does not serve.

In-process, LiteLLM hands embeddings and image calls to the provider, which
refuses them (`refuse`). Through the proxy, most of these fail inside LiteLLM
before reaching the provider, with messages about parameters (an embeddings
call from the openai SDK fails on `encoding_format`); the proxy config therefore
installs `unsupported_endpoints` as a callback whose pre-call hook refuses
them first, for models served by `claude-code` only — other models in the same
proxy are left alone.
"""

from __future__ import annotations

from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from litellm_claude.openai_compat.errors import unsupported_endpoint
from litellm_claude.provider.errors import PROVIDER, to_litellm_error

KINDS: dict[str, str] = {
    "embedding": "embeddings",
    "image_generation": "image generation",
    "image_edit": "image edits",
    "speech": "audio (text to speech)",
    "transcription": "audio (transcription)",
    "moderation": "moderations",
    "rerank": "rerank",
    "ocr": "OCR",
}


def kind_of(call_type: str) -> str | None:
    """What a LiteLLM call type asks for, if it is something this gateway does not serve."""
    name = str(call_type)
    return KINDS.get(name) or (KINDS.get(name[1:]) if name.startswith("a") else None)


def refuse(kind: str, *, model: str) -> Exception:
    return to_litellm_error(unsupported_endpoint(kind, status=400), model=model)


class UnsupportedEndpoints(CustomLogger):
    """Proxy pre-call hook: refuse non-chat calls to models served by `claude-code`."""

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        kind = kind_of(call_type)
        model = data.get("model")
        if kind is None or not isinstance(model, str) or not _served_by_us(model):
            return data
        raise refuse(kind, model=model)


def _served_by_us(model: str) -> bool:
    if model.startswith(f"{PROVIDER}/"):
        return True
    try:
        from litellm.proxy.proxy_server import llm_router
    except ImportError:  # pragma: no cover - the hook only runs inside the proxy
        return False
    if llm_router is None:
        return False
    deployments = llm_router.get_model_list(model_name=model) or []
    targets = [str((d.get("litellm_params") or {}).get("model", "")) for d in deployments]
    return bool(targets) and all(t.startswith(f"{PROVIDER}/") for t in targets)


unsupported_endpoints = UnsupportedEndpoints()
