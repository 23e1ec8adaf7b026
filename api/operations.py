"""Operational endpoints: `/health` (process up), `/ready` (Redis and a worker), `/metrics`."""

from __future__ import annotations

from typing import Any

from arq.constants import health_check_key_suffix
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from redis.exceptions import RedisError

from litellm_claude.telemetry.prometheus import render

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", response_model=None)
async def ready(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    redis = request.app.state.redis
    checks: dict[str, Any] = {}
    try:
        await redis.ping()
        checks["redis"] = "ok"
        alive = await redis.exists(settings.queue_name + health_check_key_suffix)
        checks["workers"] = "ok" if alive else "no worker has reported in the last health-check interval"
    except (RedisError, OSError) as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
        checks["workers"] = "unknown"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503
    )


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> PlainTextResponse:
    settings = request.app.state.settings
    text = await render(request.app.state.redis, settings.queue_name)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")
