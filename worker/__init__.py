"""The arq worker: takes completion jobs off Redis and runs each through the Claude Code CLI.

The path of a job: `job` (the arq function: model chain, cooldowns, the global
CLI cap in `cli_slots`, events, metrics) -> `cli_options` (locked-down CLI
options; `prompt`, `transcript` and `function_calling` shape what the model
sees) -> `cli_run` (the CLI through the Claude Agent SDK, its messages turned
into events: on a warm process of `warm_pool` / `warm_session` for single-turn
jobs, else on a fresh one; `notice_guard` and `stop_sequences` filter the text;
`process_tree` kills it) -> `failures` (one table from CLI signal to error).
`limits` reads the subscription limit signals, `routing` picks the sign-in (or
holds bulk work), `jobs.accounts` keeps cooldowns and utilization in Redis;
`settings` builds arq's WorkerSettings; `report` publishes the worker's periodic report
(alive, jobs, CLI processes) on its queue.
"""
