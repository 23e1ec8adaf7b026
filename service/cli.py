"""`litellm-claude`: run the gateway (`serve`, `api`, `worker`), watch it (`status`), run a batch
(`batch run`), check it (`doctor`), sign in (`login`), or try it offline (`fake-upstream`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from litellm_claude.config.settings import Settings, get_settings
from litellm_claude.service.embedded_redis import embedded_redis
from litellm_claude.service.logs import setup_logging
from litellm_claude.service.run import run_until_stopped


@contextlib.contextmanager
def _redis_url(settings: Settings, *, allow_embedded: bool) -> Iterator[str]:
    if settings.redis_url:
        yield settings.redis_url
    elif allow_embedded:
        with embedded_redis(settings.embedded_redis_path) as url:
            yield url
    else:
        raise SystemExit("REDIS_URL is required for separate API and worker processes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="litellm-claude", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="API and a worker in one process (embedded Redis if no REDIS_URL)")
    api = sub.add_parser("api", help="the OpenAI-compatible API (needs REDIS_URL)")
    sub.add_parser("worker", help="an arq worker running the Claude Code CLI (needs REDIS_URL)")
    for p in (serve, api):
        p.add_argument("--host", help="bind address (default HOST or 127.0.0.1)")
        p.add_argument("--port", type=int, help="port (default PORT or 8080)")
    fake = sub.add_parser("fake-upstream", help="a fake Anthropic API for trying the service offline")
    fake.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 in a container)")
    fake.add_argument("--port", type=int, default=8900)
    fake.add_argument("--first-token-delay", type=float, default=0.0, help="seconds")
    fake.add_argument("--token-delay", type=float, default=0.0, help="seconds between tokens")
    doctor = sub.add_parser("doctor", help="check Redis, the CLI, the Claude sign-in, workers and queues")
    doctor.add_argument("--no-probe", action="store_true", help="skip the one-request sign-in probe")
    doctor.add_argument("--probe-model", default="haiku", help="model for the probe (default haiku)")
    login = sub.add_parser("login", help="sign the Claude Code CLI in (interactive)")
    login.add_argument("--token", action="store_true", help="print a long-lived CLAUDE_CODE_OAUTH_TOKEN")
    login.add_argument("--console", action="store_true", help="log in with an Anthropic Console account")
    status = sub.add_parser("status", help="queue, workers, CLI processes, cooldowns, failures and batches")
    status.add_argument("--watch", action="store_true", help="refresh in place until Ctrl-C")
    status.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes (default 2)")
    status.add_argument("--json", action="store_true", help="print one JSON object (one per refresh)")
    batch = sub.add_parser("batch", help="run an OpenAI-format batch file through the API")
    batch_sub = batch.add_subparsers(dest="batch_command", required=True)
    batch_run = batch_sub.add_parser("run", help="submit (or resume) a batch and write its results")
    batch_run.add_argument("input", type=Path, help="JSONL of {custom_id, method, url, body} requests")
    batch_run.add_argument("-o", "--output", type=Path, required=True, help="output JSONL (OpenAI format)")
    batch_run.add_argument("--errors", type=Path, help="error JSONL (default: <output>.errors.jsonl)")
    batch_run.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1"),
        help="API base URL",
    )
    batch_run.add_argument(
        "--api-key", default=os.environ.get("LITELLM_CLAUDE_API_KEY") or os.environ.get("OPENAI_API_KEY")
    )
    batch_run.add_argument("--poll", type=float, default=1.0, help="seconds between progress checks")
    batch_run.add_argument("--new", action="store_true", help="submit a new batch even if one exists")
    batch_run.add_argument("--state-dir", type=Path, help="where resumable runs are remembered")
    args, rest = parser.parse_known_args(argv)

    if args.command == "status":
        from litellm_claude.service.status import run_status

        return run_status(get_settings(), as_json=args.json, watch=args.watch, interval=args.interval)
    if args.command == "batch":
        from litellm_claude.service.batch_run import run_batch

        return run_batch(
            args.input,
            args.output,
            base_url=args.base_url,
            api_key=args.api_key,
            errors=args.errors,
            poll_s=args.poll,
            fresh=args.new,
            states=args.state_dir,
        )

    if args.command == "doctor":
        from litellm_claude.service.doctor import run_doctor

        return run_doctor(get_settings(), probe=not args.no_probe, probe_model=args.probe_model)
    if args.command == "login":
        from litellm_claude.service.auth_login import run_login

        return run_login(get_settings(), token=args.token, console=args.console)

    if args.command == "fake-upstream":
        from litellm_claude.fake_anthropic.runner import main as fake_main

        delays = ["--first-token-delay", str(args.first_token_delay), "--token-delay", str(args.token_delay)]
        fake_main(["--host", args.host, "--port", str(args.port), *delays, *rest])
        return 0

    settings = get_settings()
    overrides = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    setup_logging(settings.secrets(), level=settings.log_level, json_format=settings.log_format == "json")
    # Before the event loop takes over (and after it), SIGTERM interrupts like Ctrl-C, so every
    # `with` below unwinds: the embedded redis-server and its directory never outlive us.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with _redis_url(settings, allow_embedded=args.command == "serve") as url:
            try:
                asyncio.run(run_until_stopped(args.command, settings, url))
            finally:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_IGN)  # clean-up runs to its end
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
