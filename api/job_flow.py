"""HTTP glue for `jobs.flow`: limits from settings, and the client's disconnect as an awaitable."""

from __future__ import annotations

from fastapi import Request

from litellm_claude.config.settings import Settings
from litellm_claude.jobs.flow import Limits

PRIORITY_HEADER = "x-job-priority"


def wants_bulk(request: Request, api_key: str | None, settings: Settings) -> bool:
    """Bulk priority: asked for with `X-Job-Priority: bulk`, or implied by a key in BULK_API_KEYS."""
    if request.headers.get(PRIORITY_HEADER, "").strip().lower() == "bulk":
        return True
    return api_key is not None and api_key in settings.bulk_key_set


def limits(settings: Settings) -> Limits:
    return Limits(
        max_depth=settings.max_queue_depth,
        timeout_s=settings.request_timeout_s,
        start_timeout_s=settings.queue_wait_timeout_s,
    )


async def disconnected(request: Request) -> None:
    """Completes when the HTTP client goes away (after the body has been read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
