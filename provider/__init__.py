"""The LiteLLM front door: a `litellm.CustomLLM` (`claude-code/<model>`) that queues jobs.

A LiteLLM proxy (`litellm --config config/litellm_config.yaml`) imports
`provider.custom_handler.claude_code_provider`. Each request becomes a job on the
same Redis queue the HTTP API uses, through the same `jobs.flow`, so the proxy stays
light and workers scale separately. Needs the `proxy` extra and `REDIS_URL`.
`model_info` tells LiteLLM what the models can do; `unsupported` refuses
embeddings, images and audio with a clear message.
"""
