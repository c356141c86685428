"""The Read container's own routes: ``POST read/syncAnalyze`` (analyze answered when done),
``GET /ContainerLiveness`` and ``GET read/operations/{id}`` (the results route's other name)."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from _harness import ANALYZE, BINARY, KEY, RESULTS, Harness, MakeHarness, assert_error
from starlette.types import Message

from emulator.api import synchronous
from emulator.faults import FaultRule
from emulator.jobs import ManualJobQueue
from emulator.settings import Rate

SYNC = "/vision/v3.2/read/syncAnalyze"
OPERATIONS = "/vision/v3.2/read/operations"
LIVENESS = "/ContainerLiveness"
JSON = {"Content-Type": "application/json"}


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the event loop until ``condition()`` holds; fail after five seconds."""
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def sync_read(
    h: Harness,
    content: bytes,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST ``content`` to syncAnalyze; with a manual queue, run the job once it is queued."""
    request = h.client.post(SYNC, params=params, content=content, headers=headers or BINARY)
    task = asyncio.create_task(request)
    if h.queue is not None:
        queue = h.queue
        await until(lambda: queue.depth > 0 or task.done())
        h.run()
    return await task


async def poll_to_end(h: Harness, operation_id: str) -> dict[str, Any]:
    """GET the operation until it is finished; its last body."""
    deadline = time.monotonic() + 5
    while True:
        body: dict[str, Any] = (await h.get(operation_id)).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


def nothing_stored(h: Harness) -> bool:
    """True if the store holds no job at all, finished or not (``clear`` counts them)."""
    return h.service.clear() == 0


# --- syncAnalyze -------------------------------------------------------------------------------


async def test_sync_analyze_answers_the_body_of_a_finished_get(
    make_harness: MakeHarness, png: Any, validate: Any
) -> None:
    h = await make_harness(manual=False)
    params = {"language": "en", "readingOrder": "natural"}
    response = await h.client.post(SYNC, params=params, content=png(300, 120), headers=BINARY)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Operation-Location" not in response.headers
    assert "Retry-After" not in response.headers
    body = response.json()
    validate("ReadOperationResult", body)
    assert set(body) == {"status", "createdDateTime", "lastUpdatedDateTime", "analyzeResult"}
    assert body["status"] == "succeeded"
    [page] = body["analyzeResult"]["readResults"]
    assert (page["width"], page["height"], page["language"]) == (300, 120, "en")
    assert [line["text"] for line in page["lines"]] == ["PAGE 300x120"]
    assert h.engine.reading_orders == ["natural"]

    # The same document through analyze and a GET: the same body (the clock stands still).
    operation_id = await h.submit(png(300, 120), params)
    assert await poll_to_end(h, operation_id) == body


async def test_sync_analyze_waits_without_blocking_other_requests(h: Harness, png: Any) -> None:
    assert h.queue is not None
    queue = h.queue
    task = asyncio.create_task(h.client.post(SYNC, content=png(), headers=BINARY))
    await until(lambda: queue.depth == 1)
    # The read is waiting, and the app still answers.
    status = (await h.client.get("/status")).json()
    assert status["queue"]["waiting"] == 1
    await asyncio.sleep(3 * synchronous.SYNC_MAX_POLL)
    assert not task.done()
    h.run()
    response = await asyncio.wait_for(task, 5)
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"


class QuietFiles(SimpleHTTPRequestHandler):
    """Serves a directory without logging every request to stderr."""

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A localhost HTTP server for ``tmp_path``; yields its base URL and the directory."""
    handler = functools.partial(QuietFiles, directory=str(tmp_path))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", tmp_path
    httpd.shutdown()
    httpd.server_close()


async def test_sync_analyze_reads_a_url(
    h: Harness, png: Any, file_server: tuple[str, Path]
) -> None:
    base, directory = file_server
    (directory / "scan.png").write_bytes(png(222, 111))
    body = json.dumps({"url": f"{base}/scan.png"}).encode()
    response = await sync_read(h, body, headers=JSON)
    assert response.status_code == 200, response.text
    [page] = response.json()["analyzeResult"]["readResults"]
    assert page["lines"][0]["text"] == "PAGE 222x111"
    assert nothing_stored(h)


BAD_REQUESTS: dict[str, tuple[bytes, dict[str, str], dict[str, str], int, str]] = {
    "not an image": (b"not an image", BINARY, {}, 400, "InvalidImageFormat"),
    "empty body": (b"", BINARY, {}, 400, "InvalidImageSize"),
    "json without url": (b'{"nope": 1}', JSON, {}, 400, "BadArgument"),
    "json not json": (b"{", JSON, {}, 400, "BadArgument"),
    "url not http": (b'{"url": "ftp://example.com/a.png"}', JSON, {}, 400, "InvalidImageUrl"),
    "media type": (b"text", {"Content-Type": "text/plain"}, {}, 415, "UnsupportedMediaType"),
    "language": (b"", BINARY, {"language": "xx"}, 400, "NotSupportedLanguage"),
    "pages": (b"", BINARY, {"pages": "0"}, 400, "InvalidPageRange"),
    "pages beyond": (b"PNG", BINARY, {"pages": "2"}, 400, "InvalidPageRange"),
    "reading order": (b"", BINARY, {"readingOrder": "up"}, 400, "InvalidReadingOrder"),
    "model version": (b"", BINARY, {"model-version": "v9"}, 400, "BadArgument"),
    "long query": (b"", BINARY, {"pages": "1" * 5000}, 400, "InvalidPageRange"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
async def test_sync_analyze_refuses_what_analyze_refuses(
    h: Harness, png: Any, validate: Any, case: str
) -> None:
    content, headers, params, status, code = BAD_REQUESTS[case]
    if content == b"PNG":
        content = png()
    expected = await h.client.post(ANALYZE, params=params, content=content, headers=headers)
    got = await h.client.post(SYNC, params=params, content=content, headers=headers)
    assert_error(expected, status, code, validate)
    assert_error(got, status, code, validate)
    assert got.json()["message"] == expected.json()["message"]
    assert nothing_stored(h)


async def test_sync_analyze_needs_a_key(h: Harness, png: Any) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=h.app), base_url="http://emulator.test"
    ) as bare:
        for headers in (BINARY, {**BINARY, "Ocp-Apim-Subscription-Key": "wrong-key"}):
            response = await bare.post(SYNC, content=png(), headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "401"
    assert h.queue is not None and h.queue.depth == 0


async def test_sync_analyze_counts_towards_the_rate_limit(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness(manual=False, rate_limit=Rate(2, 60.0))
    assert (await h.client.post(ANALYZE, content=png(), headers=BINARY)).status_code == 202
    assert (await h.client.post(SYNC, content=png(), headers=BINARY)).status_code == 200
    for path in (SYNC, ANALYZE):
        limited = await h.client.post(path, content=png(), headers=BINARY)
        assert limited.status_code == 429, path
        assert limited.json()["error"]["code"] == "429"
        assert 59 <= int(limited.headers["Retry-After"]) <= 60


async def test_sync_analyze_gets_429_when_the_queue_is_full(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness(max_queue=1)
    await h.submit(png())
    refused = await h.client.post(SYNC, content=png(), headers=BINARY)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "429"
    assert int(refused.headers["Retry-After"]) >= 1


async def test_a_failed_job_answers_200_failed_like_a_get(
    make_harness: MakeHarness, png: Any, validate: Any
) -> None:
    h = await make_harness(manual=False)
    h.service.control.fail_next()
    response = await h.client.post(SYNC, content=png(), headers=BINARY)
    assert response.status_code == 200
    body = response.json()
    validate("ReadOperationResult", body)
    assert body["status"] == "failed"
    assert "analyzeResult" not in body
    assert nothing_stored(h)
    # A GET on a failed job says the same.
    h.service.control.fail_next()
    operation_id = await h.submit(png())
    assert await poll_to_end(h, operation_id) == body


async def test_a_failing_engine_answers_failed(make_harness: MakeHarness, png: Any) -> None:
    from emulator.engine.fake import FakeEngine

    h = await make_harness(engine=FakeEngine(fail_on_call=1))
    response = await sync_read(h, png())
    assert response.status_code == 200
    assert response.json()["status"] == "failed"


async def test_nothing_is_left_in_the_store_after_the_answer(h: Harness, png: Any) -> None:
    response = await sync_read(h, png())
    assert response.json()["status"] == "succeeded"
    assert nothing_stored(h)


async def test_gives_up_at_the_job_time_limit_and_keeps_nothing(
    make_harness: MakeHarness, png: Any, validate: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(synchronous, "SYNC_GRACE", 0.0)
    h = await make_harness(job_timeout=timedelta(milliseconds=300))
    started = time.monotonic()
    # Nobody runs the manual queue: the job never finishes.
    response = await h.client.post(SYNC, content=png(), headers=BINARY)
    assert time.monotonic() - started >= 0.3
    body = assert_error(response, 503, "ServiceUnavailable", validate)
    assert "time limit of 0.3 seconds" in body["message"]
    assert int(response.headers["Retry-After"]) >= 1
    assert nothing_stored(h)
    h.run()  # the worker finds its job gone and drops it
    assert h.engine.calls == 0


async def test_stops_waiting_when_the_client_leaves(h: Harness, png: Any) -> None:
    """The app called directly, as a server does: the body, then ``http.disconnect``."""
    document = png()
    messages: list[Message] = [{"type": "http.request", "body": document, "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": SYNC,
        "raw_path": SYNC.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"emulator.test"),
            (b"ocp-apim-subscription-key", KEY.encode()),
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(len(document)).encode()),
        ],
        "server": ("emulator.test", 80),
        "client": ("127.0.0.1", 50000),
    }
    await asyncio.wait_for(h.app(scope, receive, send), 5)
    assert h.queue is not None and h.queue.depth == 1  # it was accepted ...
    assert nothing_stored(h)  # ... and is gone
    h.run()
    assert h.engine.calls == 0
    assert sent[0]["status"] == synchronous.CLIENT_CLOSED_REQUEST


async def test_faults_on_analyze_apply_to_sync_analyze(h: Harness, png: Any) -> None:
    faults = h.app.state.faults
    faults.add(FaultRule.parse("route=analyze,status=503,times=1"))
    assert (await h.client.post(SYNC, content=png(), headers=BINARY)).status_code == 503
    faults.add(FaultRule.parse("route=analyze,fail,times=1"))
    response = await sync_read(h, png())
    assert response.json()["status"] == "failed"


# --- /ContainerLiveness ------------------------------------------------------------------------


class LoadingQueue(ManualJobQueue):
    """A queue whose engines never finish loading."""

    @property
    def ready(self) -> bool:
        return False


async def test_liveness_answers_without_a_key_while_engines_load(h: Harness, validate: Any) -> None:
    h.service.queue = LoadingQueue(h.engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=h.app), base_url="http://emulator.test"
    ) as bare:
        assert_error(await bare.get("/ready"), 503, "ServiceUnavailable", validate)
        assert (await bare.get("/status")).json()["status"] == "loading"
        response = await bare.get(LIVENESS)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"status": "alive"}
        assert response.headers["apim-request-id"]
        # Only GET, and only this spelling.
        assert (await bare.post(LIVENESS)).status_code == 405
        assert (await bare.get("/containerliveness")).status_code == 401


# --- read/operations/{id} ----------------------------------------------------------------------


async def test_operations_is_the_results_route_under_another_name(
    h: Harness, png: Any, validate: Any
) -> None:
    operation_id = await h.submit(png(320, 100))
    for _ in range(2):  # notStarted, then succeeded
        results = await h.client.get(f"{RESULTS}/{operation_id}")
        operations = await h.client.get(f"{OPERATIONS}/{operation_id}")
        assert operations.status_code == results.status_code == 200
        validate("ReadOperationResult", operations.json())
        assert operations.json() == results.json()
        for header in ("Retry-After", "retry-after-ms", "content-type"):
            assert operations.headers.get(header) == results.headers.get(header), header
        h.run()
    assert operations.json()["status"] == "succeeded"


@pytest.mark.parametrize(("operation_id", "status"), [(str(uuid.uuid4()), 404), ("nope", 400)])
async def test_operations_answers_the_same_errors(
    h: Harness, validate: Any, operation_id: str, status: int
) -> None:
    results = await h.client.get(f"{RESULTS}/{operation_id}")
    operations = await h.client.get(f"{OPERATIONS}/{operation_id}")
    code = "NotFound" if status == 404 else "BadArgument"
    assert_error(results, status, code, validate)
    body = assert_error(operations, status, code, validate)
    assert body["message"] == results.json()["message"]


async def test_operations_is_get_only(h: Harness, png: Any) -> None:
    operation_id = await h.submit(png())
    response = await h.client.delete(f"{OPERATIONS}/{operation_id}")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}
    assert response.json()["code"] == "MethodNotAllowed"
    assert (await h.get(operation_id)).status_code == 200  # still there


async def test_faults_on_result_apply_to_operations(h: Harness, png: Any) -> None:
    operation_id = await h.submit(png())
    h.app.state.faults.add(FaultRule.parse("route=result,status=500,times=1"))
    assert (await h.client.get(f"{OPERATIONS}/{operation_id}")).status_code == 500
    assert (await h.client.get(f"{OPERATIONS}/{operation_id}")).status_code == 200
