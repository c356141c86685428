"""Pollers for Read operations.

:class:`PollingState` makes every decision without I/O: whether the operation is done,
when the next GET may happen (the server's ``Retry-After`` or the polling interval), whether
a deadline allows another poll, and what the outcome is. :class:`ReadPoller` and
:class:`AsyncReadPoller` only run the loop around it, so both behave the same.

When the service gives no hint (neither ``retry-after-ms`` nor ``Retry-After``), the wait
starts at a quarter of ``polling_interval`` and doubles up to it: a page that takes half a
second is not made to wait a full second, and a long job is polled at the interval after two
short waits.

``status()`` and ``done()`` never send a request; they report what the last poll saw.
``wait(timeout)`` polls until the operation finishes or the next poll would fall after the
deadline; ``wait(0)`` polls once if a poll is due. ``result(timeout)`` does the same and
returns the :class:`~ocr_sdk.ReadResult`, or raises. Nothing is ever cancelled: a poller that
timed out can be waited on again, and ``client.resume_read(operation_id)`` rebuilds one
anywhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, TypeAlias

from ._enums import OperationStatus
from ._exceptions import OperationFailedError, PollingTimeoutError

if TYPE_CHECKING:
    # The wire models need pydantic; they are imported when a result is parsed (see
    # ``ocr_sdk/__init__.py``), not by ``import ocr_sdk``.
    from ._models import ReadOperationResult, ReadResult

__all__ = ["PollingState", "ReadPoller", "AsyncReadPoller"]

_IN_PROGRESS = frozenset({OperationStatus.NOT_STARTED, OperationStatus.RUNNING})

#: Without a server hint the first wait is this fraction of the polling interval; each next
#: unhinted wait doubles, up to the interval.
FIRST_WAIT_FRACTION = 0.25

#: One GET of the operation: the typed result and the response's Retry-After in seconds.
Fetch: TypeAlias = "Callable[[str], tuple[ReadOperationResult, float | None]]"
AsyncFetch: TypeAlias = "Callable[[str], Awaitable[tuple[ReadOperationResult, float | None]]]"


class PollingState:
    """Sans-I/O state of one Read operation, shared by the sync and async pollers."""

    def __init__(self, operation_id: str, *, polling_interval: float, next_poll_at: float) -> None:
        """``next_poll_at`` is the monotonic time before which no GET should be sent."""
        self.operation_id = operation_id
        self.polling_interval = polling_interval
        self.next_poll_at = next_poll_at
        self.last: ReadOperationResult | None = None
        self._unhinted_waits = 0

    def wait_after(self, retry_after: float | None) -> float:
        """Seconds to wait before the next GET: the server's hint if it sent one, else the
        next step of the backoff from ``FIRST_WAIT_FRACTION`` of the interval up to it."""
        if retry_after is not None:
            return retry_after
        factor = min(1.0, FIRST_WAIT_FRACTION * 2.0**self._unhinted_waits)
        self._unhinted_waits += 1
        return self.polling_interval * factor

    def schedule(self, retry_after: float | None, now: float) -> None:
        """Set the next poll time from ``now`` (see :meth:`wait_after`)."""
        self.next_poll_at = now + self.wait_after(retry_after)

    def status(self) -> OperationStatus | str:
        """Last status seen; ``notStarted`` before the first poll."""
        if self.last is None or self.last.status is None:
            return OperationStatus.NOT_STARTED
        return self.last.status

    def done(self) -> bool:
        """True once the status is terminal: succeeded, failed, or a status the SDK does
        not know (treated as terminal so that a new service state cannot poll forever)."""
        return self.last is not None and self.status() not in _IN_PROGRESS

    def delay(self, now: float) -> float:
        """Seconds to wait from ``now`` before the next GET."""
        return max(self.next_poll_at - now, 0.0)

    def may_poll(self, now: float, deadline: float | None) -> bool:
        """Whether the next GET can be sent before ``deadline`` (``None``: no deadline)."""
        return deadline is None or now + self.delay(now) <= deadline

    def update(self, result: ReadOperationResult, retry_after: float | None, now: float) -> None:
        """Record a poll's result and schedule the next (the server's hint, else backoff)."""
        self.last = result
        self.schedule(retry_after, now)

    def timeout_error(self, timeout: float | None) -> PollingTimeoutError:
        """The error ``result(timeout)`` raises when time runs out."""
        status = str(self.status())
        return PollingTimeoutError(
            f"Read operation {self.operation_id} is still {status} after {timeout} s; "
            "call result() again or client.resume_read() to keep waiting",
            operation_id=self.operation_id,
            status=status,
        )

    def outcome(self) -> ReadResult:
        """The result of a done operation, or :class:`OperationFailedError`."""
        last = self.last
        assert last is not None and self.done()
        if last.status == OperationStatus.SUCCEEDED:
            from ._models import ReadResult  # loaded already: ``last`` is a model

            return ReadResult.from_operation(self.operation_id, last)
        raise OperationFailedError(
            f"Read operation {self.operation_id} ended with status {str(last.status)!r}",
            operation_id=self.operation_id,
            result=last,
        )


class _PollerBase:
    """What both pollers answer without I/O, from the shared :class:`PollingState`."""

    def __init__(self, state: PollingState, clock: Callable[[], float]) -> None:
        self._state = state
        self._clock = clock

    @property
    def operation_id(self) -> str:
        """The operation id; pass it to ``resume_read`` to continue elsewhere."""
        return self._state.operation_id

    def status(self) -> str:
        """Last status seen (no request is sent): ``notStarted``, ``running``, ..."""
        return str(self._state.status())

    def done(self) -> bool:
        """Whether the last poll saw a terminal status (no request is sent)."""
        return self._state.done()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} operation_id={self.operation_id!r} status={self.status()!r}>"
        )


class ReadPoller(_PollerBase):
    """Waits for a Read operation; returned by ``OcrClient.begin_read*`` and ``resume_read``."""

    def __init__(
        self,
        state: PollingState,
        *,
        fetch: Fetch,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        """Built by the client; not meant to be created directly."""
        super().__init__(state, clock)
        self._fetch = fetch
        self._sleep = sleep

    def wait(self, timeout: float | None = None) -> None:
        """Poll until done, or until the next poll would come after ``timeout`` seconds.

        Returns without raising either way; check :meth:`done`. Raises the client errors
        (e.g. :class:`~ocr_sdk.NotFoundError`) if a poll fails after retries.
        """
        state = self._state
        deadline = None if timeout is None else self._clock() + timeout
        while not state.done() and state.may_poll(self._clock(), deadline):
            delay = state.delay(self._clock())
            if delay > 0:
                self._sleep(delay)
            result, retry_after = self._fetch(state.operation_id)
            state.update(result, retry_after, self._clock())

    def result(self, timeout: float | None = None) -> ReadResult:
        """Wait (see :meth:`wait`) and return the :class:`~ocr_sdk.ReadResult`.

        Raises :class:`~ocr_sdk.PollingTimeoutError` if not done within ``timeout`` seconds
        (the poller stays usable), :class:`~ocr_sdk.OperationFailedError` if it failed.
        """
        self.wait(timeout)
        if not self._state.done():
            raise self._state.timeout_error(timeout)
        return self._state.outcome()


class AsyncReadPoller(_PollerBase):
    """Async twin of :class:`ReadPoller`; ``await poller`` is ``await poller.result()``."""

    def __init__(
        self,
        state: PollingState,
        *,
        fetch: AsyncFetch,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float],
    ) -> None:
        """Built by the client; not meant to be created directly."""
        super().__init__(state, clock)
        self._fetch = fetch
        self._sleep = sleep

    # ASYNC109: unlike asyncio.timeout(), which cancels mid-request, this timeout stops
    # between polls and leaves the poller usable; the issue fixes the name on both pollers.
    async def wait(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Poll until done, or until the next poll would come after ``timeout`` seconds.

        Returns without raising either way; check :meth:`done`.
        """
        state = self._state
        deadline = None if timeout is None else self._clock() + timeout
        while not state.done() and state.may_poll(self._clock(), deadline):
            delay = state.delay(self._clock())
            if delay > 0:
                await self._sleep(delay)
            result, retry_after = await self._fetch(state.operation_id)
            state.update(result, retry_after, self._clock())

    async def result(self, timeout: float | None = None) -> ReadResult:  # noqa: ASYNC109
        """Wait (see :meth:`wait`) and return the :class:`~ocr_sdk.ReadResult`.

        Raises :class:`~ocr_sdk.PollingTimeoutError` if not done within ``timeout`` seconds
        (the poller stays usable), :class:`~ocr_sdk.OperationFailedError` if it failed.
        """
        await self.wait(timeout)
        if not self._state.done():
            raise self._state.timeout_error(timeout)
        return self._state.outcome()

    def __await__(self) -> Generator[Any, None, ReadResult]:
        return self.result().__await__()
