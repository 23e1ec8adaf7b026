"""What each model name can do and costs, as LiteLLM's `model_info` describes it.

One table for the in-process LiteLLM SDK (registered by `provider/model_info.py`)
and the proxy config (`config/litellm_config.yaml`, checked against this by a
test). Figures are per alias, because the CLI answers every dated name with the
alias's current model: a 200k-token context; output capped at the CLI model's
maximum (CLAUDE_CODE_MAX_OUTPUT_TOKENS). Prices are Anthropic's API list prices
per token; LiteLLM only uses them where the CLI's own cost does not reach it
(streamed answers): a non-streamed answer carries the CLI's `total_cost_usd`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litellm_claude.config.models import list_model_ids, resolve_model

CONTEXT_TOKENS = 200_000


@dataclass(frozen=True, slots=True)
class ModelInfo:
    max_output_tokens: int
    input_cost_per_token: float
    output_cost_per_token: float
    cache_read_input_token_cost: float
    cache_creation_input_token_cost: float


BY_CLI_MODEL: dict[str, ModelInfo] = {
    "sonnet": ModelInfo(64_000, 3e-06, 1.5e-05, 3e-07, 3.75e-06),
    "opus": ModelInfo(32_000, 1.5e-05, 7.5e-05, 1.5e-06, 1.875e-05),
    "haiku": ModelInfo(64_000, 1e-06, 5e-06, 1e-07, 1.25e-06),
}

# What every model name supports through this gateway.
CAPABILITIES: dict[str, bool] = {
    "supports_function_calling": True,  # worker/function_calling.py
    "supports_parallel_function_calling": True,  # several calls in one answer
    "supports_tool_choice": True,
    "supports_response_schema": True,  # json_schema response_format
    "supports_vision": True,  # image parts as data: URLs
    "supports_system_messages": True,
}


def litellm_model_info(name: str, *, provider: str = "claude-code") -> dict[str, Any]:
    """LiteLLM `model_info` for one model name (an alias or a dated name)."""
    route = resolve_model(name)
    # A chain (default = opus then sonnet) promises only what every model in it can do.
    infos = [BY_CLI_MODEL[m] for m in (route.cli_model, *route.fallbacks)]
    first = infos[0]
    max_output = min(i.max_output_tokens for i in infos)
    return {
        "litellm_provider": provider,
        "mode": "chat",
        "max_input_tokens": CONTEXT_TOKENS,
        "max_output_tokens": max_output,
        "max_tokens": max_output,
        "input_cost_per_token": first.input_cost_per_token,
        "output_cost_per_token": first.output_cost_per_token,
        "cache_read_input_token_cost": first.cache_read_input_token_cost,
        "cache_creation_input_token_cost": first.cache_creation_input_token_cost,
        **CAPABILITIES,
    }


def all_model_info(*, provider: str = "claude-code") -> dict[str, dict[str, Any]]:
    """`{"claude-code/<name>": model_info}` for every name clients may send."""
    return {f"{provider}/{name}": litellm_model_info(name, provider=provider) for name in list_model_ids()}
