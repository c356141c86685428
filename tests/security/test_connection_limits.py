"""What one client may hold of the emulator, on a real socket (issue #23): request heads sent a
byte at a time, uploads that stop halfway, idle connections, too many connections, too many
upload bytes at once, and gzip bombs behind URL sources.

Each is cut off with the service's JSON error (or, having sent nothing, a closed connection);
``/status`` keeps answering while it happens; a well-behaved client still gets its ``202``
afterwards. The limits are set small so the tests run in seconds; every timing assertion has
a margin of several seconds, and none asserts that something happens *quickly* except
``/status``, which answers in milliseconds.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import json
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from emulator import errors
from emulator.engine.fake import FakeEngine
from emulator.http import fetch
from emulator.http.protocol import ConnectionLimits, UploadBudget
from emulator.server import Endpoint, connection_limits, run_in_thread
from emulator.settings import Settings, SettingsError, load
from tests._http import read_response

KEY = "connection-limits-key-0123"
ANALYZE = "/vision/v3.2/read/analyze"
DI_ANALYZE = "/documentintelligence/documentModels/prebuilt-read:analyze?api-version=2024-11-30"
AUTH = {"Ocp-Apim-Subscription-Key": KEY}
UPLOAD = {**AUTH, "Content-Type": "application/octet-stream"}
#: Margin on every timing assertion, for a loaded machine.
SLACK = 6.0
#: How long ``/status`` may take while attackers hold connections.
STATUS_WITHIN = 1.0


@contextlib.contextmanager
def emulator(engine: FakeEngine | None = None, **settings: Any) -> Iterator[Endpoint]:
    """A real emulator on a free port with a fake engine and the given settings."""
    fake = engine or FakeEngine()
    config = Settings(api_keys=(KEY,), port=0, workers=1, **settings)
    with run_in_thread(config, engine_factory=lambda _threads: fake) as running:
        yield running


def noisy_png(side: int) -> bytes:
    """A valid PNG of random pixels: about ``3 * side**2`` bytes, as it does not compress."""
    image = Image.frombytes("RGB", (side, side), os.urandom(3 * side * side))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def connect(port: int, timeout: float = 20.0) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def closes_within(conn: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``conn`` within ``seconds`` (bytes still sent are read)."""
    conn.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if not conn.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return False


def status_answers(endpoint: Endpoint) -> bool:
    """``/status`` answers 200 within :data:`STATUS_WITHIN` seconds, on a fresh connection."""
    started = time.monotonic()
    response = httpx.get(f"{endpoint.url}/status", timeout=STATUS_WITHIN * 5)
    return response.status_code == 200 and time.monotonic() - started < STATUS_WITHIN


def submit(endpoint: Endpoint, document: bytes) -> httpx.Response:
    return httpx.post(f"{endpoint.url}{ANALYZE}", content=document, headers=UPLOAD, timeout=30)


def wait_for_result(endpoint: Endpoint, location: str) -> None:
    """Poll the operation at ``location`` (a 202's Operation-Location, whatever host the
    request named) until it has succeeded."""
    url = endpoint.url + urlsplit(location).path
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = httpx.get(url, headers=AUTH, timeout=10)
        if result.json()["status"] == "succeeded":
            return
        time.sleep(0.1)
    raise AssertionError("the accepted document was never read")


def json_error(status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The service's error object of a response (Read v3.2's flat body or the wrapped one)."""
    assert headers["content-type"].startswith("application/json"), headers
    assert headers["connection"] == "close", headers
    payload: dict[str, Any] = json.loads(body)
    return payload.get("error", payload)


def upload_head(length: int | None, *extra: str) -> bytes:
    """The head of a ReadInStream upload: ``Content-Length: length``, or chunked if None."""
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    lines = [f"POST {ANALYZE} HTTP/1.1", "Host: x", f"Ocp-Apim-Subscription-Key: {KEY}"]
    lines += ["Content-Type: application/octet-stream", framing, *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    """``data`` as one chunk of a chunked body."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


# --- the flags ------------------------------------------------------------------------------


def test_the_limits_come_from_flags_and_the_environment() -> None:
    settings = load(
        ["--api-key", KEY, "--head-timeout", "3s", "--max-bytes-in-flight", "1MiB"],
        {
            "OCR_EMULATOR_BODY_TIMEOUT": "1m",
            "OCR_EMULATOR_KEEP_ALIVE_TIMEOUT": "7",
            "OCR_EMULATOR_MAX_CONNECTIONS": "64",
            "OCR_EMULATOR_HEAD_TIMEOUT": "99s",  # the flag wins
        },
    )
    assert connection_limits(settings) == ConnectionLimits(
        head_timeout=3.0,
        body_timeout=60.0,
        keep_alive_timeout=7.0,
        max_connections=64,
        max_body_bytes=1024 * 1024,
    )
    defaults = connection_limits(load(["--api-key", KEY], {}))
    assert defaults == ConnectionLimits(10.0, 30.0, 5.0, 500, 256 * 1024 * 1024)


@pytest.mark.parametrize(
    "argv",
    [
        ["--head-timeout", "0"],
        ["--body-timeout", "0s"],
        ["--keep-alive-timeout", "0"],
        ["--max-connections", "0"],
        ["--max-bytes-in-flight", "0"],
        ["--max-bytes-in-flight", "lots"],
    ],
)
def test_limits_that_cannot_work_are_refused(argv: list[str]) -> None:
    with pytest.raises(SettingsError, match=argv[0]):
        load(["--api-key", KEY, *argv], {})
    with pytest.raises(SettingsError, match="invalid duration"):
        load(["--api-key", KEY, "--head-timeout", "soon"], {})


def test_one_upload_alone_always_fits_the_budget() -> None:
    budget = UploadBudget(100)
    assert budget.take(500)  # alone: larger than the limit, let in
    assert not budget.take(1)  # nothing more while it holds bytes
    assert budget.take(50, own=500)  # the same upload, chunked, growing alone
    budget.give_back(550)
    assert budget.take(60) and budget.take(40) and not budget.take(1)
    assert budget.held == 100


# --- request heads ---------------------------------------------------------------------------


class Trickle:
    """Sends one byte a half second on each of ``conns`` (slowloris) until stopped or closed."""

    def __init__(self, conns: list[socket.socket]) -> None:
        self.conns = conns
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        live = list(self.conns)
        while live and not self.stop.wait(0.5):
            for conn in list(live):
                try:
                    conn.send(b"X")
                except OSError:
                    live.remove(conn)

    def __enter__(self) -> Trickle:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


def test_heads_sent_a_byte_at_a_time_are_answered_408_and_closed(
    png: Callable[..., bytes],
) -> None:
    head_timeout = 2.0
    with emulator(head_timeout=head_timeout) as endpoint:
        attackers = [connect(endpoint.port) for _ in range(18)]
        started = time.monotonic()
        for conn in attackers:
            conn.sendall(f"POST {ANALYZE} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode())
        with Trickle(attackers):
            assert status_answers(endpoint)  # while all 18 hold a connection
            for conn in attackers:
                status, headers, body = read_response(conn)
                answered = time.monotonic() - started
                assert status == 408
                error = json_error(status, headers, body)
                assert error["code"] == "Timeout"
                assert "request head" in error["message"]
                assert head_timeout - 0.5 < answered < head_timeout + SLACK
            # Still trickling, each is disconnected soon after its answer, not kept.
            for conn in attackers:
                assert closes_within(conn, SLACK)
        for conn in attackers:
            conn.close()
        assert submit(endpoint, png()).status_code == 202


def test_a_connection_that_sends_nothing_is_closed_without_an_answer() -> None:
    with emulator(head_timeout=1.0) as endpoint, connect(endpoint.port) as conn:
        started = time.monotonic()
        conn.settimeout(1.0 + SLACK)
        assert conn.recv(1024) == b""
        assert time.monotonic() - started > 0.5


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout() -> None:
    with (
        emulator(keep_alive_timeout=1.0, head_timeout=30.0) as endpoint,
        connect(endpoint.port) as conn,
    ):
        conn.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _headers, _body = read_response(conn)
        assert status == 200
        assert closes_within(conn, 1.0 + SLACK)


def test_a_document_intelligence_head_gets_its_own_error_format() -> None:
    with emulator(head_timeout=1.0) as endpoint, connect(endpoint.port) as conn:
        conn.sendall(f"POST {DI_ANALYZE} HTTP/1.1\r\nHost: x\r\n".encode())
        status, headers, body = read_response(conn)
        assert status == 408
        # Document Intelligence's wrapped body, with its code for a timeout.
        assert json.loads(body)["error"]["code"] == "ServiceUnavailable"
        assert headers["connection"] == "close"


# --- request bodies --------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_upload_that_stops_halfway_is_dropped_with_408(chunked: bool) -> None:
    engine = FakeEngine()
    document = noisy_png(300)
    half = document[: len(document) // 2]
    with emulator(engine, body_timeout=2.0) as endpoint:
        with connect(endpoint.port) as conn:
            started = time.monotonic()
            conn.sendall(upload_head(None if chunked else len(document)))
            conn.sendall(chunk(half) if chunked else half)
            assert status_answers(endpoint)
            status, headers, body = read_response(conn)
            stalled = time.monotonic() - started
            assert status == 408
            error = json_error(status, headers, body)
            assert error["code"] == "Timeout"
            assert "request body" in error["message"]
            assert 1.5 < stalled < 2.0 + SLACK
            assert closes_within(conn, SLACK)
        accepted = submit(endpoint, noisy_png(50))
        assert accepted.status_code == 202
        wait_for_result(endpoint, accepted.headers["Operation-Location"])
        assert engine.calls == 1  # the dropped upload never became a job


def test_an_upload_that_keeps_arriving_slowly_is_not_cut_off() -> None:
    document = noisy_png(100)
    part = len(document) // 5 + 1
    with emulator(body_timeout=3.0) as endpoint, connect(endpoint.port) as conn:
        conn.sendall(upload_head(None))
        # Five parts, 1 s apart: 5 s in all, longer than the body timeout, but never 3 s
        # without a byte.
        for start in range(0, len(document), part):
            conn.sendall(chunk(document[start : start + part]))
            time.sleep(1.0)
        conn.sendall(b"0\r\n\r\n")
        status, _headers, _body = read_response(conn)
        assert status == 202


# --- connection cap --------------------------------------------------------------------------


def test_connections_beyond_the_cap_get_503_with_retry_after(png: Callable[..., bytes]) -> None:
    with emulator(max_connections=5) as endpoint:
        idle = [connect(endpoint.port) for _ in range(5)]
        try:
            deadline = time.monotonic() + SLACK
            refused = httpx.get(f"{endpoint.url}/status", timeout=10)
            while refused.status_code != 503 and time.monotonic() < deadline:
                time.sleep(0.05)  # until the server has accepted all five
                refused = httpx.get(f"{endpoint.url}/status", timeout=10)
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "1"
            assert refused.headers["connection"] == "close"
            assert refused.json()["code"] == "ServiceUnavailable"
            assert "5 connections" in refused.json()["message"]
            di = httpx.post(f"{endpoint.url}{DI_ANALYZE}", content=png(), headers=UPLOAD)
            assert di.status_code == 503
            assert di.json()["error"]["code"] == "ServiceUnavailable"
            assert "Retry-After" in di.headers
        finally:
            for conn in idle:
                conn.close()
        deadline = time.monotonic() + SLACK
        while httpx.get(f"{endpoint.url}/status").status_code != 200:
            assert time.monotonic() < deadline, "the cap was not freed by closed connections"
            time.sleep(0.1)
        assert submit(endpoint, png()).status_code == 202


# --- upload bytes in flight ------------------------------------------------------------------


def test_uploads_beyond_the_bytes_in_flight_get_503_and_are_dropped() -> None:
    engine = FakeEngine()
    first = noisy_png(480)  # about 690 kB
    second = noisy_png(300)  # about 270 kB: the two do not fit in 800 kB
    with emulator(engine, max_bytes_in_flight=800_000) as endpoint:
        with connect(endpoint.port) as holder:
            # 100 Continue comes once the server reads the body, its bytes reserved.
            holder.sendall(upload_head(len(first), "Expect: 100-continue"))
            assert holder.recv(1024).startswith(b"HTTP/1.1 100 ")
            holder.sendall(first[:100_000])

            declared = submit(endpoint, second)
            assert declared.status_code == 503
            assert declared.headers["Retry-After"] == "1"
            assert declared.json()["code"] == "ServiceUnavailable"
            assert "800000 bytes" in declared.json()["message"]

            pieces = (second[i : i + 16_384] for i in range(0, len(second), 16_384))
            streamed = httpx.post(f"{endpoint.url}{ANALYZE}", content=pieces, headers=UPLOAD)
            assert streamed.status_code == 503  # chunked: refused once past the limit
            assert streamed.json()["code"] == "ServiceUnavailable"
            assert status_answers(endpoint)

            holder.sendall(first[100_000:])
            status, headers, _body = read_response(holder)
            assert status == 202
            wait_for_result(endpoint, headers["operation-location"])

        # The budget is free again; chunked, as Microsoft's client sends it, still works.
        pieces = (second[i : i + 16_384] for i in range(0, len(second), 16_384))
        accepted = httpx.post(f"{endpoint.url}{ANALYZE}", content=pieces, headers=UPLOAD)
        assert accepted.status_code == 202
        wait_for_result(endpoint, accepted.headers["Operation-Location"])
        assert engine.calls == 2  # only the two accepted uploads became jobs


def test_one_upload_alone_may_be_larger_than_the_bytes_in_flight() -> None:
    document = noisy_png(400)  # about 480 kB
    with emulator(max_bytes_in_flight=100_000) as endpoint:
        assert submit(endpoint, document).status_code == 202
        pieces = (document[i : i + 65_536] for i in range(0, len(document), 65_536))
        chunked = httpx.post(f"{endpoint.url}{ANALYZE}", content=pieces, headers=UPLOAD)
        assert chunked.status_code == 202


# --- URL sources with compressed responses ---------------------------------------------------


#: What the gzip bomb inflates to: 64 times the free tier's limit, from about 256 kB.
BOMB_BYTES = 256 * 1024 * 1024


@contextlib.contextmanager
def file_server(files: dict[str, tuple[bytes, str]]) -> Iterator[str]:
    """A localhost HTTP server answering ``files[path]`` as (body, Content-Encoding)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, encoding = files[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the emulator may stop reading early
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@functools.cache
def gzip_bomb(inflated: int) -> bytes:
    """Gzip of ``inflated`` zero bytes (about a thousandth of that), made a piece at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    parts = [compressor.compress(zeros) for _ in range(inflated >> 20)]
    return b"".join([*parts, compressor.flush()])


def test_a_gzip_bomb_behind_a_url_is_refused_at_the_tier_limit(png: Callable[..., bytes]) -> None:
    files = {
        "/bomb.png": (gzip_bomb(BOMB_BYTES), "gzip"),
        "/page.png": (gzip.compress(png()), "gzip"),
        "/page.br": (b"\x0b\x00\x80", "br"),
    }
    with file_server(files) as base, emulator(tier="free") as endpoint:
        client = httpx.Client(base_url=endpoint.url, headers=AUTH, timeout=30)
        bomb = client.post(ANALYZE, json={"url": f"{base}/bomb.png"})
        assert bomb.status_code == 400
        assert bomb.json()["code"] == "InvalidImageSize"
        other = client.post(ANALYZE, json={"url": f"{base}/page.br"})
        assert other.status_code == 400
        assert other.json()["code"] == "FailedToDownloadImage"
        assert client.post(ANALYZE, json={"url": f"{base}/page.png"}).status_code == 202


class Recorder:
    """A sink that keeps only the size of each chunk written to it."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def write(self, data: bytes, /) -> int:
        self.sizes.append(len(data))
        return len(data)


async def test_a_gzip_bomb_is_inflated_a_bounded_step_at_a_time() -> None:
    cap = 4 * 1024 * 1024
    with file_server({"/bomb": (gzip_bomb(BOMB_BYTES), "gzip")}) as base:
        sink = Recorder()
        with pytest.raises(errors.ServiceError) as refused:
            await fetch.download(f"{base}/bomb", sink, cap, 30.0)
    assert refused.value.code == "InvalidImageSize"
    # Nothing past the cap was kept, and no step inflated more than DECODE_STEP at once.
    assert sum(sink.sizes) <= cap
    assert max(sink.sizes) <= fetch.DECODE_STEP


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity"])
async def test_a_compressed_response_is_inflated_whole(encoding: str) -> None:
    document = os.urandom(300_000) + bytes(300_000)
    body = {
        "gzip": gzip.compress(document),
        "deflate": zlib.compress(document),
        "identity": document,
    }[encoding]
    with file_server({"/doc": (body, encoding)}) as base:
        sink = io.BytesIO()
        length = await fetch.download(f"{base}/doc", sink, 10 * 1024 * 1024, 30.0)
    assert length == len(document)
    assert sink.getvalue() == document
