"""`python -m litellm_claude.fake_anthropic --port 8900`: serve the fake upstream in the foreground."""

from .runner import main

main()
