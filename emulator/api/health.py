"""Health routes, open without a key like the Read container's: ``/ready`` (engines loaded,
store reachable), ``/ContainerLiveness`` (the process serves) and ``/status`` (details)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from emulator import errors
from emulator.api.http import json_response, service_of

LIVENESS_PATH = "/ContainerLiveness"


async def ready(request: Request) -> Response:
    """``GET /ready``: 200 once the engine is loaded, 503 before (like the container)."""
    queue = service_of(request).queue
    # Off the event loop: with a shared store, readiness asks Redis.
    if not await run_in_threadpool(lambda: queue.ready):
        raise errors.not_ready(await run_in_threadpool(lambda: queue.error))
    return json_response({"status": "ready"})


async def liveness(request: Request) -> Response:
    """``GET /ContainerLiveness`` (the Read container's route): 200 for as long as the process
    serves, engines loaded or not. ``/ready`` is the one that waits for them."""
    return json_response({"status": "alive"})


async def status(request: Request) -> Response:
    """``GET /status``: health details for operators."""
    return json_response(await run_in_threadpool(service_of(request).status))
