"""`litellm-claude`: subcommands `serve` (API + worker), `api`, `worker`, `fake-upstream`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Iterator

from litellm_claude.config.settings import Settings, get_settings
from litellm_claude.service.embedded_redis import embedded_redis
from litellm_claude.service.logs import setup_logging
from litellm_claude.service.run import run_all, run_api, run_worker


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
    fake.add_argument("--port", type=int, default=8900)
    doctor = sub.add_parser("doctor", help="check Redis, the CLI, the Claude sign-in, workers and queues")
    doctor.add_argument("--no-probe", action="store_true", help="skip the one-request sign-in probe")
    doctor.add_argument("--probe-model", default="haiku", help="model for the probe (default haiku)")
    login = sub.add_parser("login", help="sign the Claude Code CLI in (interactive)")
    login.add_argument("--token", action="store_true", help="print a long-lived CLAUDE_CODE_OAUTH_TOKEN")
    login.add_argument("--console", action="store_true", help="log in with an Anthropic Console account")
    args, rest = parser.parse_known_args(argv)

    if args.command == "doctor":
        from litellm_claude.service.doctor import run_doctor

        return run_doctor(get_settings(), probe=not args.no_probe, probe_model=args.probe_model)
    if args.command == "login":
        from litellm_claude.service.auth_login import run_login

        return run_login(get_settings(), token=args.token, console=args.console)

    if args.command == "fake-upstream":
        from litellm_claude.fake_anthropic.runner import main as fake_main

        return fake_main(["--port", str(args.port), *rest])

    settings = get_settings()
    overrides = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    setup_logging(settings.secrets(), level=settings.log_level, json_format=settings.log_format == "json")
    with _redis_url(settings, allow_embedded=args.command == "serve") as url:
        runner = {"serve": run_all, "api": run_api, "worker": run_worker}[args.command]
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(runner(settings, url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
