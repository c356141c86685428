"""The exception handlers: the only way errors leave the app. Each error is rendered in the
format of the API the request was for (:func:`emulator.errors.error_response` picks it by
path), so no route, store or engine needs to know how errors look on the wire."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from emulator import errors
from emulator.http.middleware.request_context import LOGGED_PATH, request_id_of
from emulator.observability.logs import escape

log = logging.getLogger("emulator.api")


def _where(request: Request) -> tuple[str | None, str]:
    """The request id and the path, which picks the API whose error format answers."""
    return request_id_of(request.scope), request.url.path


def _logged(request: Request) -> str:
    """The request's path as a log line may carry it: cut short and escaped."""
    return escape(request.url.path[:LOGGED_PATH])


async def on_service_error(request: Request, exc: Exception) -> Response:
    """Render a :class:`ServiceError` in the service's format."""
    assert isinstance(exc, errors.ServiceError)
    return errors.error_response(exc, *_where(request))


async def on_http_exception(request: Request, exc: Exception) -> Response:
    """Render routing errors (unknown path, wrong method) as JSON, never plain text."""
    assert isinstance(exc, HTTPException)
    error = errors.from_http_status(exc.status_code, request.method, request.url.path)
    error.headers.update(exc.headers or {})  # keeps the Allow header of a 405
    return errors.error_response(error, *_where(request))


async def on_storage_error(request: Request, exc: Exception) -> Response:
    """The store failed (``sqlite3.Error``, ``OSError`` such as a full disk): 500
    ``StorageException``. Logged by type only; paths and data stay out of the answer."""
    log.error("storage error %s on %s %s", type(exc).__name__, request.method, _logged(request))
    return errors.error_response(
        errors.storage_error(), request_id_of(request.scope), request.url.path
    )


async def on_store_unavailable(request: Request, exc: Exception) -> Response:
    """The shared store cannot be reached (Redis down or restarting): 503
    ``ServiceUnavailable`` with ``Retry-After``; nothing accepted is lost, and the node
    serves again as soon as the store is back."""
    log.warning("store unavailable on %s %s", request.method, _logged(request))
    return errors.error_response(
        errors.service_unavailable(1), request_id_of(request.scope), request.url.path
    )


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """A bug: log it (without request data) and answer 500 in the service's format."""
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, _logged(request))
    return errors.error_response(
        errors.internal_error(), request_id_of(request.scope), request.url.path
    )
