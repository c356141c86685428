"""Applies the fault rules of :mod:`emulator.faults` to the service's API routes.

Sits after authentication (a request without a valid key meets no fault and uses none up)
and before the rate limit. Only the Read routes are affected (the container's ``syncAnalyze``
and ``operations/{id}`` among them); the health, contract and admin routes never are, so a
test can always see and clear the faults it set.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from emulator import errors
from emulator.faults import FaultInjector, Route
from emulator.http.middleware.request_context import request_id_of
from emulator.jobs import JobControl

log = logging.getLogger("emulator.faults")

#: True while the current request is being dropped on purpose. uvicorn logs an error when an
#: app ends a response early; :mod:`emulator.server` filters that line out for these requests.
DROPPING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "ocr_emulator_dropping", default=False
)


#: Where Document Intelligence's two API versions live.
DOCUMENT_INTELLIGENCE_PREFIXES = ("/documentintelligence/", "/formrecognizer/")


def route_of(method: str, path: str, api_prefix: str) -> Route | None:
    """Which fault route a request is on, or None for routes faults never touch.

    The Read container's routes count as the cloud routes they stand for: ``syncAnalyze``
    submits a document as ``analyze`` does (a ``fail`` rule fails its job, answered then as
    ``failed``), and ``GET operations/{id}`` is ``result`` under another name. Document
    Intelligence's routes count alike: ``...:analyze`` is ``analyze``, a GET or DELETE of
    ``.../analyzeResults/{id}`` (and of its ``/pdf``) is ``result`` or ``delete``.
    """
    if path.startswith(DOCUMENT_INTELLIGENCE_PREFIXES):
        if method == "POST" and path.endswith(":analyze"):
            return "analyze"
        if "/analyzeResults/" in path and method == "GET":
            return "result"
        if "/analyzeResults/" in path and method == "DELETE":
            return "delete"
        return None
    if method == "POST" and path in (
        f"{api_prefix}/read/analyze",
        f"{api_prefix}/read/syncAnalyze",
    ):
        return "analyze"
    if path.startswith(f"{api_prefix}/read/analyzeResults/"):
        if method == "GET":
            return "result"
        if method == "DELETE":
            return "delete"
    if path.startswith(f"{api_prefix}/read/operations/") and method == "GET":
        return "result"
    return None


class FaultMiddleware:
    """Answers an injected error, delays, drops the connection, or arms a job failure."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        injector: FaultInjector,
        control: JobControl,
        api_prefix: str,
        owner_of: Callable[[Scope], str | None],
    ) -> None:
        self.app = app
        self.injector = injector
        self.control = control
        self.api_prefix = api_prefix
        # Whose rules apply: the caller's billing key (a rule armed over HTTP is its own).
        self.owner_of = owner_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_of(scope["method"], scope["path"], self.api_prefix)
        owner = self.owner_of(scope) if route is not None else None
        rule = self.injector.pick(route, owner) if route is not None else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        log.info("%s fault injected on %s: %s", request_id, route, rule.action)
        if rule.action == "status":
            assert rule.status is not None
            response = errors.error_response(
                errors.injected(rule.status, rule.retry_after), request_id, scope["path"]
            )
            await response(scope, receive, send)
        elif rule.action == "delay":
            await asyncio.sleep(rule.delay)
            await self.app(scope, receive, send)
        elif rule.action == "fail":
            # The next job to start fails: with one request in flight, the one accepted now.
            self.control.fail_next(1, owner)
            await self.app(scope, receive, send)
        else:
            await self._drop(send)

    @staticmethod
    async def _drop(send: Send) -> None:
        """End the exchange without a complete response, as a lost connection does.

        ASGI has no "close the socket" message. Starting a response that promises a body and
        then returning makes the server close the connection mid-response, which every
        client sees as a transport error (never as a usable answer).
        """
        DROPPING.set(True)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"1"), (b"content-type", b"application/json")],
            }
        )
