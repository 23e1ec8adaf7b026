"""`GET /v1/status/accounts`: each sign-in's limit windows, utilization and cooldowns (behind the API keys).

Names and kinds only, never a credential. The same reading (`jobs.accounts.read_accounts`)
feeds /metrics and `litellm-claude doctor`.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request

from litellm_claude.api.auth import require_api_key
from litellm_claude.jobs.accounts import read_accounts

router = APIRouter()


@router.get("/v1/status/accounts")
async def accounts_status(request: Request, _key: str | None = Depends(require_api_key)) -> dict[str, Any]:
    settings = request.app.state.settings
    signins = request.app.state.signins
    states = await read_accounts(
        request.app.state.redis, settings.queue_name, [(s.name, s.kind) for s in signins]
    )
    now = time.time()
    return {
        "object": "list",
        "bulk_pause_at_utilization": settings.bulk_pause_at_utilization,
        "api_key_overflow": settings.api_key_overflow,
        "accounts": [state.to_json(now) for state in states],
    }
