"""Operational endpoints: `/health` (process up), `/ready` (Redis and a worker), `/metrics`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from redis.exceptions import RedisError

from litellm_claude.api.auth import require_ops_access
from litellm_claude.jobs import workers
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
        live = await workers.count(redis, settings.queue_name)
        checks["workers"] = "ok" if live.alive else workers.no_worker_error(settings.queue_name).message
    except (RedisError, OSError) as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
        checks["workers"] = "unknown"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503
    )


@router.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(require_ops_access)])
async def metrics(request: Request) -> PlainTextResponse:
    settings = request.app.state.settings
    signins = [(s.name, s.kind) for s in request.app.state.signins]
    text = await render(
        request.app.state.redis, settings.queue_name, signins, caller_labels=settings.caller_names
    )
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")
