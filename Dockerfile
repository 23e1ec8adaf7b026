# One image, several commands (see docker-compose.yml):
#   litellm-claude api                                          the OpenAI-compatible API (port 8080)
#   litellm-claude worker                                       an arq worker running the Claude Code CLI
#   litellm --config config/litellm_config.yaml --port 4000     the LiteLLM proxy
#   litellm-claude doctor | litellm-claude login                checks; Claude sign-in
# The claude-agent-sdk wheel bundles the Claude Code CLI binary: no Node.js.
# Nothing secret is built in: keys and tokens come from the environment at run time.
#
# The base image, pinned by digest (Python 3.11, Debian bookworm, multi-platform index).
# Re-resolve: docker buildx imagetools inspect python:3.11-slim-bookworm. Offline engines
# with a local stand-in pass --build-arg PYTHON_IMAGE=python:3.11-slim (docs/operations.md).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# --- Stage 1: the project's wheel, built with a pinned setuptools, and its requirements as a
# list (the project's and the [proxy] extra's, from pyproject.toml). Only these two leave it.
FROM ${PYTHON_IMAGE} AS wheel
ARG SETUPTOOLS_VERSION=84.2.1
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN pip install "setuptools==${SETUPTOOLS_VERSION}"
WORKDIR /src
# The build context is filtered by .dockerignore (no .env, no .venv, no tests).
COPY . .
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
    && python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["proxy"]))' > /requirements.txt

# --- Stage 2: the image.
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Dependencies first, from the requirements list and requirements.lock only, so a change of
# the source (or of anything else in pyproject.toml) reuses this layer: every version as
# locked. polars (pulled by litellm[proxy], used only by its FOCUS/CloudZero cost exports)
# is removed: ~180 MB that neither the proxy nor this project imports.
COPY --from=wheel /requirements.txt /tmp/deps/requirements.txt
COPY requirements.lock /tmp/deps/requirements.lock
RUN pip install -c /tmp/deps/requirements.lock -r /tmp/deps/requirements.txt \
    && pip uninstall -y polars polars-runtime-32 \
    && rm -rf /tmp/deps

# The project itself (its dependencies are in place: --no-deps), and the proxy's config,
# which `litellm --config config/litellm_config.yaml` reads from the working directory.
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps --no-index /tmp/wheels/*.whl && rm -rf /tmp/wheels
WORKDIR /app
COPY config/litellm_config.yaml /app/config/litellm_config.yaml

# A non-root user with its own writable Claude config directory (the CLI's state; an
# interactive login's .credentials.json). No VOLUME: compose mounts one where a login must
# persist (worker-login); elsewhere the container's own layer is enough.
RUN useradd --create-home --uid 10001 --shell /bin/bash app \
    && mkdir -p /home/app/.claude \
    && chown -R app:app /home/app/.claude
ENV HOME=/home/app \
    CLAUDE_CONFIG_DIR=/home/app/.claude \
    HOST=0.0.0.0 \
    PORT=8080 \
    LITELLM_LOCAL_MODEL_COST_MAP=True
USER app

EXPOSE 8080 4000
# For the API; docker-compose.yml sets the worker's and the proxy's own checks.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=4)"
CMD ["litellm-claude", "api"]
