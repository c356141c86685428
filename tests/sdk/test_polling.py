"""Pollers: intervals, Retry-After, timeouts and resuming, failure, sync and async."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from ocr_sdk import (
    AsyncOcrClient,
    AsyncReadPoller,
    NotFoundError,
    OcrClient,
    OperationFailedError,
    OperationStatus,
    PollingTimeoutError,
    ReadOperationResult,
    ReadPoller,
    ReadResult,
    RetryPolicy,
)
from ocr_sdk._polling import PollingState

from .conftest import OPERATION_ID, OPERATION_LOCATION, RESULT_URL, FakeClock, resolve

MakeClient = Callable[..., OcrClient | AsyncOcrClient]
RUNNING = {"status": "running", "createdDateTime": "2026-11-28T10:00:00Z"}


def accept(httpx_mock: HTTPXMock, headers: dict[str, str] | None = None) -> None:
    httpx_mock.add_response(
        method="POST",
        status_code=202,
        headers={"Operation-Location": OPERATION_LOCATION, **(headers or {})},
    )


def poll(
    httpx_mock: HTTPXMock, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    httpx_mock.add_response(method="GET", url=RESULT_URL, json=body, headers=headers or {})


# --- sans-I/O state ---------------------------------------------------------------------------


def test_state_decisions() -> None:
    state = PollingState("op", polling_interval=1.0, next_poll_at=10.0)
    assert state.status() == OperationStatus.NOT_STARTED and not state.done()
    assert state.delay(9.5) == 0.5 and state.delay(11.0) == 0.0
    assert state.may_poll(9.0, deadline=None)
    assert state.may_poll(9.0, deadline=10.0) and not state.may_poll(9.0, deadline=9.9)
    state.update(ReadOperationResult(status="running"), retry_after=None, now=10.0)
    assert state.next_poll_at == 10.25 and not state.done()  # first unhinted wait: 1/4
    state.update(ReadOperationResult(status="running"), retry_after=4.0, now=11.0)
    assert state.next_poll_at == 15.0
    state.update(ReadOperationResult(status="succeeded"), retry_after=None, now=15.0)
    assert state.done() and isinstance(state.outcome(), ReadResult)


@pytest.mark.parametrize("status", ["failed", "canceled"])
def test_failed_and_unknown_statuses_are_terminal_failures(status: str) -> None:
    state = PollingState("op", polling_interval=1.0, next_poll_at=0.0)
    state.update(ReadOperationResult(status=status), retry_after=None, now=0.0)
    assert state.done()
    with pytest.raises(OperationFailedError, match=status) as info:
        state.outcome()
    assert info.value.operation_id == "op"
    assert info.value.result is not None and info.value.result.status == status


def test_no_status_yet_counts_as_not_started() -> None:
    state = PollingState("op", polling_interval=1.0, next_poll_at=0.0)
    state.update(ReadOperationResult(), retry_after=None, now=0.0)
    assert state.status() == "notStarted" and not state.done()


# --- on the wire ------------------------------------------------------------------------------


async def test_read_polls_at_the_interval_until_done(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock, example_body: dict[str, Any]
) -> None:
    accept(httpx_mock)
    poll(httpx_mock, {"status": "notStarted"})
    poll(httpx_mock, RUNNING)
    poll(httpx_mock, example_body)
    result = await resolve(make_client(polling_interval=0.25).read(b"img"))
    assert isinstance(result, ReadResult)
    assert result.operation_id == OPERATION_ID
    assert result.text.startswith("Our greatest glory is not\nbut in rising")
    assert [page.page for page in result.pages] == [1, 2]
    assert result.pages[0].lines[0].words[0].text == "Our"
    # One wait before the first poll (it would only see notStarted), then one per poll;
    # without a hint they start at a quarter of the interval and double up to it.
    assert clock.sleeps == [0.0625, 0.125, 0.25]


async def test_default_interval_is_one_second(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock, example_body: dict[str, Any]
) -> None:
    accept(httpx_mock)
    poll(httpx_mock, RUNNING)
    poll(httpx_mock, example_body)
    client = make_client()
    assert client.polling_interval == 1.0
    await resolve(client.read(b"img"))
    assert clock.sleeps == [0.25, 0.5]


async def test_retry_after_on_polls_and_on_the_202_is_honoured(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock, example_body: dict[str, Any]
) -> None:
    accept(httpx_mock, headers={"Retry-After": "3"})
    poll(httpx_mock, RUNNING, headers={"Retry-After": "5"})
    poll(httpx_mock, RUNNING)
    poll(httpx_mock, example_body)
    result = await resolve(make_client(polling_interval=0.5).read_url("https://example.com/a.png"))
    assert result.pages
    assert clock.sleeps == [3.0, 5.0, 0.125]  # the unhinted wait starts the backoff


def test_unhinted_waits_back_off_to_the_interval_and_hints_do_not_count() -> None:
    state = PollingState("op", polling_interval=2.0, next_poll_at=0.0)
    waits = [state.wait_after(None), state.wait_after(3.0), state.wait_after(None)]
    waits += [state.wait_after(None) for _ in range(3)]
    assert waits == [0.5, 3.0, 1.0, 2.0, 2.0, 2.0]


async def test_millisecond_hints_win_over_retry_after(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock, example_body: dict[str, Any]
) -> None:
    accept(httpx_mock, headers={"retry-after-ms": "40", "Retry-After": "1"})
    poll(httpx_mock, RUNNING, headers={"x-ms-retry-after-ms": "250"})
    # A malformed millisecond hint is ignored; Retry-After still counts.
    poll(httpx_mock, RUNNING, headers={"retry-after-ms": "soon", "Retry-After": "2"})
    poll(httpx_mock, example_body)
    await resolve(make_client().read(b"img"))
    assert clock.sleeps == pytest.approx([0.04, 0.25, 2.0])


async def test_poller_status_and_done_send_nothing(
    httpx_mock: HTTPXMock, make_client: MakeClient, example_body: dict[str, Any]
) -> None:
    accept(httpx_mock)
    poll(httpx_mock, example_body)
    poller = await resolve(make_client().begin_read(b"img"))
    assert isinstance(poller, ReadPoller | AsyncReadPoller)
    assert (poller.status(), poller.done()) == ("notStarted", False)
    assert len(httpx_mock.get_requests()) == 1
    await resolve(poller.wait())
    assert (poller.status(), poller.done()) == ("succeeded", True)
    assert OPERATION_ID in repr(poller) and "succeeded" in repr(poller)
    # Done: result() answers from the last poll without another request.
    first = await resolve(poller.result())
    second = await resolve(poller.result())
    assert first == second and len(httpx_mock.get_requests()) == 2


async def test_timeout_then_resume_on_the_same_poller(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock, example_body: dict[str, Any]
) -> None:
    accept(httpx_mock)
    poll(httpx_mock, RUNNING)
    poll(httpx_mock, RUNNING)
    poller = await resolve(make_client().begin_read(b"img"))
    with pytest.raises(PollingTimeoutError) as info:
        await resolve(poller.result(timeout=1.5))
    # Polls at +0.25 and +0.75; the next (+1.75) would fall after the deadline, so it stops.
    assert clock.sleeps == [0.25, 0.5]
    assert (info.value.operation_id, info.value.status) == (OPERATION_ID, "running")
    assert "resume_read" in str(info.value)
    assert not poller.done() and poller.status() == "running"

    poll(httpx_mock, example_body)
    result = await resolve(poller.result())
    assert result.operation_id == OPERATION_ID
    assert clock.sleeps == [0.25, 0.5, 1.0]


async def test_resume_read_from_another_client(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock, example_body: dict[str, Any]
) -> None:
    accept(httpx_mock)
    poll(httpx_mock, RUNNING)
    first = make_client()
    poller = await resolve(first.begin_read(b"img"))
    with pytest.raises(PollingTimeoutError):
        await resolve(poller.result(timeout=0.5))  # one poll at +0.25, the next is at +0.75
    await resolve(first.close())

    poll(httpx_mock, example_body)
    resumed = await resolve(make_client().resume_read(poller.operation_id))
    assert resumed.operation_id == OPERATION_ID and resumed.status() == "notStarted"
    sleeps_before = list(clock.sleeps)
    result = await resolve(resumed.result())
    assert result.text.splitlines()[0] == "Our greatest glory is not"
    assert clock.sleeps == sleeps_before  # a resumed poller polls at once


async def test_wait_zero_polls_once_and_returns(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    poll(httpx_mock, RUNNING, headers={"Retry-After": "2"})
    poller = await resolve(make_client().resume_read(OPERATION_ID))
    assert await resolve(poller.wait(0)) is None
    assert poller.status() == "running" and len(httpx_mock.get_requests()) == 1
    # The server asked for 2 s; an immediate second wait(0) must not poll again.
    await resolve(poller.wait(0))
    assert len(httpx_mock.get_requests()) == 1 and clock.sleeps == []


async def test_timeout_zero_before_the_first_poll_raises_without_a_request(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    accept(httpx_mock)
    poller = await resolve(make_client().begin_read(b"img"))
    with pytest.raises(PollingTimeoutError) as info:
        await resolve(poller.result(timeout=0))
    assert info.value.status == "notStarted"
    assert len(httpx_mock.get_requests()) == 1 and clock.sleeps == []


async def test_failed_status_raises_operation_failed(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    accept(httpx_mock)
    poll(httpx_mock, {"status": "failed", "lastUpdatedDateTime": "2026-11-28T10:00:01Z"})
    with pytest.raises(OperationFailedError) as info:
        await resolve(make_client().read(b"img"))
    assert info.value.operation_id == OPERATION_ID
    assert info.value.result is not None
    assert info.value.result.last_updated_date_time == "2026-11-28T10:00:01Z"


async def test_read_timeout_argument_is_passed_to_the_poller(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock
) -> None:
    accept(httpx_mock)
    with pytest.raises(PollingTimeoutError):
        await resolve(make_client().read(b"img", timeout=0.2))  # the first poll is at +0.25
    assert clock.sleeps == []


async def test_expired_operation_during_polling_is_not_found(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    httpx_mock.add_response(
        method="GET",
        status_code=404,
        json={"code": "NotFound", "message": "Operation not found."},
    )
    poller = await resolve(make_client().resume_read("expired-op"))
    with pytest.raises(NotFoundError):
        await resolve(poller.result())


async def test_polls_are_retried_on_transient_errors(
    httpx_mock: HTTPXMock, make_client: MakeClient, clock: FakeClock, example_body: dict[str, Any]
) -> None:
    httpx_mock.add_response(method="GET", status_code=503, headers={"Retry-After": "4"})
    poll(httpx_mock, example_body)
    poller = await resolve(make_client(retry=RetryPolicy(jitter=0)).resume_read(OPERATION_ID))
    await resolve(poller.result())
    assert clock.sleeps == [4.0]


async def test_async_poller_is_awaitable(
    httpx_mock: HTTPXMock, clock: FakeClock, example_body: dict[str, Any]
) -> None:
    accept(httpx_mock)
    poll(httpx_mock, example_body)
    async with AsyncOcrClient("https://ocr.example.com", "k", sleep=clock.async_sleep) as client:
        client._clock = clock.monotonic
        poller = await client.begin_read(b"img")
        result = await poller
    assert isinstance(result, ReadResult) and result.pages


async def test_resume_read_refuses_an_empty_id(make_client: MakeClient) -> None:
    with pytest.raises(ValueError):
        await resolve(make_client().resume_read(""))
