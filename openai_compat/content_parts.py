"""OpenAI message content parts: text joined, inline images decoded, everything else refused."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from litellm_claude.jobs.contract import JobImage
from litellm_claude.openai_compat.errors import invalid_request

DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)(?:;[^,]*)?;base64,(?P<data>.*)$", re.DOTALL)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def split_parts(parts: list[dict[str, Any]], *, role: str, param: str) -> tuple[str, list[JobImage]]:
    """(joined text, images) of a content-part list; ApiError names the offending part."""
    texts: list[str] = []
    images: list[JobImage] = []
    for j, part in enumerate(parts):
        kind = part.get("type")
        where = f"{param}[{j}]"
        if kind in ("text", "input_text") and isinstance(part.get("text"), str):
            texts.append(str(part["text"]))
        elif kind == "image_url":
            if role != "user":
                raise invalid_request(
                    "Images are accepted in user messages only.", param=where, code="unsupported_content"
                )
            images.append(_image(part.get("image_url"), f"{where}.image_url.url"))
        else:
            raise invalid_request(
                f"Unsupported content part type {kind!r}; text and image_url parts are accepted.",
                param=f"{where}.type",
                code="unsupported_content",
            )
    return "\n".join(texts), images


def _image(spec: Any, param: str) -> JobImage:
    url = spec.get("url") if isinstance(spec, dict) else spec
    if not isinstance(url, str):
        raise invalid_request("image_url.url must be a string.", param=param)
    match = DATA_URL.match(url)
    if not match:
        raise invalid_request(
            "Remote image URLs are not fetched; send the image inline as a base64 data: URL.",
            param=param,
            code="unsupported_content",
        )
    media_type = match.group("type").lower()
    if media_type not in IMAGE_TYPES:
        raise invalid_request(
            f"Unsupported image type {media_type!r}; use one of {', '.join(IMAGE_TYPES)}.",
            param=param,
            code="unsupported_content",
        )
    data = match.group("data").strip()
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_request("The image's base64 data is not valid.", param=param) from None
    return JobImage(media_type=media_type, data=data)  # type: ignore[arg-type]  # one of IMAGE_TYPES (checked above)
