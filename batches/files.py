"""Files of the OpenAI Batch API: uploaded batch input and generated output, with their owner."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel
from redis.asyncio import Redis

from litellm_claude.batches import owned
from litellm_claude.jobs import keys

FILE_ID_RE = re.compile(r"^file-[0-9a-f]{32}(-out|-err)?$")


class FileRecord(BaseModel):
    id: str
    owner: str | None
    bytes: int
    created_at: int
    expires_at: int
    filename: str
    purpose: Literal["batch", "batch_output"]

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


def stage(pipe: Any, record: FileRecord, content: bytes, ttl: int, *, once: bool = False) -> None:
    """The file, its content and its place in the owner's index, on a pipeline (`once`: SET NX)."""
    pipe.set(keys.file(record.id), record.model_dump_json(), ex=ttl, nx=once)
    pipe.set(keys.file_content(record.id), content, ex=ttl, nx=once)
    owned.index(pipe, record.owner, "files", record.id, record.created_at, ttl)


async def upload(redis: Redis, owner: str | None, filename: str, content: bytes, ttl: int) -> FileRecord:
    """Store an uploaded batch input file."""
    now = int(time.time())
    record = FileRecord(
        id=f"file-{uuid.uuid4().hex}",
        owner=owner,
        bytes=len(content),
        created_at=now,
        expires_at=now + ttl,
        filename=filename,
        purpose="batch",
    )
    async with redis.pipeline(transaction=True) as pipe:
        stage(pipe, record, content, ttl)
        await pipe.execute()
    return record


async def load(redis: Redis, file_id: str, owner: str | None) -> FileRecord | None:
    """The owner's file, or None (unknown, expired or someone else's)."""
    return await owned.load(redis, keys.file(file_id), FileRecord, file_id, FILE_ID_RE, owner)


async def content(redis: Redis, file_id: str) -> bytes | None:
    data: bytes | None = await redis.get(keys.file_content(file_id))
    return data


async def delete(redis: Redis, file_id: str) -> None:
    await redis.delete(keys.file(file_id), keys.file_content(file_id))


async def list_owned(redis: Redis, owner: str | None, purpose: str | None = None) -> list[FileRecord]:
    """The owner's files, newest first, optionally only those of `purpose`."""
    found = [
        FileRecord.model_validate_json(raw)
        for raw in await owned.live_records(redis, owner, "files", keys.file)
    ]
    return [f for f in found if purpose is None or f.purpose == purpose]
