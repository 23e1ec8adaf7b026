"""Assemble the FastAPI application: settings, the Redis job client, routes, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq import ArqRedis
from fastapi import FastAPI

from litellm_claude.api import batches, chat, jobs, models, openai_batches, operations, responses
from litellm_claude.api.errors import install_error_handlers
from litellm_claude.api.request_id import RequestIdMiddleware
from litellm_claude.config.settings import Settings, get_settings
from litellm_claude.jobs.client import JobClient
from litellm_claude.jobs.connection import connect


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
        try:
            yield
        finally:
            await redis.aclose()

    app = FastAPI(title="litellm-claude", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(operations.router)
    app.include_router(chat.router)
    app.include_router(responses.router)
    app.include_router(models.router)
    app.include_router(batches.router)  # before jobs: /v1/jobs/batch is not a job id
    app.include_router(jobs.router)
    app.include_router(openai_batches.router)

    return app
