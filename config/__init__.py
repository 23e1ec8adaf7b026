"""Configuration: process settings from the environment and the model alias table.

Everything tunable lives here so the API, the LiteLLM provider and the workers
read one definition. `litellm_config.yaml` (the LiteLLM proxy's config) sits
beside it.
"""

from litellm_claude.config.models import ModelRoute, UnknownModel, list_model_ids, resolve_model
from litellm_claude.config.settings import Settings, get_settings

__all__ = [
    "ModelRoute",
    "Settings",
    "UnknownModel",
    "get_settings",
    "list_model_ids",
    "resolve_model",
]
