"""Serving the emulator on a real socket: for the CLI (:func:`serve`), and in a background
thread for tests, notebooks and the README quickstart (:func:`run_in_thread`).

This module builds the app (:func:`emulator.app.create_app`) and serves it with the uvicorn
plumbing of :mod:`emulator.http.server` (socket, TLS, connection limits, graceful shutdown),
whose public names it re-exports, so ``from emulator.server import ...`` works as before the
HTTP edge became a package.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from emulator.app import create_app
from emulator.clock import Clock
from emulator.http import tls
from emulator.http.server import (
    PortInUseError,
    bind_socket,
    build_server,
    connection_limits,
    endpoint_url,
)
from emulator.jobs import EngineFactory
from emulator.jobs.service import ReadService
from emulator.settings import Settings


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a running emulator listens, and what a client needs to talk to it."""

    url: str
    """Base URL to give a Read client, e.g. ``http://127.0.0.1:5000`` (no ``/vision/v3.2``)."""
    api_key: str
    """A key the emulator accepts."""
    ca_path: Path | None
    """The generated CA certificate to trust, when TLS uses one."""
    port: int


@dataclass
class _Prepared:
    app: Starlette
    sock: socket.socket
    server: uvicorn.Server
    endpoint: Endpoint


def _prepare(
    settings: Settings,
    engine_factory: EngineFactory | None,
    clock: Clock | None,
    app: Starlette | None,
) -> _Prepared:
    material = tls.prepare(settings) if settings.tls else None
    app = app or create_app(settings, engine_factory=engine_factory, clock=clock)
    service: ReadService = app.state.service
    service.store.check()  # a cluster node with the wrong key stops here, before serving
    sock = bind_socket(settings.host, settings.port)
    port = int(sock.getsockname()[1])
    endpoint = Endpoint(
        url=endpoint_url(settings.host, port, settings.tls),
        api_key=settings.api_keys[0],
        ca_path=material.ca_path if material else None,
        port=port,
    )
    server = build_server(
        app,
        material.context if material else None,
        connection_limits(settings),
        settings.shutdown_timeout,
    )
    return _Prepared(app, sock, server, endpoint)


def startup_line(settings: Settings, endpoint: Endpoint) -> str:
    """The one line printed at start: endpoint, the try-it page and Swagger UI, CA path with
    TLS, key when generated."""
    parts = [
        f"OCR emulator (Read v3.2) listening on {endpoint.url}",
        f"try it: {endpoint.url}/",
        f"Swagger UI: {endpoint.url}/swagger",
    ]
    if endpoint.ca_path is not None:
        parts.append(f"CA certificate: {endpoint.ca_path}")
    if settings.generated_api_key:
        parts.append(f"API key: {endpoint.api_key}")
    return " | ".join(parts)


def serve(settings: Settings, *, engine_factory: EngineFactory | None = None) -> int:
    """Run the emulator in the foreground until SIGTERM/SIGINT; return the exit status."""
    prepared = _prepare(settings, engine_factory, None, None)
    print(startup_line(settings, prepared.endpoint), flush=True)
    try:
        prepared.server.run(sockets=[prepared.sock])
    finally:
        prepared.sock.close()
    return 0 if prepared.server.started else 1


@contextlib.contextmanager
def run_in_thread(
    settings: Settings,
    *,
    engine_factory: EngineFactory | None = None,
    clock: Clock | None = None,
    app: Starlette | None = None,
    wait_ready: bool = True,
    timeout: float = 120.0,
) -> Iterator[Endpoint]:
    """Start the emulator on a real socket in a background thread; yield its endpoint.

    Waits until the server accepts connections and, with ``wait_ready``, until the engines
    are loaded. Stops the server (gracefully) when the block exits::

        with run_in_thread(Settings(api_keys=("k",), port=0)) as endpoint:
            client = ComputerVisionClient(endpoint.url, CognitiveServicesCredentials("k"))
    """
    prepared = _prepare(settings, engine_factory, clock, app)
    server = prepared.server
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [prepared.sock]}, name="ocr-emulator", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        service: ReadService = prepared.app.state.service
        while not server.started or (wait_ready and not service.queue.ready):
            if not thread.is_alive():
                raise RuntimeError("the emulator failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError("the emulator did not become ready in time")
            if service.queue.error:
                raise RuntimeError(f"the OCR engine failed to load: {service.queue.error}")
            time.sleep(0.02)
        yield prepared.endpoint
    finally:
        server.should_exit = True
        thread.join(timeout)
        prepared.sock.close()


__all__ = [
    "Endpoint",
    "PortInUseError",
    "bind_socket",
    "build_server",
    "connection_limits",
    "endpoint_url",
    "run_in_thread",
    "serve",
    "startup_line",
]
