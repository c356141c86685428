"""Limits on the request head: a URI over :data:`MAX_URI` bytes is answered ``414``, header
fields over :data:`MAX_HEADER_BYTES` in all ``431``, both in the service's error format.

The same limits hold however TCP splits the bytes. A head that arrives whole reaches this
middleware, which measures it; one still incomplete past :data:`MAX_HEAD` bytes is answered by
:mod:`emulator.http.protocol` before it ever becomes a request. ``MAX_HEAD`` is larger than
the two limits together, so no head this middleware would let through is refused there, and
the answer to an over-long head is the same whichever of the two sees it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from emulator import errors
from emulator.http.middleware.request_context import request_id_of

#: Longest request URI (path and query) taken, in bytes.
MAX_URI = 16 * 1024
#: Most bytes the header fields of one request may add up to (each counted as ``name: value``
#: and its line end).
MAX_HEADER_BYTES = 32 * 1024
#: Most bytes of a request head buffered before it is complete.
MAX_HEAD = 64 * 1024


def uri_length(raw_path: bytes, query_string: bytes) -> int:
    """The length of the request URI made of ``raw_path`` and ``query_string``."""
    return len(raw_path) + (1 + len(query_string) if query_string else 0)


def header_bytes(headers: list[tuple[bytes, bytes]]) -> int:
    """The size of ``headers`` as they were sent: ``name: value`` and CRLF for each."""
    return sum(len(name) + len(value) + 4 for name, value in headers)


def head_error(uri: int, headers: int) -> errors.ServiceError | None:
    """The error for a head with a ``uri``-byte URI and ``headers`` bytes of header fields,
    or ``None`` when both are within the limits."""
    if uri > MAX_URI:
        return errors.uri_too_long(MAX_URI)
    if headers > MAX_HEADER_BYTES:
        return errors.headers_too_large(MAX_HEADER_BYTES)
    return None


class RequestSizeMiddleware:
    """Answers ``414`` or ``431`` for a request whose head is over the limits."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            error = head_error(
                uri_length(scope.get("raw_path") or b"", scope.get("query_string") or b""),
                header_bytes(scope["headers"]),
            )
            if error is not None:
                response = errors.error_response(error, request_id_of(scope), scope["path"])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
