"""``Ocp-Apim-Subscription-Key`` and ``Authorization: Bearer`` authentication, as the
service's gateway does it.

Keys are compared in constant time against every configured key (no early exit), so the
time taken reveals neither which key matched nor how much of a wrong key was right. Only
the health endpoints stay open, like the service's container (``/ready``, ``/status`` and
``/ContainerLiveness``, which show no data and no settings that matter), with the browser
pages (``/`` of :mod:`emulator.api.home`, ``/swagger`` of :mod:`emulator.api.swagger`, and
their assets; :data:`emulator.api.home.OPEN_PATHS` lists them, and the app hands them to
:class:`AuthMiddleware`); everything else, the contract document and the emulator's admin
routes included, needs a key or a bearer token (:mod:`emulator.security.tokens`). Who the
request is (the key, or the token's principal) is left in ``scope["state"]["caller"]`` for
billing; :func:`caller_of` reads it.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator import errors
from emulator.http.middleware.request_context import request_id_of
from emulator.security.tokens import Principal, TokenAuthority, TokenError

KEY_HEADER = "ocp-apim-subscription-key"
OPEN_PATHS = frozenset({"/ready", "/status", "/ContainerLiveness"})


def key_matches(candidate: str, keys: Iterable[bytes]) -> bool:
    """True if ``candidate`` equals one of ``keys``, comparing with every key every time."""
    encoded = candidate.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(encoded, key)
    return matched


def caller_of(scope: Scope) -> str | Principal | None:
    """Who authenticated the request: its API key, or a token's :class:`Principal`."""
    state = scope.get("state") or {}
    caller = state.get("caller")
    return caller if isinstance(caller, str | Principal) else None


#: Routes that need a key, not a token: a token cannot mint another token.
KEY_ONLY_PATHS = frozenset({"/_emulator/token"})


class AuthMiddleware:
    """Answers 401 (the gateway's wrapped body) unless the request carries a valid key or
    bearer token."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_keys: Iterable[str],
        tokens: TokenAuthority | None = None,
        open_paths: Iterable[str] = (),
        open_prefixes: tuple[str, ...] = (),
    ) -> None:
        """``open_paths`` and ``open_prefixes`` are the pages a browser opens, open beside
        :data:`OPEN_PATHS` (the app passes :data:`emulator.api.home.OPEN_PATHS` and
        ``OPEN_PREFIXES``: the HTTP edge does not import the API surfaces)."""
        self.app = app
        self.keys = tuple(key.encode() for key in api_keys)
        self.tokens = tokens
        self.open_paths = OPEN_PATHS | frozenset(open_paths)
        self.open_prefixes = open_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if scope["type"] == "http" and not (
            path in self.open_paths or path.startswith(self.open_prefixes)
        ):
            error = self._authenticate(scope)
            if error is not None:
                response = errors.error_response(error, request_id_of(scope), scope["path"])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _authenticate(self, scope: Scope) -> errors.ServiceError | None:
        headers = Headers(scope=scope)
        state = scope.setdefault("state", {})
        candidate = headers.get(KEY_HEADER)
        if candidate is not None and key_matches(candidate, self.keys):
            state["caller"] = candidate
            return None
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if (
            candidate is None
            and scheme.lower() == "bearer"
            and self.tokens is not None
            and scope["path"] not in KEY_ONLY_PATHS
        ):
            try:
                state["caller"] = self.tokens.verify(token.strip())
            except TokenError as failure:
                return errors.invalid_token(str(failure))
            return None
        return errors.unauthorized()
