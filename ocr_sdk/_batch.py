"""Reading many documents: the item type and the decisions shared by both clients' ``read_many``.

The clients run the batch (threads for :class:`~ocr_sdk.OcrClient`, tasks for
:class:`~ocr_sdk.AsyncOcrClient`); everything they decide without I/O is here: what an item
carries, how many reads may be in flight, and :class:`RateGate`, which makes one 429 pause
every worker of the batch instead of only the one that received it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypedDict, TypeVar

from ._exceptions import OcrError, RateLimitError

if TYPE_CHECKING:
    from ._models import ReadResult

__all__ = ["BatchItem", "RateGate", "ReadOptions", "check_concurrency", "DEFAULT_CONCURRENCY"]

#: Reads in flight at once by default: enough to overlap uploads and OCR, few enough not to
#: trip a paid resource's rate limit on the first burst.
DEFAULT_CONCURRENCY = 4

InputT = TypeVar("InputT")


class ReadOptions(TypedDict):
    """The per-document options of ``read`` that a batch applies to every document."""

    pages: str | Sequence[str] | None
    language: str | None
    reading_order: str | None
    model_version: str | None


@dataclass(frozen=True, slots=True)
class BatchItem(Generic[InputT]):
    """The outcome of one document of ``read_many``: which input it was, and its result or
    the error that stopped it (exactly one of the two is set).

    Attributes:
        index: the document's position in the input (items arrive in completion order).
        document: the input exactly as given (path, bytes, file object).
        result: the :class:`~ocr_sdk.ReadResult` when the read succeeded, else ``None``.
        error: the exception when it failed, else ``None``: an :class:`~ocr_sdk.OcrError`
            from the service (``.code`` says why), or e.g. ``FileNotFoundError``.
    """

    index: int
    document: InputT
    result: ReadResult | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the document was read."""
        return self.error is None

    def unwrap(self) -> ReadResult:
        """The result, or raise the error."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def check_concurrency(concurrency: int) -> int:
    """Validate ``concurrency`` (a positive integer) and return it."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive integer, not {concurrency!r}")
    return concurrency


class RateGate:
    """Shared by the workers of one batch: after a 429, no worker submits a document before
    the service's ``Retry-After`` has passed.

    The retry policy already waits ``Retry-After`` before resending the request that was
    refused; without the gate the other workers would keep sending new documents into the
    limit, each earning its own 429 and using up its retries. Times are monotonic seconds.
    Thread-safe, and I/O-free: callers sleep for :meth:`delay` themselves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._not_before = float("-inf")

    def delay(self, now: float) -> float:
        """Seconds to wait from ``now`` before the next submission."""
        with self._lock:
            return max(self._not_before - now, 0.0)

    def observe(self, error: OcrError, now: float) -> None:
        """Note a failed attempt; a 429 with ``Retry-After`` closes the gate until then."""
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            with self._lock:
                self._not_before = max(self._not_before, now + error.retry_after)
