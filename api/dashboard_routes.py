"""`/dashboard`: a live web view of the service (page, its script and style, and its JSON feed).

The page is static HTML/CSS/JS shipped in `api/dashboard/` (no build step, no
CDN). It asks for a key, keeps it in sessionStorage and polls
`/dashboard/api/snapshot` with it as a bearer header. The feed is the same
snapshot `litellm-claude status` prints (telemetry.snapshot): an admin key
(ADMIN_API_KEYS, or any caller when no keys are configured and the API is
loopback-only) sees every caller's batches and failures, any other key its own.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from litellm_claude.api.auth import require_api_key
from litellm_claude.config.settings import Settings
from litellm_claude.jobs import errors
from litellm_claude.openai_compat.errors import ApiError
from litellm_claude.openai_compat.request import owner_of
from litellm_claude.telemetry.snapshot import take_snapshot

router = APIRouter(include_in_schema=False)
ASSETS = Path(__file__).parent / "dashboard"
MEDIA_TYPES = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/dashboard")
async def page() -> HTMLResponse:
    return HTMLResponse((ASSETS / "index.html").read_text(), headers=NO_STORE)


@router.get("/dashboard/assets/{name}")
async def asset(name: str) -> Response:
    if name not in MEDIA_TYPES:
        raise ApiError.of(errors.DASHBOARD_ASSET_NOT_FOUND, name=name)
    return Response((ASSETS / name).read_bytes(), media_type=MEDIA_TYPES[name], headers=NO_STORE)


def is_admin(settings: Settings, api_key: str | None) -> bool:
    if not settings.api_key_set:
        return True  # no keys: the API only listens on loopback (service.run.check_exposure)
    return api_key is not None and any(
        hmac.compare_digest(api_key.encode(), k.encode()) for k in settings.admin_key_set
    )


@router.get("/dashboard/api/snapshot")
async def snapshot(request: Request, api_key: str | None = Depends(require_api_key)) -> JSONResponse:
    settings: Settings = request.app.state.settings
    admin = is_admin(settings, api_key)
    snap = await take_snapshot(
        request.app.state.redis,
        settings.queue_name,
        signins=[(s.name, s.kind) for s in request.app.state.signins],
        owner=owner_of(api_key),
        all_callers=admin,
        cli_cap=settings.global_max_cli,
    )
    if not admin:  # other callers' jobs appear as counts only
        for worker in snap.workers:
            for job in worker.jobs:
                job.owner = None
    return JSONResponse({"admin": admin, **snap.model_dump(mode="json")}, headers=NO_STORE)
