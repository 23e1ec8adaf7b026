"""Assemble the FastAPI application: settings, the Redis job client, routes, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq import ArqRedis
from fastapi import FastAPI

from litellm_claude.api import (
    batches,
    chat,
    dashboard_routes,
    docs,
    jobs,
    models,
    openai_batches,
    openapi_bodies,
    operations,
    responses,
    status,
    unsupported,
)
from litellm_claude.api.errors import UnexpectedErrors, install_error_handlers
from litellm_claude.api.http_metrics import HttpMetricsMiddleware
from litellm_claude.api.request_id import RequestIdMiddleware
from litellm_claude.config.settings import Settings, get_settings
from litellm_claude.config.signins import load_signins
from litellm_claude.jobs.client import JobClient
from litellm_claude.jobs.connection import connect
from litellm_claude.jobs.replicated import ReplicatedWrites


def create_app(settings: Settings | None = None, *, redis_url: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    url = redis_url or settings.redis_url
    if not url:
        raise ValueError("create_app needs a Redis URL (REDIS_URL or the embedded server's)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis: ArqRedis = connect(
            url, default_queue=settings.queue_name, max_connections=settings.redis_max_connections
        )
        app.state.redis = redis
        app.state.jobs = JobClient(redis)
        app.state.replicated = ReplicatedWrites(
            url,
            replicas=settings.redis_wait_replicas,
            timeout_ms=settings.redis_wait_timeout_ms,
            queue=settings.queue_name,
        )
        try:
            yield
        finally:
            await app.state.replicated.aclose()
            await redis.aclose()

    app = FastAPI(
        title="litellm-claude",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,  # served by api.docs, behind a key when PROTECT_OPS_ENDPOINTS is on
        docs_url=None,
        redoc_url=None,
    )
    openapi_bodies.install(app)
    app.state.settings = settings
    app.state.signins = load_signins(settings)  # names and kinds for the status endpoint and /metrics
    install_error_handlers(app)
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(RequestIdMiddleware)  # a 500 carries the request id too
    app.add_middleware(HttpMetricsMiddleware)  # outermost: counts every answer, 500s included
    app.include_router(operations.router)
    app.include_router(docs.router)
    app.include_router(chat.router)
    app.include_router(responses.router)
    app.include_router(models.router)
    app.include_router(batches.router)  # before jobs: /v1/jobs/batch is not a job id
    app.include_router(jobs.router)
    app.include_router(openai_batches.router)
    app.include_router(unsupported.router)
    app.include_router(status.router)
    app.include_router(dashboard_routes.router)

    return app
