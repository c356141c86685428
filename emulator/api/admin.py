"""The emulator's own admin routes under ``/_emulator/`` (not part of any service; they need
the key too): fault injection and the billing meter."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from emulator import bodies, errors, faults
from emulator.api.http import MAX_JSON_BODY, json_response, service_of
from emulator.middleware.auth import KEY_HEADER

ADMIN_PREFIX = "/_emulator"
FAULTS_PATH = f"{ADMIN_PREFIX}/faults"
USAGE_PATH = f"{ADMIN_PREFIX}/usage"


def _faults(request: Request) -> faults.FaultInjector:
    injector: faults.FaultInjector = request.app.state.faults
    return injector


async def list_faults(request: Request) -> Response:
    """``GET /_emulator/faults``: the armed rules, how often each fired, and the seed."""
    return json_response(_faults(request).describe())


async def add_faults(request: Request) -> Response:
    """``POST /_emulator/faults``: arm one rule (an object), several (a list), or
    ``{"faults": [...], "seed": N}`` (which also restarts the generator from ``N``)."""
    body = await bodies.read_body(
        request.stream(),
        MAX_JSON_BODY,
        request.headers.get("content-length"),
        bodies.json_too_large,
    )
    try:
        document = json.loads(body)
        rules, seed = faults.rules_from_document(document)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise errors.bad_argument("The request body is not valid JSON.") from None
    except faults.FaultError as error:
        raise errors.bad_argument(str(error)) from None
    injector = _faults(request)
    if seed is not None:
        injector.clear(seed)
    ids = [injector.add(rule) for rule in rules]
    return json_response({"ids": ids, **injector.describe()}, status_code=201)


async def clear_faults(request: Request) -> Response:
    """``DELETE /_emulator/faults``: disarm every rule and restart the generator."""
    _faults(request).clear()
    return Response(status_code=204)


async def usage(request: Request) -> Response:
    """``GET /_emulator/usage``: the transactions each configured key has been billed, as
    the service would bill them (:mod:`emulator.billing`); the caller's key is marked."""
    service = service_of(request)
    report = await run_in_threadpool(service.usage, request.headers.get(KEY_HEADER))
    return json_response(report)
