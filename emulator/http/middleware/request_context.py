"""Gives every request an id (the ``apim-request-id`` header, also in error bodies) and writes
one access-log line per request.

It also sets the request's context for everything that runs for it: the request id and the W3C trace
(the caller's ``traceparent``, continued by a server span with ``--otel``, see
:mod:`emulator.observability.tracing`) for log lines
(:data:`emulator.observability.logs.REQUEST_ID`) and for the job the request may submit, and, with
``--metrics``, counts the request by route template, method and status and the bytes of its body
while it is served (:mod:`emulator.http.metrics`).

The log line carries the request id, method, path, status, body sizes and duration — never
the query string's values beyond the path, headers (the key), bodies or recognised text. The
path is the client's text, so it is escaped (:func:`emulator.observability.logs.escape`): one
request, one line, no terminal escapes.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.errors import NOSNIFF, REQUEST_ID_HEADER
from emulator.observability.logs import REQUEST_ID, TRACE_ID, escape
from emulator.observability.tracing import (
    CURRENT_TRACE,
    TRACEPARENT_HEADER,
    Span,
    Tracing,
    parse_traceparent,
)

if TYPE_CHECKING:
    from emulator.http.metrics import Metrics

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
    nosniff``, logs the request, and sets its context (ids, trace, metrics; see the module
    docs)."""

    def __init__(
        self, app: ASGIApp, *, metrics: Metrics | None = None, tracing: Tracing | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing or Tracing()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        method = scope["method"]
        caller = parse_traceparent(Headers(scope=scope).get(TRACEPARENT_HEADER))
        attributes = {"http.request.method": method, "ocr.request_id": request_id}
        with self.tracing.span(method, caller, attributes, server=True) as span:
            trace = span.context or caller
            tokens = (
                REQUEST_ID.set(request_id),
                TRACE_ID.set(trace.trace_id if trace else None),
                CURRENT_TRACE.set(trace),
            )
            try:
                await self._serve(scope, receive, send, request_id, span)
            finally:
                REQUEST_ID.reset(tokens[0])
                TRACE_ID.reset(tokens[1])
                CURRENT_TRACE.reset(tokens[2])

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, span: Span
    ) -> None:
        started = time.perf_counter()
        status = 500
        received = 0
        sent = 0
        metrics = self.metrics

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                received += size
                if metrics is not None:
                    metrics.bytes_in_flight.inc(size)
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
            seconds = time.perf_counter() - started
            log.info(
                "%s %s %s %d in=%dB out=%dB %.1fms",
                request_id,
                scope["method"],
                escape(scope["path"][:LOGGED_PATH]),
                status,
                received,
                sent,
                seconds * 1000,
            )
            route = getattr(scope.get("route"), "path", None)
            if metrics is not None:
                metrics.bytes_in_flight.dec(received)
                route = metrics.route_of(scope)
                metrics.request_done(route, scope["method"], status, seconds)
            if isinstance(route, str):
                span.rename(f"{scope['method']} {route}")
                span.set("http.route", route)
            span.set("http.response.status_code", status)
            if status >= 500:
                span.fail(str(status))
