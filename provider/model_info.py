"""Tell LiteLLM, in this process, what `claude-code/<model>` can do and costs.

Without it `litellm.supports_function_calling("claude-code/sonnet")` (and
response schema, vision, max tokens) answer False or fail, and frameworks that
ask fall back to prompting. Importing the provider registers the table once;
the proxy config declares the same `model_info` (config/model_info.py is the
one source).
"""

from __future__ import annotations

import litellm

from litellm_claude.config.model_info import all_model_info
from litellm_claude.provider.errors import PROVIDER


def register() -> None:
    """Register every `claude-code/<name>` with LiteLLM and make `claude-code` a known provider.

    LiteLLM adds a custom provider to its provider list only on the first call
    through it; capability checks made before that would not find the model.
    """
    if PROVIDER not in litellm.provider_list:
        litellm.provider_list.append(PROVIDER)
    litellm.register_model(all_model_info(provider=PROVIDER))
