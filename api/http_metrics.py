"""Count every HTTP request by method, route template and status, in Redis beside the job metrics.

Route templates (`/v1/jobs/{job_id}`), never raw paths, keep the series few;
a path no route matches counts as `unmatched`. The count is written after the
response has been sent, so it adds nothing to the caller's latency; a Redis
failure loses the count, never the request.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from litellm_claude.jobs import keys
from litellm_claude.telemetry.store import series

log = logging.getLogger(__name__)
METRIC = "lc_http_requests_total"


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            await _count(scope, status)


async def _count(scope: Scope, status: int) -> None:
    app = scope["app"]
    route = scope.get("route")
    labels = {
        "method": scope.get("method", ""),
        "route": getattr(route, "path", None) or "unmatched",
        "status": str(status),
    }
    try:
        await app.state.redis.hincrby(
            keys.http_requests(app.state.settings.queue_name), series(METRIC, labels), 1
        )
    except (RedisError, OSError, AttributeError) as exc:
        log.debug("http request not counted: %s", exc)
