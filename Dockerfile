# One image, several commands (see docker-compose.yml):
#   litellm-claude api                                          the OpenAI-compatible API (port 8080)
#   litellm-claude worker                                       an arq worker running the Claude Code CLI
#   litellm --config config/litellm_config.yaml --port 4000     the LiteLLM proxy
#   litellm-claude doctor | litellm-claude login                checks; Claude sign-in
# The claude-agent-sdk wheel bundles the Claude Code CLI binary: no Node.js.
# Nothing secret is built in: keys and tokens come from the environment at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The build context is filtered by .dockerignore (no .env, no .venv, no tests).
COPY . /app
# Versions are pinned in pyproject.toml (claude-agent-sdk and litellm exactly).
RUN pip install -c requirements.lock ".[proxy]"

# A non-root user with its own writable Claude config directory. The CLI keeps its
# state and an interactive login (.credentials.json) there; mount a volume per worker.
RUN useradd --create-home --uid 10001 --shell /bin/bash app \
    && mkdir -p /home/app/.claude \
    && chown -R app:app /home/app/.claude
ENV HOME=/home/app \
    CLAUDE_CONFIG_DIR=/home/app/.claude \
    HOST=0.0.0.0 \
    PORT=8080 \
    LITELLM_LOCAL_MODEL_COST_MAP=True
VOLUME ["/home/app/.claude"]
USER app

EXPOSE 8080 4000
# For the API; docker-compose.yml sets the worker's and the proxy's own checks.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=4)"
CMD ["litellm-claude", "api"]
