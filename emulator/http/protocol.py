"""uvicorn's h11 protocol, with the service's answers for requests that never become requests,
and limits that keep a client from holding the server's resources for as long as it likes.

uvicorn answers a request head that h11 cannot parse (malformed, or still incomplete past
h11's buffer limit) with a plain-text 400 and closes the socket at once. Two things go wrong
for a client: the body is not the service's JSON error, and a client still sending its long
head has its unread bytes answered by the kernel with a reset, which usually destroys the
answer before it is read. So a long path sent in small TCP segments ended in
``ConnectionResetError`` while the same path sent in one segment got a JSON 400.

:class:`ServiceH11Protocol` answers those heads in the service's error format (``414`` for an
over-long request line, ``431`` for over-long header fields, ``400`` for bytes that are not
HTTP/1.1; the limits are :mod:`emulator.http.middleware.request_size`'s), then reads and discards
what the client still sends, within a bounded time and byte count, before closing: the
"lingering close" of HTTP/1.1 servers (RFC 9112, section 9.6).

uvicorn bounds only the idle time between two requests: a head sent a byte a second, a body
that stops halfway and any number of connections kept their buffers and uploads until the
client left. The protocol bounds them (:class:`ConnectionLimits`, from the command line):

* a request head not complete ``head_timeout`` seconds after its first byte (after the
  connection opened, for its first request) is answered ``408`` and the connection closed;
  a connection that sent nothing at all is closed without an answer, as uvicorn closes an
  idle keep-alive one;
* a request body that stops arriving for ``body_timeout`` seconds ends the request: the app
  sees its client gone (so the upload is dropped, nothing stored), the client gets ``408``
  unless an answer has started, and the connection is closed;
* a request on a connection beyond ``max_connections`` open ones is answered ``503`` with
  ``Retry-After`` and its connection closed (uvicorn's own ``limit_concurrency`` answers in
  plain text);
* the request bodies being received at once, over all connections, stay within
  ``max_body_bytes`` (:class:`UploadBudget`): an upload that would pass it, by its declared
  ``Content-Length`` or, chunked, as it streams in, is answered ``503`` with ``Retry-After``
  and what arrived of it is dropped.

Every answer is in the error format of the API the request's path belongs to.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import h11
from uvicorn._types import ASGIReceiveCallable, ASGIReceiveEvent, ASGISendCallable, Scope
from uvicorn.protocols.http.h11_impl import H11Protocol

from emulator import errors
from emulator.http.middleware.request_size import MAX_HEAD, MAX_HEADER_BYTES, MAX_URI
from emulator.settings import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEAD_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_BYTES_IN_FLIGHT,
    DEFAULT_MAX_CONNECTIONS,
)

log = logging.getLogger("emulator.server")

#: How long a connection keeps reading after its error answer once the client goes quiet.
LINGER_IDLE = 2.0
#: The longest a connection lingers after its error answer, however the client behaves.
LINGER_MAX = 10.0
#: The most bytes read and discarded after an error answer before the socket is closed.
LINGER_BYTES = 4 * 1024 * 1024
#: How much of the request target is read to pick the API whose error format answers.
_PATH_PREFIX = 256
#: Seconds a client refused for a connection-level limit (503) is asked to wait.
RETRY_AFTER = 1.0


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What a connection, and all connections together, may hold of the server."""

    head_timeout: float = DEFAULT_HEAD_TIMEOUT
    """Seconds a request head may take, from its first byte (from the connection's opening,
    for its first request)."""
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    """Seconds a request body may go without a byte arriving."""
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT
    """Seconds an idle connection is kept open between requests (uvicorn applies it)."""
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    """Open connections served at once."""
    max_body_bytes: int = DEFAULT_MAX_BYTES_IN_FLIGHT
    """Bytes of request bodies being received at once, over all connections."""


class UploadBudget:
    """The bytes of request bodies one server is receiving at once, within a limit.

    An upload is let in while the total stays within the limit, and also whenever no other
    upload holds any bytes, so that a document as large as the tier allows is never refused
    for its size alone. Only the event loop's thread uses it: no lock.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        #: Bytes reserved by the uploads being received.
        self.held = 0

    def take(self, count: int, own: int = 0) -> bool:
        """Reserve ``count`` more bytes for an upload that already holds ``own``; False, with
        nothing reserved, when that would pass the limit while other uploads hold bytes."""
        if self.held + count > self.limit and self.held > own:
            return False
        self.held += count
        return True

    def give_back(self, count: int) -> None:
        """Release ``count`` bytes an upload reserved (it has ended, however it ended)."""
        self.held -= count


def request_path(head: bytes) -> str | None:
    """The path prefix the request line of ``head`` names, if any (for the error format)."""
    line_end = head.find(b"\n")
    request_line = head if line_end < 0 else head[:line_end]
    parts = request_line.split(b" ", 2)
    if len(parts) < 2:
        return None
    return parts[1][:_PATH_PREFIX].partition(b"?")[0].decode("latin-1")


def _declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int:
    """The request's ``Content-Length`` (h11 has checked it), or 0 for a chunked body."""
    for name, value in headers:
        if name == b"content-length":
            return int(value)
    return 0


def _cancel(timer: asyncio.TimerHandle | None) -> None:
    if timer is not None:
        timer.cancel()


def refusal(head: bytes) -> tuple[errors.ServiceError, str | None]:
    """The error for an unparsable request ``head`` (the bytes h11 buffered) and the path
    prefix it names, if any (for the error format)."""
    line_end = head.find(b"\n")
    parts = (head if line_end < 0 else head[:line_end]).split(b" ", 2)
    path = request_path(head)
    if len(head) <= MAX_HEAD:
        return errors.malformed_http(), path
    if line_end < 0:  # the request line alone is longer than the whole head may be
        return errors.uri_too_long(MAX_URI), path
    target = parts[1] if len(parts) >= 2 else b""
    if len(target) > MAX_URI:
        return errors.uri_too_long(MAX_URI), path
    return errors.headers_too_large(MAX_HEADER_BYTES), path


class ServiceH11Protocol(H11Protocol):
    """:class:`H11Protocol` with JSON answers to unparsable heads, a lingering close, and the
    limits of :class:`ConnectionLimits`. :func:`protocol_for` makes one for a server."""

    #: The limits every connection of a server is held to.
    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    #: The upload budget every connection of a server shares.
    budget: ClassVar[UploadBudget] = UploadBudget(limits.max_body_bytes)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app = self.app
        self.app = self._serve
        self._lingering = False
        self._discarded = 0
        self._idle: asyncio.TimerHandle | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._last_read = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn waits for a new connection's first request for ever; here, a head's time.
        self._head_timer = self.loop.call_later(self.limits.head_timeout, self._head_timed_out)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            self._discard(len(data))
            return
        self._last_read = self.loop.time()
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()  # a pipelined request may have started, from bytes already buffered

    def send_400_response(self, msg: str) -> None:
        """Called by uvicorn when h11 refuses the head: answer it as the service would."""
        del msg  # uvicorn's plain-text reason; the service's is built from the head itself
        head, _closed = self.conn.trailing_data
        error, path = refusal(head)
        self._refuse(error, path)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_lingering()
        self._stop_clocks()
        super().connection_lost(exc)

    # -- the app, behind the connection cap and the upload budget ---------------------------

    async def _serve(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """Run the app for one request, unless the server has too many connections; its
        ``receive`` reserves the body's bytes in :attr:`budget` before the app gets them."""
        assert scope["type"] == "http"  # uvicorn's lifespan and websockets do not come here
        if len(self.connections) > self.limits.max_connections:
            log.warning(
                "refused a request: %d connections open, the limit is %d (503)",
                len(self.connections),
                self.limits.max_connections,
            )
            message = (
                f"The emulator is serving its limit of {self.limits.max_connections} "
                "connections. Retry later."
            )
            self._refuse(errors.server_busy(message, RETRY_AFTER), scope["path"])
            return
        budget = self.budget
        declared = _declared_length(scope["headers"])
        held = received = 0
        started = False

        async def metered_receive() -> ASGIReceiveEvent:
            nonlocal held, received, started
            if not started:  # before uvicorn sends 100 Continue to a client that waits for it
                started = True
                if declared and not budget.take(declared):
                    raise self._too_many_uploads()
                held = declared
            message = await receive()
            if message["type"] == "http.request":
                received += len(message["body"])
                if received > held:  # a chunked body, measured as it streams in
                    if not budget.take(received - held, held):
                        raise self._too_many_uploads()
                    held = received
            return message

        try:
            await self._app(scope, metered_receive, send)
        finally:
            budget.give_back(held)

    def _too_many_uploads(self) -> errors.ServiceError:
        """The error for an upload that does not fit in the budget (the app answers it)."""
        log.warning(
            "refused an upload: the limit of %d bytes in flight is reached (503)", self.budget.limit
        )
        return errors.server_busy(
            f"The emulator is receiving its limit of {self.budget.limit} bytes of uploads at "
            "once. Retry later.",
            RETRY_AFTER,
        )

    # -- head and body timeouts -------------------------------------------------------------

    def _watch(self) -> None:
        """Start or stop the head and body clocks for what the connection now waits for."""
        if self._lingering or self.transport.is_closing():
            self._stop_clocks()
            return
        state = self.conn.their_state
        if state is not h11.IDLE:
            _cancel(self._head_timer)
            self._head_timer = None
        if state is not h11.SEND_BODY:
            _cancel(self._body_timer)
            self._body_timer = None
        if state is h11.IDLE and self._head_timer is None and self.conn.trailing_data[0]:
            # The first bytes of a new head; until then uvicorn's keep-alive timeout runs.
            self._head_timer = self.loop.call_later(self.limits.head_timeout, self._head_timed_out)
        elif state is h11.SEND_BODY and self._body_timer is None:
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._lingering or self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        head, _closed = self.conn.trailing_data
        if not head:  # nothing sent since the connection opened: idle, closed as uvicorn does
            self.conn.send(h11.ConnectionClosed())
            self.transport.close()
            return
        limit = self.limits.head_timeout
        log.info("closed a connection: its request head was not complete after %gs (408)", limit)
        error = errors.request_timeout(
            f"The request head was not complete within {limit:g} seconds."
        )
        self._refuse(error, request_path(head), linger_for=LINGER_IDLE)

    def _body_timed_out(self) -> None:
        """Called a body timeout after the body clock started; ends the request if no byte
        has arrived for that long, else waits for the rest of the time."""
        self._body_timer = None
        if (
            self._lingering
            or self.transport.is_closing()
            or self.conn.their_state is not h11.SEND_BODY
        ):
            return
        now = self.loop.time()
        if self.flow.read_paused or (
            self.cycle is not None and self.cycle.waiting_for_100_continue
        ):
            # The app has not taken what arrived, or not yet asked for the body of a client
            # that waits to be asked: the wait is the server's, not the client's.
            self._last_read = now
        limit = self.limits.body_timeout
        quiet = now - self._last_read
        if quiet < limit:
            self._body_timer = self.loop.call_later(limit - quiet, self._body_timed_out)
            return
        if self.cycle is None or self.cycle.response_started:
            # Answered already (the rest of the body was being read and discarded): close.
            self.transport.close()
            return
        log.info("closed a connection: its request body stopped for %gs (408)", limit)
        error = errors.request_timeout(
            f"The request body stopped arriving for {limit:g} seconds; nothing was kept."
        )
        self._refuse(error, self.scope["path"], linger_for=LINGER_IDLE)

    def _stop_clocks(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            _cancel(timer)
        self._head_timer = self._body_timer = None

    # -- answering outside the app ----------------------------------------------------------

    def _refuse(
        self, error: errors.ServiceError, path: str | None, *, linger_for: float = LINGER_MAX
    ) -> None:
        """Answer ``error`` in the format of the API ``path`` belongs to, whatever the
        request has sent so far, then close the connection after lingering at most
        ``linger_for`` seconds. A request the app is serving sees its client gone, and its
        own answer, if it still tries one, goes nowhere."""
        response = errors.error_response(error, str(uuid.uuid4()), path)
        headers = [(name, value) for name, value in response.raw_headers if name != b"connection"]
        headers.append((b"connection", b"close"))
        if self.cycle is not None and not self.cycle.response_complete:
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
        self._linger(linger_for)

    # -- lingering close --------------------------------------------------------------------

    def _linger(self, longest: float = LINGER_MAX) -> None:
        self._lingering = True
        self._stop_clocks()
        self._deadline = self.loop.call_later(longest, self._close)
        self._idle = self.loop.call_later(min(LINGER_IDLE, longest), self._close)

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


def protocol_for(limits: ConnectionLimits) -> type[ServiceH11Protocol]:
    """:class:`ServiceH11Protocol` held to ``limits``, with an upload budget of its own: one
    per server, so that servers in one process (tests) do not share it."""

    class LimitedH11Protocol(ServiceH11Protocol):
        pass

    LimitedH11Protocol.limits = limits
    LimitedH11Protocol.budget = UploadBudget(limits.max_body_bytes)
    return LimitedH11Protocol
