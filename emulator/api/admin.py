"""The emulator's own admin routes under ``/_emulator/`` (not part of any service; they need
the key too): fault injection, the billing meter and the development token issuer."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from emulator import bodies, errors, faults, tokens
from emulator.api.http import MAX_JSON_BODY, json_response, service_of
from emulator.middleware.auth import KEY_HEADER, caller_of

ADMIN_PREFIX = "/_emulator"
FAULTS_PATH = f"{ADMIN_PREFIX}/faults"
USAGE_PATH = f"{ADMIN_PREFIX}/usage"
TOKEN_PATH = f"{ADMIN_PREFIX}/token"


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
    caller = caller_of(request.scope)
    report = await run_in_threadpool(service.usage, caller if isinstance(caller, str) else None)
    return json_response(report)


async def issue_token(request: Request) -> Response:
    """``POST /_emulator/token`` (a key, not a token): a development bearer token for the
    caller's key. Body ``{"expires_in": seconds}`` (optional; 1 to 86400, default 3600);
    answer ``{"access_token", "token_type": "Bearer", "expires_on"}``."""
    body = await bodies.read_body(
        request.stream(),
        MAX_JSON_BODY,
        request.headers.get("content-length"),
        bodies.json_too_large,
    )
    lifetime = tokens.DEFAULT_LIFETIME
    if body.strip():
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise errors.bad_argument("The request body is not valid JSON.") from None
        if not isinstance(document, dict):
            raise errors.bad_argument('The body must be an object: {"expires_in": seconds}.')
        value = document.get("expires_in", lifetime)
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.bad_argument("expires_in must be a whole number of seconds.")
        if not 1 <= value <= tokens.MAX_LIFETIME:
            raise errors.bad_argument(
                f"expires_in must be between 1 and {tokens.MAX_LIFETIME} seconds."
            )
        lifetime = value
    key = request.headers.get(KEY_HEADER, "")
    service = service_of(request)
    authority: tokens.TokenAuthority = request.app.state.tokens
    subject = service.billing_key(key)
    assert subject is not None  # the auth middleware let only a valid key through
    return json_response(authority.issue(subject, lifetime))
