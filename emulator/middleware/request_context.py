"""Gives every request an id (the ``apim-request-id`` header, also in error bodies) and writes
one access-log line per request.

The log line carries the request id, method, path, status, body sizes and duration — never
the query string's values beyond the path, headers (the key), bodies or recognised text. The
path is the client's text, so it is escaped (:func:`emulator.logs.escape`): one request, one
line, no terminal escapes.
"""

from __future__ import annotations

import logging
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.errors import NOSNIFF, REQUEST_ID_HEADER
from emulator.logs import escape

log = logging.getLogger("emulator.access")
#: The most characters of a path an access-log line carries (a refused path can be 16 kB).
LOGGED_PATH = 200


def request_id_of(scope: Scope) -> str | None:
    """The id :class:`RequestContextMiddleware` gave this request, if any."""
    state = scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


class RequestContextMiddleware:
    """Assigns the request id, adds it to the response with ``X-Content-Type-Options:
    nosniff``, and logs the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        received = 0
        sent = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                if REQUEST_ID_HEADER not in headers:
                    headers[REQUEST_ID_HEADER] = request_id
                headers[NOSNIFF[0]] = NOSNIFF[1]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, send_with_id)
        finally:
            log.info(
                "%s %s %s %d in=%dB out=%dB %.1fms",
                request_id,
                scope["method"],
                escape(scope["path"][:LOGGED_PATH]),
                status,
                received,
                sent,
                (time.perf_counter() - started) * 1000,
            )
