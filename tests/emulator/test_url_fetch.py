"""``Read`` with a URL: fetched from a real local HTTP server, with size and time caps,
redirects checked hop by hop, and errors in the service's codes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from _harness import ANALYZE, MakeHarness, assert_error

JSON = {"Content-Type": "application/json; charset=utf-8"}


class Files:
    """What the local server serves: path -> (status, headers, body)."""

    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(3)
        status, headers, body = Files.routes.get(self.path, (404, {}, b"missing"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # The emulator stops reading at its size cap, as it should.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    Files.routes = {}


async def test_url_is_fetched_and_read(
    make_harness: MakeHarness, server: str, png: Any, validate: Any
) -> None:
    Files.routes = {"/doc.png": (200, {"Content-Type": "image/png"}, png(333, 111))}
    h = await make_harness()
    response = await h.client.post(ANALYZE, json={"url": f"{server}/doc.png"})
    assert response.status_code == 202
    operation_id = response.headers["Operation-Location"].rsplit("/", 1)[-1]
    h.run()
    body = (await h.get(operation_id)).json()
    validate("ReadOperationResult", body)
    assert body["analyzeResult"]["readResults"][0]["width"] == 333


async def test_redirects_are_followed(make_harness: MakeHarness, server: str, png: Any) -> None:
    Files.routes = {
        "/old": (302, {"Location": "/doc.png"}, b""),
        "/doc.png": (200, {}, png()),
    }
    h = await make_harness()
    assert (await h.client.post(ANALYZE, json={"url": f"{server}/old"})).status_code == 202


async def test_redirect_to_metadata_address_is_refused(
    make_harness: MakeHarness, server: str, validate: Any
) -> None:
    Files.routes = {"/evil": (302, {"Location": "http://169.254.169.254/latest/"}, b"")}
    h = await make_harness()
    response = await h.client.post(ANALYZE, json={"url": f"{server}/evil"})
    assert_error(response, 400, "InvalidImageUrl", validate)


async def test_redirect_loop(make_harness: MakeHarness, server: str, validate: Any) -> None:
    Files.routes = {"/loop": (302, {"Location": "/loop"}, b"")}
    h = await make_harness()
    response = await h.client.post(ANALYZE, json={"url": f"{server}/loop"})
    assert_error(response, 400, "FailedToDownloadImage", validate)


async def test_http_error_status(make_harness: MakeHarness, server: str, validate: Any) -> None:
    h = await make_harness()
    response = await h.client.post(ANALYZE, json={"url": f"{server}/nothing-here.png"})
    body = assert_error(response, 400, "FailedToDownloadImage", validate)
    assert "404" in body["message"]


async def test_connection_refused(make_harness: MakeHarness, validate: Any) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    h = await make_harness()
    response = await h.client.post(ANALYZE, json={"url": f"http://127.0.0.1:{port}/a.png"})
    assert_error(response, 400, "FailedToDownloadImage", validate)


async def test_download_time_cap(make_harness: MakeHarness, server: str, validate: Any) -> None:
    Files.routes = {"/slow": (200, {}, b"late")}
    h = await make_harness(url_timeout=0.5)
    response = await h.client.post(ANALYZE, json={"url": f"{server}/slow"})
    assert_error(response, 400, "FailedToDownloadImage", validate)


async def test_download_size_cap(make_harness: MakeHarness, server: str, validate: Any) -> None:
    Files.routes = {"/big.png": (200, {}, b"\x00" * (4 * 1024 * 1024 + 1))}
    h = await make_harness(tier="free")
    response = await h.client.post(ANALYZE, json={"url": f"{server}/big.png"})
    assert_error(response, 400, "InvalidImageSize", validate)


async def test_downloaded_garbage_is_invalid_image_format(
    make_harness: MakeHarness, server: str, validate: Any
) -> None:
    Files.routes = {"/page.html": (200, {"Content-Type": "text/html"}, b"<html>hi</html>")}
    h = await make_harness()
    response = await h.client.post(ANALYZE, json={"url": f"{server}/page.html"})
    assert_error(response, 400, "InvalidImageFormat", validate)
