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
    """What the local server serves: path -> (status, headers, body); and the Host headers
    it was sent."""

    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}
    hosts: ClassVar[list[str]] = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(3)
        Files.hosts.append(self.headers.get("Host", ""))
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
    Files.hosts = []


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
    # The full reason is given where the operator allowed private and local networks.
    h = await make_harness(allow_private_urls=True)
    response = await h.client.post(ANALYZE, json={"url": f"{server}/nothing-here.png"})
    body = assert_error(response, 400, "FailedToDownloadImage", validate)
    assert "404" in body["message"]


async def test_failures_on_this_machine_do_not_map_its_ports(
    make_harness: MakeHarness, server: str, validate: Any
) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    with socket.socket() as other:  # a port that speaks something other than HTTP
        other.bind(("127.0.0.1", 0))
        other.listen()
        urls = [
            f"{server}/nothing-here.png",  # an HTTP server answering 404
            f"http://127.0.0.1:{closed_port}/a.png",  # nothing listening
            f"http://127.0.0.1:{other.getsockname()[1]}/a.png",  # not HTTP: never answers
        ]
        h = await make_harness(url_timeout=1.0)
        messages = set()
        for url in urls:
            response = await h.client.post(ANALYZE, json={"url": url})
            messages.add(assert_error(response, 400, "FailedToDownloadImage", validate)["message"])
    assert messages == {"The image URL could not be downloaded."}


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


# --- where a URL may point --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "verdict"),
    [
        ("127.0.0.1", "allowed"),
        ("127.8.9.10", "allowed"),
        ("::1", "allowed"),
        ("8.8.8.8", "allowed"),
        ("2606:4700::1111", "allowed"),
        ("::ffff:8.8.8.8", "allowed"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("169.254.169.254", "blocked"),
        ("169.254.0.1", "blocked"),
        ("fe80::1", "blocked"),
        ("fd00:ec2::254", "blocked"),
        ("100.100.100.200", "blocked"),
        ("::ffff:169.254.169.254", "blocked"),
        ("::a9fe:a9fe", "blocked"),  # IPv4-compatible 169.254.169.254
        ("64:ff9b::a9fe:a9fe", "blocked"),  # NAT64
        ("2002:a9fe:a9fe::1", "blocked"),  # 6to4 towards 169.254.169.254
        ("0.0.0.0", "blocked"),
        ("0.1.2.3", "blocked"),
        ("::", "blocked"),
        ("224.0.0.1", "blocked"),
        ("ff02::1", "blocked"),
        ("240.0.0.1", "blocked"),
        ("255.255.255.255", "blocked"),
    ],
)
def test_address_classification(address: str, verdict: str) -> None:
    import ipaddress

    from emulator.http.fetch import classify

    assert classify(ipaddress.ip_address(address)) == verdict


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",  # 169.254.169.254 in decimal
        "http://0251.0376.0251.0376/",  # in octal
        "http://0xa9fea9fe/",  # in hex
        "http://[::ffff:a9fe:a9fe]/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./",
        "http://0.0.0.0:80/",
        "http://10.0.0.1/doc.png",
        "http://192.168.0.10/doc.png",
        "http://[fc00::5]/doc.png",
        "ftp://127.0.0.1/doc.png",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "http:///no-host",
        "http://[::1/",
        "http://127.0.0.1:99999/",
        "javascript:alert(1)",
    ],
)
async def test_urls_that_must_not_be_fetched(
    make_harness: MakeHarness, url: str, validate: Any
) -> None:
    h = await make_harness()
    response = await h.client.post(ANALYZE, json={"url": url})
    body = assert_error(response, 400, "InvalidImageUrl", validate)
    assert url not in body["message"]  # a URL may carry credentials: never echoed


async def test_private_addresses_need_the_flag() -> None:
    import ipaddress

    from emulator import errors
    from emulator.http import fetch

    with pytest.raises(errors.ServiceError, match="allow-private-urls"):
        await fetch.check_url("http://10.1.2.3/doc.png")
    allowed = await fetch.check_url("http://10.1.2.3/doc.png", allow_private=True)
    assert allowed == ipaddress.ip_address("10.1.2.3")
    # The flag never opens the metadata service.
    with pytest.raises(errors.ServiceError, match="link-local"):
        await fetch.check_url("http://169.254.169.254/", allow_private=True)


async def test_redirect_to_a_private_address_is_refused(
    make_harness: MakeHarness, server: str, validate: Any
) -> None:
    Files.routes = {"/inside": (302, {"Location": "http://192.168.1.1/admin"}, b"")}
    h = await make_harness()
    response = await h.client.post(ANALYZE, json={"url": f"{server}/inside"})
    assert_error(response, 400, "InvalidImageUrl", validate)


async def test_the_checked_address_is_the_one_connected_to(
    make_harness: MakeHarness, server: str, png: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the first answer passes the check, a later one would point at the
    metadata service. The download must use the first answer and never resolve again."""
    import asyncio
    import socket

    port = int(server.rsplit(":", 1)[1])
    answers = iter(["127.0.0.1", "169.254.169.254", "169.254.169.254"])
    resolved: list[str] = []

    async def rebinding(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        if host != "rebind.test":
            raise OSError("unexpected lookup")
        address = next(answers)
        resolved.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", rebinding)
    Files.routes = {"/doc.png": (200, {}, png())}
    h = await make_harness()
    response = await h.client.post(ANALYZE, json={"url": f"http://rebind.test:{port}/doc.png"})
    assert response.status_code == 202, response.text
    assert resolved == ["127.0.0.1"]  # resolved once
    # The URL's host, sent to the checked address. (Filtered by port: a server of an earlier
    # test may still be finishing a slow request and recording its own Host.)
    assert [host for host in Files.hosts if host.endswith(f":{port}")] == [f"rebind.test:{port}"]


def test_allow_private_urls_from_flag_and_environment() -> None:
    from emulator.settings import load

    assert load(["--api-key", "k"], {}).allow_private_urls is False
    assert load(["--api-key", "k", "--allow-private-urls"], {}).allow_private_urls is True
    env = {"OCR_EMULATOR_API_KEY": "k", "OCR_EMULATOR_ALLOW_PRIVATE_URLS": "1"}
    assert load([], env).allow_private_urls is True
