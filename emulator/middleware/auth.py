"""``Ocp-Apim-Subscription-Key`` authentication, as the service's gateway does it.

Keys are compared in constant time against every configured key (no early exit), so the
time taken reveals neither which key matched nor how much of a wrong key was right. Only
the health endpoints stay open, like the service's container (``/ready``, ``/status`` and
``/ContainerLiveness``, which show no data and no settings that matter); everything else,
the contract document and the emulator's admin routes included, needs a key.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator import errors
from emulator.middleware.request_context import request_id_of

KEY_HEADER = "ocp-apim-subscription-key"
OPEN_PATHS = frozenset({"/ready", "/status", "/ContainerLiveness"})


def key_matches(candidate: str, keys: Iterable[bytes]) -> bool:
    """True if ``candidate`` equals one of ``keys``, comparing with every key every time."""
    encoded = candidate.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(encoded, key)
    return matched


class AuthMiddleware:
    """Answers 401 (the gateway's wrapped body) unless the request carries a valid key."""

    def __init__(self, app: ASGIApp, *, api_keys: Iterable[str]) -> None:
        self.app = app
        self.keys = tuple(key.encode() for key in api_keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            candidate = Headers(scope=scope).get(KEY_HEADER)
            if candidate is None or not key_matches(candidate, self.keys):
                response = errors.error_response(
                    errors.unauthorized(), request_id_of(scope), scope["path"]
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
