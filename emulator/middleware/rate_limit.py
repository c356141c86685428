"""The free tier's request rate limit: a sliding one-minute window over analyze requests.

Only ``POST .../read/analyze`` counts: those are the billed transactions, and counting the
polling GETs would make any client that polls once a second trip the limit on its first job.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from emulator import errors
from emulator.middleware.request_context import request_id_of

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


class RateLimitMiddleware:
    """Answers 429 with ``Retry-After`` when the tier's analyze rate is exceeded."""

    def __init__(self, app: ASGIApp, *, window: SlidingWindow, path_suffix: str) -> None:
        self.app = app
        self.window = window
        self.path_suffix = path_suffix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].endswith(self.path_suffix)
        ):
            wait = self.window.acquire()
            if wait is not None:
                response = errors.error_response(errors.rate_limited(wait), request_id_of(scope))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
