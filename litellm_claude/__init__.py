"""litellm-claude: an OpenAI-compatible, queue-backed gateway to Claude through the Claude Code CLI.

The installed package is one namespace; in the repository its parts sit at the top level
(`pyproject.toml` maps each directory into it):

- `litellm_claude.api`: FastAPI front door (chat completions, Responses API, jobs, batches)
- `litellm_claude.provider`: LiteLLM custom provider, the second front door
- `litellm_claude.openai_compat`: OpenAI wire format <-> job contract
- `litellm_claude.jobs`: the job contract and lifecycle (submit, follow, cancel, status), errors
- `litellm_claude.batches`: job batches, OpenAI Batch API objects and their files, in Redis
- `litellm_claude.worker`: arq worker running the Claude Code CLI
- `litellm_claude.config`: settings, model aliases, the LiteLLM proxy config
- `litellm_claude.telemetry`: metrics and log context
- `litellm_claude.service`: the `litellm-claude` command
- `litellm_claude.fake_anthropic`: the fake Anthropic Messages API for tests and trials
"""
