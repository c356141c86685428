"""The request rate limit: a sliding window over analyze requests, one window per API key.

The free tier has 20 a minute; ``--rate-limit`` sets any rate (``20/min``, ``10/s``) on
either tier. Only the POSTs that submit a document count (``.../read/analyze`` and the
container's ``.../read/syncAnalyze``, one request each): those are the billed transactions,
and counting the polling GETs would make any client that polls once a second trip the limit
on its first job. Each key has its own window, as each subscription has its own quota, and
the development tokens a key asks for count in that key's window.

:class:`KeyedRateLimit` keeps the windows in this process; a cluster shares them in Redis
(:class:`emulator.store.redis.RedisRateLimit`), so a key's limit holds on every node.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator import errors
from emulator.http.middleware.request_context import request_id_of
from emulator.store import StoreUnavailableError

WINDOW_SECONDS = 60.0


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds."""

    def __init__(
        self,
        limit: int,
        window: float = WINDOW_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.monotonic = monotonic
        self._events: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float | None:
        """Record an event and return None, or return the seconds until one would be allowed."""
        now = self.monotonic()
        with self._lock:
            while self._events and self._events[0] <= now - self.window:
                self._events.popleft()
            if len(self._events) >= self.limit:
                return self._events[0] + self.window - now
            self._events.append(now)
            return None

    def reset(self) -> None:
        """Forget every recorded event."""
        with self._lock:
            self._events.clear()


class RateLimiter(Protocol):
    """What the middleware needs of a limiter: one window per key."""

    #: True if :meth:`acquire` does I/O (a shared store): it then runs off the event loop.
    blocking: bool

    def acquire(self, key: str) -> float | None:
        """Record an event for ``key``; None, or the seconds until one would be allowed."""
        ...

    def reset(self, key: str | None = None) -> None:
        """Forget the events of ``key`` (every key's, for ``None``)."""
        ...


class KeyedRateLimit:
    """One :class:`SlidingWindow` of ``limit`` events per ``window`` seconds for each key.

    Keys are held as SHA-256 digests, so the limiter keeps no copy of a secret.
    """

    blocking = False

    def __init__(
        self,
        limit: int,
        window: float = WINDOW_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.monotonic = monotonic
        self._windows: dict[bytes, SlidingWindow] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Record an event for ``key``; None, or the seconds until one would be allowed."""
        digest = hashlib.sha256(key.encode()).digest()
        with self._lock:
            window = self._windows.get(digest)
            if window is None:
                window = SlidingWindow(self.limit, self.window, self.monotonic)
                self._windows[digest] = window
        return window.acquire()

    def reset(self, key: str | None = None) -> None:
        """Forget the events of ``key`` (every key's, for ``None``)."""
        with self._lock:
            if key is None:
                self._windows.clear()
            else:
                self._windows.pop(hashlib.sha256(key.encode()).digest(), None)


class RateLimitMiddleware:
    """Answers 429 with ``Retry-After`` when a key's analyze rate is exceeded.

    Every POST whose path ends with one of ``path_suffixes`` counts, against one window per
    caller shared by all of them. Runs after authentication, so every request here carries a
    valid key or token; ``window_of`` names the window a request counts against (the caller's
    billing identity, see :meth:`emulator.jobs.service.ReadService.billing_key`), so that a key and
    the development tokens it asked for share one window, as they share one meter.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        path_suffixes: tuple[str, ...],
        window_of: Callable[[Scope], str],
        on_refusal: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.path_suffixes = path_suffixes
        self.window_of = window_of
        #: Called for every request refused with 429 (``--metrics`` counts them).
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].endswith(self.path_suffixes)
        ):
            key = self.window_of(scope)
            error: errors.ServiceError | None = None
            try:
                if self.limiter.blocking:
                    wait = await run_in_threadpool(self.limiter.acquire, key)
                else:
                    wait = self.limiter.acquire(key)
            except StoreUnavailableError:
                # The shared windows are out of reach: the request cannot be counted, so it
                # is not taken either.
                error = errors.service_unavailable(1)
            else:
                error = None if wait is None else errors.rate_limited(wait)
                if error is not None and self.on_refusal is not None:
                    self.on_refusal()
            if error is not None:
                response = errors.error_response(error, request_id_of(scope), scope["path"])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
