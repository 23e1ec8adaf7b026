"""The model alias table: what clients may ask for and which CLI model answers.

`default` is Opus with Sonnet as fallback. Dated names that OpenAI-style clients
send (the seed's curl uses `claude-3-5-sonnet-20241022`) map onto the aliases.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelRoute:
    alias: str
    cli_model: str
    fallbacks: tuple[str, ...] = ()


class UnknownModel(LookupError):
    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.model = model


ROUTES: dict[str, ModelRoute] = {
    "sonnet": ModelRoute("sonnet", "sonnet"),
    "opus": ModelRoute("opus", "opus"),
    "haiku": ModelRoute("haiku", "haiku"),
    "default": ModelRoute("default", "opus", fallbacks=("sonnet",)),
}

DATED_NAMES: dict[str, str] = {
    "claude-3-5-sonnet-20241022": "sonnet",
    "claude-3-5-sonnet-20240620": "sonnet",
    "claude-3-7-sonnet-20250219": "sonnet",
    "claude-sonnet-4-20250514": "sonnet",
    "claude-sonnet-4-5-20250929": "sonnet",
    "claude-3-opus-20240229": "opus",
    "claude-opus-4-20250514": "opus",
    "claude-opus-4-1-20250805": "opus",
    "claude-3-5-haiku-20241022": "haiku",
    "claude-3-haiku-20240307": "haiku",
    "claude-haiku-4-5-20251001": "haiku",
}

PROVIDER_PREFIXES = ("claude-code/", "anthropic/")


def resolve_model(requested: str) -> ModelRoute:
    """Map a client's model name onto a route; raise UnknownModel otherwise."""
    name = requested.strip()
    for prefix in PROVIDER_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
    alias = DATED_NAMES.get(name, name)
    route = ROUTES.get(alias)
    if route is None:
        raise UnknownModel(requested)
    return route


def list_model_ids() -> list[str]:
    return [*ROUTES, *DATED_NAMES]
