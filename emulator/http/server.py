"""uvicorn on a real socket: binding it, and a server whose shutdown is the service's.

The socket is bound here rather than by uvicorn so that ``--port 0`` yields the real port
before serving starts. The server applies the connection limits of
:mod:`emulator.http.protocol`, TLS from :mod:`emulator.http.tls`, and on SIGTERM lets the
service finish its running pages; :mod:`emulator.server` serves the emulator's app with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import math
import signal
import socket
import ssl
import threading
from collections.abc import Callable, Generator
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from emulator.http.middleware.faults import DROPPING
from emulator.http.middleware.request_size import MAX_HEAD
from emulator.http.protocol import ConnectionLimits, protocol_for
from emulator.jobs.service import ReadService
from emulator.settings import Settings


class PortInUseError(OSError):
    """The port is taken by another process: said in words, with what to do about it."""

    def __init__(self, host: str, port: int) -> None:
        who = "another emulator?"
        if port == 5000:
            who += " on macOS the AirPlay Receiver uses 5000"
        super().__init__(
            errno.EADDRINUSE,
            f"port {port} on {host} is already in use ({who}); pick another with --port or "
            "OCR_EMULATOR_PORT (0 picks a free one)",
        )

    def __str__(self) -> str:
        return str(self.strerror)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0 picks a free one).

    Raises :class:`PortInUseError` when another process holds the port.
    """
    family = socket.AF_INET
    bare = host.strip("[]")
    try:
        if ipaddress.ip_address(bare).version == 6:
            family = socket.AF_INET6
    except ValueError:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
        family, bare = infos[0][0], str(infos[0][4][0])
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
    # for accepted sockets whose protocol says TCP. Without it every response written in two
    # parts (headers, then body) waited for the client's delayed ACK: 40 ms per request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bare, port))
        sock.listen(2048)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port) from error
        raise
    sock.set_inheritable(True)
    return sock


def endpoint_url(host: str, port: int, secure: bool) -> str:
    """The base URL a client should use for a server on ``host:port``."""
    bare = host.strip("[]")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        shown = bare
    else:
        if address.is_unspecified:
            # Listening on every interface: loopback is the address that surely works here.
            address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
        shown = f"[{address}]" if address.version == 6 else str(address)
    return f"{'https' if secure else 'http'}://{shown}:{port}"


# How often shutdown looks for connections that are closed but stuck in the TLS goodbye.


_CLOSE_POLL_SECONDS = 0.05


class _Server(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM/SIGINT ends in a clean exit (status 0), and an
    idle TLS connection does not hold up shutdown.

    uvicorn shuts down gracefully on those signals and then re-raises them, which makes the
    process die of the signal; here the graceful shutdown is the whole answer. A signal also
    tells the app's service at once to take no more work and to finish the pages it is reading
    (:meth:`ReadService.begin_shutdown`), while uvicorn finishes the requests, all within
    ``--shutdown-timeout``; a stop asked for in code (``run_in_thread``) stops at once.
    """

    signalled = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.signalled = True
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's graceful shutdown, plus :meth:`_abort_closed_connections` alongside it
        and, after a signal, the service's (see the class docs)."""
        service = getattr(getattr(self.config.app, "state", None), "service", None)
        if self.signalled and isinstance(service, ReadService):
            await asyncio.to_thread(service.begin_shutdown)
        reaper = asyncio.create_task(self._abort_closed_connections())
        try:
            await super().shutdown(sockets)
        finally:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper

    async def _abort_closed_connections(self) -> None:
        """Abort connections that uvicorn has closed but that are still waiting to go.

        uvicorn closes an idle keep-alive connection at shutdown; over TLS, ``close()`` sends
        close_notify and then waits for the peer's, which a client holding an idle pooled
        connection (requests, msrest) never sends, so every stop took the full graceful
        timeout (10 s). A transport that is closing with nothing left to write has no
        response in flight, so aborting it loses nothing.
        """
        while True:
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                if (
                    isinstance(transport, asyncio.Transport)
                    and transport.is_closing()
                    and transport.get_write_buffer_size() == 0
                ):
                    transport.abort()
            await asyncio.sleep(_CLOSE_POLL_SECONDS)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


class _InjectedDropFilter(logging.Filter):
    """Hides uvicorn's error line for a response cut short on purpose by a ``drop`` fault.

    The line is logged from the request's own task, where the fault middleware has set
    :data:`~emulator.http.middleware.faults.DROPPING`; a response cut short by a bug still logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not DROPPING.get()


_DROP_FILTER = _InjectedDropFilter()


def connection_limits(settings: Settings) -> ConnectionLimits:
    """The connection limits ``settings`` ask for (``--head-timeout`` and the others)."""
    return ConnectionLimits(
        head_timeout=settings.head_timeout,
        body_timeout=settings.body_timeout,
        keep_alive_timeout=settings.keep_alive_timeout,
        max_connections=settings.max_connections,
        max_body_bytes=settings.max_bytes_in_flight,
    )


def build_server(
    app: Starlette,
    context: ssl.SSLContext | None,
    limits: ConnectionLimits | None = None,
    shutdown_timeout: float = 10.0,
) -> uvicorn.Server:
    """A uvicorn server for ``app``, using our TLS context (TLS >= 1.2) when given, its
    connections held to ``limits`` (the defaults when None); at a stop, requests still being
    served get ``shutdown_timeout`` seconds to finish.

    uvicorn's own ``ssl_version`` cannot set a minimum version, so the context is built by
    :mod:`emulator.http.tls` and handed over through ``ssl_context_factory``.
    """
    limits = limits or ConnectionLimits()
    factory: Callable[[uvicorn.Config, Callable[[], ssl.SSLContext]], ssl.SSLContext] | None = None
    if context is not None:

        def factory(
            config: uvicorn.Config, default: Callable[[], ssl.SSLContext]
        ) -> ssl.SSLContext:
            return context

    logging.getLogger("uvicorn.error").addFilter(_DROP_FILTER)  # a no-op when already there
    config = uvicorn.Config(
        app,
        lifespan="on",
        access_log=False,  # the app logs every request itself, without secrets
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=math.ceil(shutdown_timeout),  # uvicorn takes whole seconds
        ssl_context_factory=factory,
        # The protocol also applies the head and body timeouts and both caps (answered in the
        # service's format: uvicorn's limit_concurrency is left off, its 503 is plain text).
        http=protocol_for(limits),
        timeout_keep_alive=math.ceil(limits.keep_alive_timeout),  # uvicorn takes whole seconds
        # A head still incomplete past this many bytes is answered 414 or 431 by the protocol;
        # one that arrives whole is measured by the request-size middleware, with lower limits.
        h11_max_incomplete_event_size=MAX_HEAD,
    )
    return _Server(config)
