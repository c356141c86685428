"""Retry policy: two pure decisions (should I retry? how long do I wait?) and tenacity glue.

The policy never sleeps and never sends; :func:`build_retrying` and
:func:`build_async_retrying` turn it into tenacity ``Retrying`` / ``AsyncRetrying`` objects
whose ``sleep`` is injected by the client, so tests check timings without waiting.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING

from ._exceptions import OcrConnectionError, OcrError

if TYPE_CHECKING:
    # tenacity is imported when the first request is sent, not by ``import ocr_sdk``: its
    # package imports tornado's integration whenever tornado is installed (about 80 ms).
    from tenacity import AsyncRetrying, RetryCallState, Retrying

__all__ = [
    "RetryPolicy",
    "parse_retry_after",
    "build_retrying",
    "build_async_retrying",
]

logger = logging.getLogger("ocr_sdk")

#: Statuses the issue lists as transient: timeout, throttled, and server/gateway trouble.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Of those, the ones where the service has certainly not created an operation, so a POST
#: can be sent again without starting a second (billed) Read job.
POST_RETRY_STATUSES = frozenset({408, 429, 503})

#: The statuses whose ``Retry-After`` is the service pacing its clients (rate limit, full
#: queue, not ready yet): waited out within :attr:`RetryPolicy.retry_budget`.
_BACKPRESSURE_STATUSES = frozenset({429, 503})

#: Where a tenacity call state keeps how many of its retries were backpressure.
_BACKPRESSURE_RETRIES = "_ocr_backpressure_retries"


#: The connection failures that sending again cannot mend: they come from how the client is
#: set up (the scheme, the trusted CAs), so they are raised at once instead of retried.
_SETUP_REASONS = frozenset({"certificate", "not_tls", "tls"})


def _not_sent(error: BaseException | None) -> bool:
    """True for the transport errors raised before any byte of the request reached the
    server: connect errors and timeouts, and no free connection in the pool."""
    import httpx  # loaded by now: only a client raises OcrConnectionError from an httpx error

    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to retry a failed request. Immutable; share it freely.

    Defaults:

    * ``max_retries=3``: up to 3 retries of failures that come without ``Retry-After``
      (5xx, 408, transport errors).
    * ``retry_budget=120.0`` s: a 429 or 503 *with* ``Retry-After`` is the service saying
      when to come back (its rate limit, or its job queue full), so it is waited out as often
      as it comes, while the time this request has waited in all, that wait included, stays
      within the budget; such retries do not count against ``max_retries``. Ten clients
      submitting into a queue of four all get their documents read instead of giving up
      after three tries.
    * ``initial_backoff=0.5`` s, doubling per retry, at most ``max_backoff=8.0`` s, each
      reduced by up to ``jitter=0.25`` (25 %) at random so that clients do not retry in step.
    * ``max_retry_after=60.0`` s: a ``Retry-After`` (seconds or HTTP date) up to this is
      honoured exactly; a longer one ends retrying at once with the error
      (``RateLimitError`` for 429) rather than blocking for that long.
    * GET (polling) is retried on 408, 429, 500, 502, 503, 504 and on every transport error
      but those of the client's own set-up (an untrusted certificate, ``https://`` to a plain
      server, no common TLS version), which no retry mends and which are raised at once.
    * POST (submitting a document) is retried only where the service cannot have created
      an operation: 408, 429, 503, and connection errors that happen before the request is
      sent. A 500/502/504 or a connection lost mid-request may have started a job, and a
      blind retry would start a second one, so those are raised instead.
    * Other 4xx are never retried.

    ``RetryPolicy(max_retries=0, retry_budget=0)`` turns retries off.
    """

    max_retries: int = 3
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    retry_budget: float = 120.0
    retry_statuses: frozenset[int] = field(default=RETRY_STATUSES)
    post_retry_statuses: frozenset[int] = field(default=POST_RETRY_STATUSES)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if min(self.initial_backoff, self.max_backoff, self.max_retry_after, self.retry_budget) < 0:
            raise ValueError("backoff, max_retry_after and retry_budget must be >= 0")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def should_retry(
        self, error: BaseException, attempt: int, *, idempotent: bool, waited: float = 0.0
    ) -> bool:
        """Whether to send again after a failure with ``error``.

        ``attempt`` counts this request's failures without ``Retry-After`` so far (1-based),
        the ones ``max_retries`` limits; ``waited`` is the seconds already spent waiting
        before its retries, which ``retry_budget`` limits for failures with ``Retry-After``
        (:meth:`is_backpressure`). ``idempotent`` is true for GET; false for POST, which is
        retried only when the service certainly did not start an operation.
        """
        if isinstance(error, OcrConnectionError):
            if error.reason in _SETUP_REASONS:
                return False
            cause = error.__cause__
            return attempt <= self.max_retries and (idempotent or _not_sent(cause))
        if not isinstance(error, OcrError) or error.status_code is None:
            return False
        statuses = self.retry_statuses if idempotent else self.post_retry_statuses
        if error.status_code not in statuses:
            return False
        if error.retry_after is None:
            return attempt <= self.max_retries
        # A long Retry-After means "not soon": tell the caller now instead of blocking.
        if error.retry_after > self.max_retry_after:
            return False
        if self.is_backpressure(error):
            return waited + error.retry_after <= self.retry_budget
        return attempt <= self.max_retries

    @staticmethod
    def is_backpressure(error: BaseException) -> bool:
        """True for a 429 or 503 with ``Retry-After``: the service says when to come back."""
        return (
            isinstance(error, OcrError)
            and error.status_code in _BACKPRESSURE_STATUSES
            and error.retry_after is not None
        )

    def wait(self, error: BaseException | None, attempt: int, sample: float = 0.0) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based).

        The server's ``Retry-After`` wins and is used exactly. Otherwise
        ``min(initial_backoff * 2 ** (attempt - 1), max_backoff)``, reduced by
        ``jitter * sample``; ``sample`` is a uniform draw in [0, 1) supplied by the caller so
        that this function stays pure.
        """
        retry_after = error.retry_after if isinstance(error, OcrError) else None
        if retry_after is not None:
            return retry_after
        backoff = min(self.initial_backoff * 2.0 ** (attempt - 1), self.max_backoff)
        return backoff * (1 - self.jitter * sample)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date.

    ``now`` is the current Unix time (for the date form). A date in the past gives 0;
    an unparseable value gives ``None``.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is not a wait
    from email.utils import parsedate_to_datetime  # only for the rare HTTP-date form

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses as naive, but HTTP dates are always UTC
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - now, 0.0)


#: Millisecond hints, preferred to ``Retry-After`` in azure-core's order: a service that knows
#: a job ends in 300 ms cannot say so in whole seconds.
RETRY_AFTER_MS_HEADERS = ("retry-after-ms", "x-ms-retry-after-ms")


def poll_hint(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds the server asks a poller to wait: ``retry-after-ms`` or ``x-ms-retry-after-ms``
    (milliseconds) if present and valid, else ``Retry-After``; ``None`` without a hint."""
    for name in RETRY_AFTER_MS_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        try:
            millis = float(value.strip())
        except ValueError:
            continue
        if millis == millis and millis >= 0:  # NaN and negatives are not waits
            return millis / 1000.0
    return parse_retry_after(headers.get("retry-after"), now=now)


def wall_clock() -> float:
    """Current Unix time; a function so tests can pin it."""
    return time.time()


def _retry_predicate(policy: RetryPolicy, idempotent: bool) -> Callable[[RetryCallState], bool]:
    def predicate(state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        error = outcome.exception()
        assert error is not None
        paced: int = getattr(state, _BACKPRESSURE_RETRIES, 0)
        backpressure = policy.is_backpressure(error)
        counted = state.attempt_number - paced - (1 if backpressure else 0)
        retry = policy.should_retry(
            error, max(counted, 1), idempotent=idempotent, waited=state.idle_for
        )
        if retry and backpressure:
            setattr(state, _BACKPRESSURE_RETRIES, paced + 1)
        return retry

    return predicate


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        # Backoff grows with the failures max_retries counts, not with waits the service paced.
        counted = state.attempt_number - getattr(state, _BACKPRESSURE_RETRIES, 0)
        return policy.wait(error, max(counted, 1), random.random())  # noqa: S311

    return wait


def _log_retry(description: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        # `description` is method and URL only: the key travels in a header, never here.
        logger.info(
            "Retrying %s in %.2f s (attempt %d): %s",
            description,
            delay,
            state.attempt_number + 1,
            error,
        )

    return before_sleep


def build_retrying(
    policy: RetryPolicy,
    *,
    idempotent: bool,
    sleep: Callable[[float], None],
    description: str,
) -> Retrying:
    """A tenacity ``Retrying`` that follows ``policy`` and sleeps with ``sleep``."""
    from tenacity import Retrying, stop_never

    return Retrying(
        retry=_retry_predicate(policy, idempotent),
        wait=_wait(policy),
        stop=stop_never,  # should_retry already counts attempts
        sleep=sleep,
        before_sleep=_log_retry(description),
        reraise=True,
    )


def build_async_retrying(
    policy: RetryPolicy,
    *,
    idempotent: bool,
    sleep: Callable[[float], Awaitable[None]],
    description: str,
) -> AsyncRetrying:
    """A tenacity ``AsyncRetrying`` that follows ``policy`` and sleeps with ``sleep``."""
    from tenacity import AsyncRetrying, stop_never

    return AsyncRetrying(
        retry=_retry_predicate(policy, idempotent),
        wait=_wait(policy),
        stop=stop_never,
        sleep=sleep,
        before_sleep=_log_retry(description),
        reraise=True,
    )
