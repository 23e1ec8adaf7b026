"""What the LiteLLM proxy config names: the provider instance and the unsupported-endpoint guard."""

from __future__ import annotations

from litellm_claude.provider.claude_code_provider import ClaudeCodeProvider
from litellm_claude.provider.unsupported import unsupported_endpoints

__all__ = ["claude_code_provider", "unsupported_endpoints"]

claude_code_provider = ClaudeCodeProvider()
