"""A fake Anthropic Messages API for running the real Claude Code CLI offline.

Only the model is fake: the CLI (and our proxy around it) run for real against it.
It answers "You said: <last user text>" as SSE text deltas, fills the
StructuredOutput tool from its JSON schema, and can be scripted to fail.

Usage:
    with FakeUpstream() as fake:                  # uvicorn thread on 127.0.0.1, free port
        env = {"ANTHROPIC_BASE_URL": fake.url, "ANTHROPIC_API_KEY": "sk-test-fake"}
        fake.state.script("opus", ["429", "ok"])  # FIFO, one outcome per request
        fake.state.script("opus", ["529"], sticky=True)  # every opus request until cleared
        fake.state.set_delays(first_token_delay=0.2, token_delay=0.01)
        ...run the CLI...; fake.state.message_requests()[-1].body["messages"]
Standalone: `python -m litellm_claude.fake_anthropic --port 8900`, then steer it over HTTP:
GET/DELETE /_fake/requests, POST/DELETE /_fake/script, POST /_fake/config, GET /_fake/stats.
Outcomes: ok 429 529 500 401 hang usage_limit[:<reset>] tool_use:<Tool>:<json input>.
"""

from .runner import FakeUpstream
from .state import FakeUpstreamState

__all__ = ["FakeUpstream", "FakeUpstreamState"]
