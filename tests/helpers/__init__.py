"""Helpers the tests share: waiting for a condition, reading streams, starting a LiteLLM proxy."""
