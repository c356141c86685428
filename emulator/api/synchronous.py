"""Synchronous reads: an ordinary job, answered in the request that submitted it (the Read
container's ``syncAnalyze``, Image Analysis 4.0's ``read``)."""

from __future__ import annotations

import asyncio
import time

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from emulator import errors
from emulator.jobs.service import OperationView, ReadService
from emulator.store import READ_V32

# A synchronous read looks at its job this soon first, then less often, up to the cap: a
# one-page job is done in well under a second, and a look is one store read.
SYNC_FIRST_POLL = 0.02
SYNC_MAX_POLL = 0.25
_SYNC_POLL_GROWTH = 1.5
#: How long past the job time limit a synchronous read waits before giving up: long enough
#: for a worker that stops a job at its limit to record it ``failed``, which is then answered.
SYNC_GRACE = 1.0
#: The status logged for a read whose client left before the answer (nginx's "client closed
#: request"). It is never sent: there is nobody left to send it to.
CLIENT_CLOSED_REQUEST = 499


async def wait_until_finished(
    request: Request,
    service: ReadService,
    operation_id: str,
    time_limit: float | None,
    api: str = READ_V32,
) -> OperationView | None:
    """Poll the operation until it is finished and return its view; None if the client
    disconnected first; ``503`` (:func:`emulator.errors.sync_read_timeout`) once
    ``time_limit`` seconds (None: no limit) and :data:`SYNC_GRACE` have passed.

    The event loop is never blocked: each look at the store runs in a thread and the pauses
    between looks are ``asyncio.sleep``, growing from :data:`SYNC_FIRST_POLL` to
    :data:`SYNC_MAX_POLL`.
    """
    deadline = None if time_limit is None else time.monotonic() + time_limit + SYNC_GRACE
    pause = SYNC_FIRST_POLL
    while True:
        view = await run_in_threadpool(service.view, operation_id, api)
        if view.finished:
            return view
        if await request.is_disconnected():
            return None
        wait = pause
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                assert time_limit is not None  # there is a deadline only under a limit
                raise errors.sync_read_timeout(time_limit, view.retry_after or 1)
            wait = min(wait, left)
        await asyncio.sleep(wait)
        pause = min(pause * _SYNC_POLL_GROWTH, SYNC_MAX_POLL)


async def answer_when_finished(
    request: Request, service: ReadService, operation_id: str, api: str = READ_V32
) -> OperationView | None:
    """:func:`wait_until_finished` under the job time limit (``--job-timeout``), then delete
    the operation however the wait ended: nobody else was ever told its id, so no GET or
    DELETE could reach it, and an unfinished job deleted this way is dropped by its worker.
    None if the client left first."""
    limit = service.settings.job_timeout
    try:
        return await wait_until_finished(
            request, service, operation_id, None if limit is None else limit.total_seconds(), api
        )
    finally:
        # Shielded: a cancelled request (server shutdown) must still not leave the job behind.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(service.discard, operation_id)
