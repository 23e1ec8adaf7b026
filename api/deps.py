"""What the routes share: the app's Redis, settings and job client, the caller's job, capacity."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from fastapi import Request
from redis.asyncio import Redis

from litellm_claude.config.settings import Settings
from litellm_claude.jobs import errors, records
from litellm_claude.jobs.client import JobClient, JobRefused
from litellm_claude.jobs.records import JobRecord
from litellm_claude.jobs.replicated import ReplicatedWrites
from litellm_claude.openai_compat.errors import ApiError
from litellm_claude.openai_compat.request import owner_of


def redis_of(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def jobs_of(request: Request) -> JobClient:
    client: JobClient = request.app.state.jobs
    return client


def accepting(request: Request) -> AbstractAsyncContextManager[Redis]:
    """Where to write work that is answered 202: confirmed on replicas first if so configured."""
    writes: ReplicatedWrites = request.app.state.replicated
    return writes.connection(redis_of(request))


async def owned_record(request: Request, job_id: str, api_key: str | None) -> JobRecord:
    """The caller's job, or 404 (someone else's or unknown) / 410 (expired)."""
    redis = redis_of(request)
    owner = owner_of(api_key)
    record = await records.load(redis, job_id)
    ttl = settings_of(request).result_ttl_s
    if record is not None and record.job.owner == owner:
        return record
    if record is None and await records.expired(redis, job_id, owner):
        raise ApiError.of(errors.JOB_EXPIRED, param="job_id", job_id=job_id, ttl=ttl)
    raise ApiError.of(errors.JOB_NOT_FOUND, param="job_id", job_id=job_id, ttl=ttl)


async def check_capacity(request: Request, adding: int) -> None:
    """503 when `adding` more jobs would take the backlog past MAX_QUEUE_DEPTH."""
    settings = settings_of(request)
    try:
        await jobs_of(request).check_capacity(
            settings.queue_name, max_depth=settings.max_queue_depth, adding=adding
        )
    except JobRefused as refused:
        raise ApiError.from_job_error(refused.error) from None
