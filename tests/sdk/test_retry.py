"""Retry decisions (pure) and their effect on the wire, with waits recorded by a fake clock."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from pytest_httpx import HTTPXMock

from ocr_sdk import (
    AsyncOcrClient,
    InvalidRequestError,
    OcrClient,
    OcrConnectionError,
    OcrError,
    RateLimitError,
    RetryPolicy,
    ServiceError,
)
from ocr_sdk._retry import parse_retry_after

from .conftest import OPERATION_ID, OPERATION_LOCATION, FakeClock, resolve

MakeClient = Callable[..., OcrClient | AsyncOcrClient]
EXACT = RetryPolicy(jitter=0)  # deterministic backoff: 0.5, 1, 2


def status_error(status: int, retry_after: float | None = None) -> OcrError:
    return OcrError("x", status_code=status, retry_after=retry_after)


def connection_error(cause: Exception) -> OcrConnectionError:
    error = OcrConnectionError("x")
    error.__cause__ = cause
    return error


# --- the pure policy --------------------------------------------------------------------------


def test_defaults() -> None:
    policy = RetryPolicy()
    assert (policy.max_retries, policy.initial_backoff, policy.max_backoff) == (3, 0.5, 8.0)
    assert (policy.jitter, policy.max_retry_after) == (0.25, 60.0)
    assert policy.retry_statuses == {408, 429, 500, 502, 503, 504}
    assert policy.post_retry_statuses == {408, 429, 503}


def test_policy_is_frozen() -> None:
    with pytest.raises(AttributeError):
        RetryPolicy().max_retries = 9  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"jitter": 1.5},
        {"initial_backoff": -1},
        {"max_retry_after": -2},
        {"retry_budget": -1},
    ],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_get_retries_transient_statuses(status: int) -> None:
    assert RetryPolicy().should_retry(status_error(status), 1, idempotent=True)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 415, 422, 501, 505, 302])
def test_other_statuses_are_never_retried(status: int) -> None:
    policy = RetryPolicy()
    assert not policy.should_retry(status_error(status), 1, idempotent=True)
    assert not policy.should_retry(status_error(status), 1, idempotent=False)


@pytest.mark.parametrize(
    ("status", "retried"),
    [(408, True), (429, True), (503, True), (500, False), (502, False), (504, False)],
)
def test_post_retries_only_where_no_operation_can_exist(status: int, retried: bool) -> None:
    assert RetryPolicy().should_retry(status_error(status), 1, idempotent=False) is retried


@pytest.mark.parametrize(
    ("cause", "post_retried"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ConnectTimeout("slow"), True),
        (httpx.PoolTimeout("busy"), True),
        (httpx.ReadTimeout("slow"), False),
        (httpx.RemoteProtocolError("reset"), False),
        (httpx.WriteError("broken pipe"), False),
    ],
)
def test_connection_errors(cause: Exception, post_retried: bool) -> None:
    policy = RetryPolicy()
    assert policy.should_retry(connection_error(cause), 1, idempotent=True)
    assert policy.should_retry(connection_error(cause), 1, idempotent=False) is post_retried


def test_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_retries=2)
    error = status_error(503)
    assert [policy.should_retry(error, n, idempotent=True) for n in (1, 2, 3)] == [
        True,
        True,
        False,
    ]
    assert not RetryPolicy(max_retries=0).should_retry(error, 1, idempotent=True)


def test_a_full_queue_is_waited_out_within_the_budget_not_the_attempt_count() -> None:
    policy = RetryPolicy(max_retries=1, retry_budget=10)
    full = status_error(429, retry_after=3)
    # Past max_retries, a 429 with Retry-After is still waited out while the budget lasts...
    assert policy.should_retry(full, 5, idempotent=False, waited=7)
    # ...and not once the wait would take this request past it.
    assert not policy.should_retry(full, 1, idempotent=False, waited=7.5)
    assert policy.should_retry(status_error(503, retry_after=2), 9, idempotent=True, waited=8)
    # Without Retry-After, the attempt count decides, whatever the budget.
    assert not policy.should_retry(status_error(429), 2, idempotent=False, waited=0)
    assert not policy.should_retry(status_error(500), 2, idempotent=True, waited=0)
    assert not RetryPolicy(max_retries=0, retry_budget=0).should_retry(full, 1, idempotent=True)


def test_backpressure_retries_do_not_use_up_the_attempts_for_other_failures() -> None:
    """Through tenacity: 429s with Retry-After, then 503s without; the 503s still get their
    max_retries."""
    from ocr_sdk._retry import build_retrying

    errors = [status_error(429, retry_after=1)] * 5 + [status_error(503)] * 2
    calls: list[int] = []
    waits: list[float] = []

    def attempt() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "done"

    retrying = build_retrying(
        RetryPolicy(max_retries=2, jitter=0), idempotent=True, sleep=waits.append, description="t"
    )
    assert retrying(attempt) == "done"
    assert len(calls) == 8
    assert waits == [1.0] * 5 + [0.5, 1.0]


def test_non_sdk_errors_are_not_retried() -> None:
    assert not RetryPolicy().should_retry(RuntimeError("bug"), 1, idempotent=True)
    assert not RetryPolicy().should_retry(OcrError("no status"), 1, idempotent=True)


def test_retry_after_above_the_cap_stops_retrying() -> None:
    policy = RetryPolicy(max_retry_after=10)
    assert policy.should_retry(status_error(429, retry_after=10), 1, idempotent=True)
    assert not policy.should_retry(status_error(429, retry_after=10.5), 1, idempotent=True)
    assert not policy.should_retry(status_error(503, retry_after=11), 1, idempotent=False)


def test_wait_is_exponential_and_capped() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=3.0, jitter=0)
    assert [policy.wait(None, n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_only_shortens_the_wait() -> None:
    policy = RetryPolicy(initial_backoff=2.0, jitter=0.25)
    assert policy.wait(None, 1, sample=0.0) == 2.0
    assert policy.wait(None, 1, sample=0.5) == 1.75
    assert policy.wait(None, 1, sample=0.999) == pytest.approx(1.5005)


def test_retry_after_wins_exactly_without_jitter() -> None:
    policy = RetryPolicy(jitter=1.0)
    assert policy.wait(status_error(429, retry_after=3.0), 1, sample=0.9) == 3.0
    assert policy.wait(status_error(503, retry_after=0.0), 4, sample=0.9) == 0.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-4", 0.0),
        ("Sat, 28 Nov 2026 10:00:30 GMT", 30.0),
        ("Sat, 28 Nov 2026 10:00:30 -0000", 30.0),
        ("Sat, 28 Nov 2026 09:59:00 GMT", 0.0),  # in the past
        ("soon", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    now = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after(value, now=now) == seconds


# --- on the wire ------------------------------------------------------------------------------


async def test_get_retries_with_exponential_backoff(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    for status in (503, 500, 502):
        httpx_mock.add_response(method="GET", status_code=status)
    httpx_mock.add_response(method="GET", json={"status": "running"})
    result = await resolve(make_client(retry=EXACT).get_read_result(OPERATION_ID))
    assert result.status == "running"
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert len(httpx_mock.get_requests()) == 4


async def test_jittered_waits_stay_within_bounds(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    for _ in range(3):
        httpx_mock.add_response(method="GET", status_code=504)
    httpx_mock.add_response(method="GET", json={"status": "running"})
    await resolve(make_client().get_read_result(OPERATION_ID))
    for wait, full in zip(clock.sleeps, [0.5, 1.0, 2.0], strict=True):
        assert 0.75 * full <= wait <= full


async def test_exhausted_retries_raise_the_last_error(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    for _ in range(3):
        httpx_mock.add_response(
            method="GET", status_code=503, json={"code": "Busy", "message": "m"}
        )
    with pytest.raises(ServiceError) as info:
        await resolve(make_client(retry=RetryPolicy(max_retries=2, jitter=0)).get_read_result("x"))
    assert info.value.code == "Busy"
    assert clock.sleeps == [0.5, 1.0]


async def test_retry_after_seconds_is_honoured_exactly(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    httpx_mock.add_response(
        method="GET",
        status_code=429,
        headers={"Retry-After": "7"},
        json={"error": {"code": "429", "message": "slow down"}},
    )
    httpx_mock.add_response(method="GET", status_code=503, headers={"Retry-After": "2"})
    httpx_mock.add_response(method="GET", json={"status": "running"})
    await resolve(make_client().get_read_result(OPERATION_ID))
    assert clock.sleeps == [7.0, 2.0]


async def test_retry_after_http_date_is_honoured_exactly(
    httpx_mock: HTTPXMock,
    make_client: MakeClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
    monkeypatch.setattr("ocr_sdk._retry.wall_clock", now.timestamp)
    later = format_datetime(datetime(2026, 11, 28, 10, 0, 12, tzinfo=UTC), usegmt=True)
    httpx_mock.add_response(method="GET", status_code=429, headers={"Retry-After": later})
    httpx_mock.add_response(method="GET", json={"status": "running"})
    await resolve(make_client().get_read_result(OPERATION_ID))
    assert clock.sleeps == [12.0]


async def test_retry_after_above_the_cap_raises_rate_limit_at_once(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    httpx_mock.add_response(
        method="POST",
        status_code=429,
        headers={"Retry-After": "3600", "apim-request-id": "rid"},
        json={"error": {"code": "429", "message": "quota exhausted"}},
    )
    client = make_client(retry=RetryPolicy(max_retry_after=60))
    with pytest.raises(RateLimitError) as info:
        await resolve(client.begin_read(b"x"))
    assert info.value.retry_after == 3600.0
    assert (info.value.code, info.value.request_id) == ("429", "rid")
    assert clock.sleeps == []
    assert len(httpx_mock.get_requests()) == 1


async def test_rate_limit_without_retry_after_backs_off_then_raises(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    for _ in range(2):
        httpx_mock.add_response(method="GET", status_code=429)
    with pytest.raises(RateLimitError) as info:
        await resolve(make_client(retry=RetryPolicy(max_retries=1, jitter=0)).get_read_result("x"))
    assert info.value.retry_after is None
    assert clock.sleeps == [0.5]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_no_retry_on_400(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock, method: str
) -> None:
    httpx_mock.add_response(
        method=method, status_code=400, json={"code": "InvalidImageFormat", "message": "bad"}
    )
    client = make_client()
    with pytest.raises(InvalidRequestError):
        if method == "POST":
            await resolve(client.begin_read(b"x"))
        else:
            await resolve(client.get_read_result(OPERATION_ID))
    assert clock.sleeps == []
    assert len(httpx_mock.get_requests()) == 1


async def test_post_503_is_retried_and_the_body_resent(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    httpx_mock.add_response(method="POST", status_code=503, headers={"Retry-After": "1"})
    httpx_mock.add_response(
        method="POST", status_code=202, headers={"Operation-Location": OPERATION_LOCATION}
    )
    file = io.BytesIO(b"prefix-document-bytes")
    file.seek(7)
    poller = await resolve(make_client().begin_read(file))
    assert poller.operation_id == OPERATION_ID
    assert [r.content for r in httpx_mock.get_requests()] == [b"document-bytes"] * 2
    assert clock.sleeps == [1.0]


async def test_post_500_is_not_retried(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    httpx_mock.add_response(method="POST", status_code=500)
    with pytest.raises(ServiceError):
        await resolve(make_client().begin_read_url("https://example.com/a.png"))
    assert clock.sleeps == []
    assert len(httpx_mock.get_requests()) == 1


async def test_get_connection_errors_are_retried(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("slow"))
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    httpx_mock.add_response(method="GET", json={"status": "running"})
    await resolve(make_client(retry=EXACT).get_read_result(OPERATION_ID))
    assert clock.sleeps == [0.5, 1.0]


async def test_post_connect_error_is_retried_but_read_timeout_is_not(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    httpx_mock.add_exception(httpx.ReadTimeout("no answer"))
    client = make_client(retry=EXACT)
    with pytest.raises(OcrConnectionError) as info:
        await resolve(client.begin_read(b"x"))
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert clock.sleeps == [0.5]


async def test_a_stream_that_cannot_rewind_is_sent_once(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = io.BytesIO(b"streamed")

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    httpx_mock.add_response(method="POST", status_code=503)
    with pytest.raises(ServiceError):
        await resolve(make_client().begin_read(Pipe()))  # type: ignore[arg-type]
    assert [r.content for r in httpx_mock.get_requests()] == [b"streamed"]
    assert clock.sleeps == []


async def test_a_path_is_reopened_for_each_attempt(
    httpx_mock: HTTPXMock, make_client: MakeClient, tmp_path: Path
) -> None:
    path = tmp_path / "doc.png"
    path.write_bytes(b"pixels")
    httpx_mock.add_response(method="POST", status_code=429, headers={"Retry-After": "0"})
    httpx_mock.add_response(
        method="POST", status_code=202, headers={"Operation-Location": OPERATION_LOCATION}
    )
    await resolve(make_client().begin_read(path))
    assert [r.content for r in httpx_mock.get_requests()] == [b"pixels", b"pixels"]
