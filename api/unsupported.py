"""OpenAI endpoints this gateway does not serve: a 404 that says so, instead of a bare "Not Found".

Clients (and frameworks probing for features) then learn at once that embeddings,
images, audio, moderations and legacy completions need another provider.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends

from litellm_claude.api.auth import require_api_key
from litellm_claude.openai_compat.errors import unsupported_endpoint

router = APIRouter(dependencies=[Depends(require_api_key)])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
KINDS = {
    "/v1/embeddings": "embeddings",
    "/v1/images/{rest:path}": "image generation",
    "/v1/audio/{rest:path}": "audio (speech, transcription, translation)",
    "/v1/moderations": "moderations",
    "/v1/completions": "legacy text completions (use /v1/chat/completions)",
}


def _endpoint(kind: str) -> Callable[[], Awaitable[None]]:
    async def unsupported() -> None:
        raise unsupported_endpoint(kind, status=404)

    return unsupported


for _path, _kind in KINDS.items():
    router.add_api_route(_path, _endpoint(_kind), methods=METHODS, include_in_schema=False)
