"""``read_many`` on both clients against pytest-httpx: results in completion order, each
naming its input; a failure stays with its document; 429s are honoured batch-wide."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from ocr_sdk import (
    AsyncOcrClient,
    BatchItem,
    InvalidRequestError,
    OcrClient,
    RateLimitError,
    ReadResult,
)
from ocr_sdk._batch import RateGate, check_concurrency

from .conftest import BASE, ENDPOINT, KEY, succeeded_body

MakeClient = Callable[..., OcrClient | AsyncOcrClient]


async def collect(iterator: Iterator[BatchItem[Any]] | AsyncIterator[BatchItem[Any]]) -> list[Any]:
    if isinstance(iterator, Iterator):
        return list(iterator)
    return [item async for item in iterator]


class FakeService:
    """Answers POSTs with an operation named after the body, and GETs with success; records
    when each document's POST arrived (monotonic seconds)."""

    def __init__(self, httpx_mock: HTTPXMock) -> None:
        self.posts: list[tuple[str, float]] = []
        self.refuse: dict[str, httpx.Response] = {}  # once each
        self.always_refuse: dict[str, httpx.Response] = {}
        httpx_mock.add_callback(self.post, method="POST", is_reusable=True)
        httpx_mock.add_callback(self.get, method="GET", is_reusable=True, is_optional=True)

    def post(self, request: httpx.Request) -> httpx.Response:
        name = request.content.decode()
        self.posts.append((name, time.monotonic()))
        if name in self.always_refuse:
            return self.always_refuse[name]
        if name in self.refuse:
            return self.refuse.pop(name)
        location = f"{BASE}/read/analyzeResults/op-{name}"
        return httpx.Response(202, headers={"Operation-Location": location})

    def get(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=succeeded_body())


@pytest.fixture
def service(httpx_mock: HTTPXMock) -> FakeService:
    return FakeService(httpx_mock)


async def test_every_document_is_read_and_names_its_input(
    service: FakeService, make_client: MakeClient
) -> None:
    documents = [b"a", b"b", b"c", b"d", b"e"]
    items = await collect(make_client().read_many(documents, concurrency=3))
    assert sorted(item.index for item in items) == [0, 1, 2, 3, 4]
    for item in items:
        assert item.ok and item.error is None
        assert item.document is documents[item.index]
        assert isinstance(item.unwrap(), ReadResult)
        assert item.unwrap().operation_id == f"op-{documents[item.index].decode()}"
    assert sorted(name for name, _ in service.posts) == ["a", "b", "c", "d", "e"]


async def test_read_options_apply_to_every_document(
    service: FakeService, make_client: MakeClient, httpx_mock: HTTPXMock
) -> None:
    client = make_client()
    await collect(
        client.read_many([b"a", b"b"], pages=["1", "3-"], language="en", reading_order="natural")
    )
    posts = [r for r in httpx_mock.get_requests() if r.method == "POST"]
    assert len(posts) == 2
    for request in posts:
        assert request.url.query == b"language=en&pages=1,3-&readingOrder=natural"


async def test_one_failure_does_not_stop_the_others(
    service: FakeService, make_client: MakeClient, tmp_path: Any
) -> None:
    service.refuse["bad"] = httpx.Response(
        400, json={"code": "InvalidImageFormat", "message": "not an image"}
    )
    missing = tmp_path / "missing.png"
    documents: list[Any] = [b"good-1", b"bad", missing, b"good-2"]
    items = {item.index: item for item in await collect(make_client().read_many(documents))}
    assert [items[i].ok for i in range(4)] == [True, False, False, True]
    assert isinstance(items[1].error, InvalidRequestError)
    assert items[1].error.code == "InvalidImageFormat"
    assert items[1].result is None
    assert isinstance(items[2].error, FileNotFoundError)
    assert items[2].document is missing
    with pytest.raises(InvalidRequestError):
        items[1].unwrap()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_concurrency_must_be_a_positive_integer(make_client: MakeClient, bad: Any) -> None:
    # Checked when called, not when first iterated, on both clients.
    with pytest.raises(ValueError, match="concurrency"):
        make_client().read_many([b"a"], concurrency=bad)


async def test_inputs_are_taken_lazily(service: FakeService, make_client: MakeClient) -> None:
    pulled: list[int] = []

    def documents() -> Iterable[bytes]:
        for number in range(100):
            pulled.append(number)
            yield f"doc-{number}".encode()

    iterator = make_client().read_many(documents(), concurrency=2)
    if isinstance(iterator, Generator):
        first = next(iterator)
        iterator.close()
    else:
        first = await anext(iterator)
        await iterator.aclose()
    assert first.ok
    # Never more than `concurrency` documents taken ahead of what was yielded.
    assert len(pulled) <= 3


# --- 429 -------------------------------------------------------------------------------------


class RetryLogged(logging.Handler):
    """Signals when the SDK logs that it will retry a POST, i.e. after the 429 was seen."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = threading.Event()
        # For the async client, whose retries log from the event loop's own thread.
        self.async_seen: asyncio.Event | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Retrying POST"):
            self.seen.set()
            if self.async_seen is not None:
                self.async_seen.set()


@pytest.fixture
def retry_logged() -> Iterator[RetryLogged]:
    handler = RetryLogged()
    logger = logging.getLogger("ocr_sdk")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.setLevel(level)
    logger.removeHandler(handler)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_429_holds_back_every_worker_until_retry_after(
    kind: str, httpx_mock: HTTPXMock, retry_logged: RetryLogged
) -> None:
    # Real clocks: the gate is about what other threads/tasks do while one waits.
    wait = 0.4
    posts: list[tuple[str, float]] = []
    refused_at: list[float] = []

    def post(request: httpx.Request) -> httpx.Response:
        name = request.content.decode()
        posts.append((name, time.monotonic()))
        if name == "a" and not refused_at:
            refused_at.append(time.monotonic())
            return httpx.Response(429, headers={"Retry-After": str(wait)}, json={})
        location = f"{BASE}/read/analyzeResults/op-{name}"
        return httpx.Response(202, headers={"Operation-Location": location})

    async def get(request: httpx.Request) -> httpx.Response:
        # "b" finishes only once "a"'s 429 has been seen, so "c" (which takes b's place)
        # is submitted after the gate closed, on any scheduling of threads or tasks.
        if request.url.path.endswith("op-b"):
            assert retry_logged.async_seen is not None
            await asyncio.wait_for(retry_logged.async_seen.wait(), 10)
        return httpx.Response(200, json=succeeded_body())

    def sync_get(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("op-b"):
            assert retry_logged.seen.wait(10)
        return httpx.Response(200, json=succeeded_body())

    httpx_mock.add_callback(post, method="POST", is_reusable=True)
    httpx_mock.add_callback(get if kind == "async" else sync_get, method="GET", is_reusable=True)
    documents = [b"a", b"b", b"c"]
    retry_logged.async_seen = asyncio.Event()
    if kind == "sync":
        with OcrClient(ENDPOINT, KEY, polling_interval=0) as client:
            items = await collect(client.read_many(documents, concurrency=2))
    else:
        async with AsyncOcrClient(ENDPOINT, KEY, polling_interval=0) as aclient:
            items = await collect(aclient.read_many(documents, concurrency=2))
    assert all(item.ok for item in items), [item.error for item in items]
    [refused] = refused_at
    # "b" may have been on its way already; the retried "a" and the new "c" both waited.
    later = {name: at for name, at in posts[1:] if name != "b"}
    assert sorted(later) == ["a", "c"]
    for at in later.values():
        assert at >= refused + wait * 0.95


async def test_429s_beyond_the_retry_budget_end_as_that_documents_error(
    service: FakeService, make_client: MakeClient, clock: Any
) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "5"}, json={"error": {"code": "429"}})
    service.always_refuse["x"] = limited
    results = {item.document: item for item in await collect(make_client().read_many([b"x", b"y"]))}
    assert results[b"y"].ok
    error = results[b"x"].error
    assert isinstance(error, RateLimitError) and error.retry_after == 5
    # Waited out 5 s at a time while the default 120 s budget lasts: 24 retries, 25 posts.
    assert [name for name, _ in service.posts].count("x") == 1 + 120 // 5
    assert clock.sleeps.count(5) >= 24


# --- the gate alone --------------------------------------------------------------------------


def test_the_gate_opens_after_the_longest_retry_after() -> None:
    gate = RateGate()
    assert gate.delay(100.0) == 0.0
    gate.observe(RateLimitError("slow down", status_code=429, retry_after=10), 100.0)
    gate.observe(RateLimitError("slow down", status_code=429, retry_after=2), 101.0)
    assert gate.delay(100.0) == 10.0
    assert gate.delay(105.0) == 5.0
    assert gate.delay(111.0) == 0.0


def test_the_gate_ignores_other_errors_and_429_without_retry_after() -> None:
    gate = RateGate()
    gate.observe(RateLimitError("no hint", status_code=429), 100.0)
    gate.observe(InvalidRequestError("bad", status_code=400, retry_after=30), 100.0)
    assert gate.delay(100.0) == 0.0


def test_check_concurrency_returns_a_valid_value() -> None:
    assert check_concurrency(7) == 7


def test_batch_item_holds_exactly_one_outcome() -> None:
    failed: BatchItem[bytes] = BatchItem(3, b"doc", error=RuntimeError("boom"))
    assert not failed.ok
    with pytest.raises(RuntimeError, match="boom"):
        failed.unwrap()
