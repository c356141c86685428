"""Small HTTP helpers every API package uses."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.http import fetch
from emulator.jobs.service import ReadService
from emulator.security.sealed import SealedWriter

#: A JSON request body (a URL, base64 of a document is streamed differently) is small; a body
#: bigger than this is not one.
MAX_JSON_BODY = 64 * 1024


def service_of(request: Request) -> ReadService:
    """The service behind the app that took ``request``."""
    service: ReadService = request.app.state.service
    return service


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``body`` as a UTF-8 JSON response."""
    return Response(
        json.dumps(body).encode(),
        status_code=status_code,
        headers=headers,
        media_type="application/json; charset=utf-8",
    )


async def download_into(
    service: ReadService, url: str, writer: SealedWriter, max_bytes: int | None = None
) -> None:
    """Download a URL source into ``writer`` under the service's rules (the tier's size cap,
    or ``max_bytes`` for an API with its own; ``--url-timeout``; private networks only with
    ``--allow-private-urls``)."""
    settings = service.settings
    await fetch.download(
        url,
        writer,
        settings.limits.max_bytes if max_bytes is None else max_bytes,
        settings.url_timeout,
        allow_private=settings.allow_private_urls,
    )
