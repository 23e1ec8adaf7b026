"""The provider instance the LiteLLM proxy config names (`provider.custom_handler.claude_code_provider`)."""

from __future__ import annotations

from litellm_claude.provider.claude_code_provider import ClaudeCodeProvider

claude_code_provider = ClaudeCodeProvider()
