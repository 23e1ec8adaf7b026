#!/usr/bin/env bash
# Run the service: API + worker in one process. Without REDIS_URL it uses an embedded Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/litellm-claude serve "$@"
