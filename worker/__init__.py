"""The arq worker: takes completion jobs off Redis and runs each through the Claude Code CLI.

`job` is the arq function (one job, its fallback chain, its events); `cli_run`
runs one CLI process through the Claude Agent SDK and turns its messages into
events; `prompt` turns a conversation into what the CLI is given; `failures`
classifies what went wrong; `stop_sequences` applies OpenAI `stop`;
`settings` builds arq's WorkerSettings.
"""
