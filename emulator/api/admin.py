"""The emulator's own admin routes under ``/_emulator/`` (not part of any service; they need
the key too): test controls, fault injection, the billing meter and the development token
issuer.

Every control acts for the caller alone: its jobs, its holds, its faults, its meter (the
caller is known by its billing key, :meth:`~emulator.jobs.service.ReadService.billing_key`).
Test workers that share one emulator, each with its own key, so never touch one another's
jobs (:mod:`emulator.testing.shared`).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from emulator import errors, faults
from emulator.api.http import MAX_JSON_BODY, json_response, service_of
from emulator.http import bodies
from emulator.http.middleware.auth import KEY_HEADER, caller_of
from emulator.http.middleware.rate_limit import RateLimiter
from emulator.security import tokens

ADMIN_PREFIX = "/_emulator"
FAULTS_PATH = f"{ADMIN_PREFIX}/faults"
USAGE_PATH = f"{ADMIN_PREFIX}/usage"
TOKEN_PATH = f"{ADMIN_PREFIX}/token"
RESET_PATH = f"{ADMIN_PREFIX}/reset"
HOLDS_PATH = f"{ADMIN_PREFIX}/holds"
FAILURES_PATH = f"{ADMIN_PREFIX}/failures"

#: Longest wait ``GET /_emulator/holds`` blocks for, in seconds.
MAX_HOLD_WAIT = 120.0


def _faults(request: Request) -> faults.FaultInjector:
    injector: faults.FaultInjector = request.app.state.faults
    return injector


def _owner(request: Request) -> str | None:
    """The caller's billing key: whose jobs, holds and faults a control acts on."""
    return service_of(request).billing_key(caller_of(request.scope))


async def _json_body(request: Request) -> Any | None:
    """The request's JSON body, or None if it is empty; a 400 if it is not JSON."""
    body = await bodies.read_body(
        request.stream(),
        MAX_JSON_BODY,
        request.headers.get("content-length"),
        bodies.json_too_large,
    )
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise errors.bad_argument("The request body is not valid JSON.") from None


def _whole_number(document: Any, name: str, default: int, low: int, high: int) -> int:
    """``document[name]``, a whole number from ``low`` to ``high`` (``default`` if absent)."""
    if document is None:
        return default
    if not isinstance(document, dict):
        raise errors.bad_argument(f'The body must be an object: {{"{name}": number}}.')
    value = document.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.bad_argument(f"{name} must be a whole number.")
    if not low <= value <= high:
        raise errors.bad_argument(f"{name} must be between {low} and {high}.")
    return value


async def list_faults(request: Request) -> Response:
    """``GET /_emulator/faults``: the rules that apply to the caller (its own and the
    emulator's), how often each fired, and the seed."""
    return json_response(_faults(request).describe(_owner(request)))


async def add_faults(request: Request) -> Response:
    """``POST /_emulator/faults``: arm one rule (an object), several (a list), or
    ``{"faults": [...], "seed": N}`` (which also restarts the caller's generator from
    ``N``), for the caller's own requests."""
    document = await _json_body(request)
    try:
        rules, seed = faults.rules_from_document(document)
    except faults.FaultError as error:
        raise errors.bad_argument(str(error)) from None
    injector = _faults(request)
    owner = _owner(request)
    if seed is not None:
        injector.clear(seed, owner)
    ids = [injector.add(rule, owner) for rule in rules]
    return json_response({"ids": ids, **injector.describe(owner)}, status_code=201)


async def clear_faults(request: Request) -> Response:
    """``DELETE /_emulator/faults``: disarm the caller's rules and restart its generator
    (``?seed=N`` restarts it from ``N``)."""
    seed: int | None = None
    if (text := request.query_params.get("seed")) is not None:
        try:
            seed = int(text)
        except ValueError:
            raise errors.bad_argument("seed must be a whole number.") from None
    _faults(request).clear(seed, _owner(request))
    return Response(status_code=204)


async def reset(request: Request) -> Response:
    """``POST /_emulator/reset``: delete the caller's jobs and results, release its holds,
    cancel its pending failures, disarm its faults, empty its rate window and set its meter
    to zero. Answers ``{"deleted": jobs}``."""
    owner = _owner(request)
    service = service_of(request)
    deleted = await run_in_threadpool(service.clear, owner)
    _faults(request).clear(owner=owner)
    limiter: RateLimiter | None = request.app.state.rate_limit
    if limiter is not None:
        await run_in_threadpool(limiter.reset, owner or "")
    return json_response({"deleted": deleted})


async def hold(request: Request) -> Response:
    """``POST /_emulator/holds``, body ``{"at": "notStarted" | "running"}`` (default
    ``notStarted``): stop every job of the caller that reaches that stage until
    ``DELETE /_emulator/holds``."""
    document = await _json_body(request)
    if document is None:
        document = {}
    at = document.get("at", "notStarted") if isinstance(document, dict) else None
    if at not in ("notStarted", "running"):
        raise errors.bad_argument('The body must be {"at": "notStarted"} or {"at": "running"}.')
    service_of(request).control.hold(at, _owner(request))
    return Response(status_code=204)


async def release(request: Request) -> Response:
    """``DELETE /_emulator/holds``: stop holding the caller's jobs and let them run."""
    service_of(request).control.release(_owner(request))
    return Response(status_code=204)


async def held(request: Request) -> Response:
    """``GET /_emulator/holds?count=N&timeout=S``: wait until ``count`` of the caller's jobs
    are held (at most ``timeout`` seconds, default 30), then answer ``{"held": [ids]}``,
    oldest first; fewer than ``count`` ids when the time ran out."""
    try:
        count = int(request.query_params.get("count", "0"))
        timeout = float(request.query_params.get("timeout", "30"))
    except ValueError:
        raise errors.bad_argument("count and timeout must be numbers.") from None
    if count < 0 or not 0 <= timeout <= MAX_HOLD_WAIT:
        raise errors.bad_argument(f"count must be >= 0 and timeout from 0 to {MAX_HOLD_WAIT:g}.")
    control = service_of(request).control
    owner = _owner(request)

    def wait() -> list[str]:
        try:
            return control.wait_held(count, timeout, owner)
        except TimeoutError:
            return control.held_by(owner)

    return json_response({"held": await run_in_threadpool(wait)})


async def fail_next(request: Request) -> Response:
    """``POST /_emulator/failures``, body ``{"count": N}`` (default 1): the caller's next
    ``N`` jobs to start end ``failed``."""
    count = _whole_number(await _json_body(request), "count", 1, 1, 10_000)
    service_of(request).control.fail_next(count, _owner(request))
    return Response(status_code=204)


async def usage(request: Request) -> Response:
    """``GET /_emulator/usage``: the transactions each configured key has been billed, as
    the service would bill them (:mod:`emulator.jobs.billing`); the caller's key is marked."""
    service = service_of(request)
    caller = caller_of(request.scope)
    report = await run_in_threadpool(service.usage, caller if isinstance(caller, str) else None)
    return json_response(report)


async def issue_token(request: Request) -> Response:
    """``POST /_emulator/token`` (a key, not a token): a development bearer token for the
    caller's key. Body ``{"expires_in": seconds}`` (optional; 1 to 86400, default 3600);
    answer ``{"access_token", "token_type": "Bearer", "expires_on"}``."""
    document = await _json_body(request)
    if document is not None and not isinstance(document, dict):
        raise errors.bad_argument('The body must be an object: {"expires_in": seconds}.')
    lifetime = _whole_number(
        document, "expires_in", tokens.DEFAULT_LIFETIME, 1, tokens.MAX_LIFETIME
    )
    key = request.headers.get(KEY_HEADER, "")
    service = service_of(request)
    authority: tokens.TokenAuthority = request.app.state.tokens
    subject = service.billing_key(key)
    assert subject is not None  # the auth middleware let only a valid key through
    return json_response(authority.issue(subject, lifetime))
