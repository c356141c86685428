"""uvicorn's h11 protocol, with two changes for requests that never become requests.

uvicorn answers a request head that h11 cannot parse (malformed, or still incomplete past
h11's buffer limit) with a plain-text 400 and closes the socket at once. Two things go wrong
for a client: the body is not the service's JSON error, and a client still sending its long
head has its unread bytes answered by the kernel with a reset, which usually destroys the
answer before it is read. So a long path sent in small TCP segments ended in
``ConnectionResetError`` while the same path sent in one segment got a JSON 400.

:class:`ServiceH11Protocol` answers those heads in the service's error format (``414`` for an
over-long request line, ``431`` for over-long header fields, ``400`` for bytes that are not
HTTP/1.1; the limits are :mod:`emulator.middleware.request_size`'s), then reads and discards
what the client still sends, within a bounded time and byte count, before closing: the
"lingering close" of HTTP/1.1 servers (RFC 9112, section 9.6).
"""

from __future__ import annotations

import asyncio
import uuid
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from emulator import errors
from emulator.middleware.request_size import MAX_HEAD, MAX_HEADER_BYTES, MAX_URI

#: How long a connection keeps reading after its error answer once the client goes quiet.
LINGER_IDLE = 2.0
#: The longest a connection lingers after its error answer, however the client behaves.
LINGER_MAX = 10.0
#: The most bytes read and discarded after an error answer before the socket is closed.
LINGER_BYTES = 4 * 1024 * 1024
#: How much of the request target is read to pick the API whose error format answers.
_PATH_PREFIX = 256


def refusal(head: bytes) -> tuple[errors.ServiceError, str | None]:
    """The error for an unparsable request ``head`` (the bytes h11 buffered) and the path
    prefix it names, if any (for the error format)."""
    line_end = head.find(b"\n")
    request_line = head if line_end < 0 else head[:line_end]
    parts = request_line.split(b" ", 2)
    path = None
    if len(parts) >= 2:
        path = parts[1][:_PATH_PREFIX].partition(b"?")[0].decode("latin-1")
    if len(head) <= MAX_HEAD:
        return errors.malformed_http(), path
    if line_end < 0:  # the request line alone is longer than the whole head may be
        return errors.uri_too_long(MAX_URI), path
    target = parts[1] if len(parts) >= 2 else b""
    if len(target) > MAX_URI:
        return errors.uri_too_long(MAX_URI), path
    return errors.headers_too_large(MAX_HEADER_BYTES), path


class ServiceH11Protocol(H11Protocol):
    """:class:`H11Protocol` with JSON answers to unparsable heads and a lingering close."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lingering = False
        self._discarded = 0
        self._idle: asyncio.TimerHandle | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            self._discard(len(data))
            return
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        """Called by uvicorn when h11 refuses the head: answer it as the service would."""
        del msg  # uvicorn's plain-text reason; the service's is built from the head itself
        head, _closed = self.conn.trailing_data
        error, path = refusal(head)
        response = errors.error_response(error, str(uuid.uuid4()), path)
        headers = [(name, value) for name, value in response.raw_headers if name != b"connection"]
        headers.append((b"connection", b"close"))
        if self.cycle is not None and not self.cycle.response_complete:
            # A body's framing broke mid-request: the app sees a disconnect, and its own
            # answer, if it still tries one, goes nowhere.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        reason = HTTPStatus(error.status_code).phrase.encode()
        status = h11.Response(status_code=error.status_code, headers=headers, reason=reason)
        try:
            self.transport.write(self.conn.send(status) or b"")
            self.transport.write(self.conn.send(h11.Data(data=bytes(response.body))) or b"")
            self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:  # h11 cannot answer in this state: just close
            self.transport.close()
            return
        self._linger()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_lingering()
        super().connection_lost(exc)

    # -- lingering close --------------------------------------------------------------------

    def _linger(self) -> None:
        self._lingering = True
        self._deadline = self.loop.call_later(LINGER_MAX, self._close)
        self._idle = self.loop.call_later(LINGER_IDLE, self._close)

    def _discard(self, count: int) -> None:
        self._discarded += count
        if self._discarded > LINGER_BYTES:
            self._close()
            return
        if self._idle is not None:
            self._idle.cancel()
        self._idle = self.loop.call_later(LINGER_IDLE, self._close)

    def _close(self) -> None:
        self._stop_lingering()
        self.transport.close()

    def _stop_lingering(self) -> None:
        for timer in (self._idle, self._deadline):
            if timer is not None:
                timer.cancel()
        self._idle = self._deadline = None
