"""The emulator on a real socket, with and without TLS (verifying the generated CA), and a
TLS 1.1 client refused."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.engine.fake import FakeEngine
from emulator.http.tls import generate_local_ca
from emulator.server import run_in_thread
from emulator.settings import Settings

KEY = "socket-key-0123456789"
HEADERS = {"Ocp-Apim-Subscription-Key": KEY}


def trust(ca: Path) -> ssl.SSLContext:
    """A client context that trusts only ``ca``."""
    return ssl.create_default_context(cafile=str(ca))


def fake_factory(_threads: int) -> FakeEngine:
    return FakeEngine()


def ocr_round_trip(client: httpx.Client, document: bytes) -> dict[str, Any]:
    """Submit ``document``, poll until finished, return the final body."""
    response = client.post(
        "/vision/v3.2/read/analyze",
        content=document,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 202, response.text
    location = response.headers["Operation-Location"]
    assert location.startswith(str(client.base_url).rstrip("/"))
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = client.get(location).json()
        if body["status"] in {"succeeded", "failed"}:
            return body
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_plain_http_socket(png: Callable[..., bytes], validate: Any) -> None:
    settings = Settings(api_keys=(KEY,), port=0, workers=1)
    with run_in_thread(settings, engine_factory=fake_factory) as endpoint:
        assert endpoint.url.startswith("http://127.0.0.1:")
        assert endpoint.ca_path is None
        with httpx.Client(base_url=endpoint.url, headers=HEADERS) as client:
            body = ocr_round_trip(client, png(210, 90))
            validate("ReadOperationResult", body)
            assert body["analyzeResult"]["readResults"][0]["lines"][0]["text"] == "PAGE 210x90"


def test_tls_with_generated_ca(png: Callable[..., bytes], tmp_path: Path) -> None:
    ca_out = tmp_path / "ca" / "emulator-ca.pem"
    settings = Settings(api_keys=(KEY,), port=0, workers=1, tls=True, tls_ca_out=ca_out)
    with run_in_thread(settings, engine_factory=fake_factory) as endpoint:
        assert endpoint.url.startswith("https://127.0.0.1:")
        assert endpoint.ca_path == ca_out and ca_out.is_file()
        with httpx.Client(base_url=endpoint.url, headers=HEADERS, verify=trust(ca_out)) as client:
            assert ocr_round_trip(client, png())["status"] == "succeeded"
        # "localhost" is in the certificate too.
        localhost = endpoint.url.replace("127.0.0.1", "localhost")
        with httpx.Client(base_url=localhost, verify=trust(ca_out)) as client:
            assert client.get("/ready").status_code == 200
        # Without trusting the CA, verification fails.
        with httpx.Client(base_url=endpoint.url) as client, pytest.raises(httpx.ConnectError):
            client.get("/ready")


def _old_tls_client(ca: Path, maximum: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(ca)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 on purpose
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = maximum
    # Let the client offer old versions at all (OpenSSL 3 forbids them by default).
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def _handshake(port: int, context: ssl.SSLContext) -> str:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return str(tls.version())


def test_the_tls_1_1_client_works_against_a_permissive_server(tmp_path: Path) -> None:
    """Control for the next test: this client really can speak TLS 1.1, so a refusal there
    is the emulator's doing."""
    ca_pem, cert_pem, key_pem = generate_local_ca()
    for name, data in (("ca.pem", ca_pem), ("cert.pem", cert_pem), ("key.pem", key_pem)):
        (tmp_path / name).write_bytes(data)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        server.minimum_version = ssl.TLSVersion.TLSv1
    server.set_ciphers("ALL:@SECLEVEL=0")
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def accept() -> None:
            conn, _ = listener.accept()
            with contextlib.suppress(OSError), server.wrap_socket(conn, server_side=True):
                pass

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        client = _old_tls_client(tmp_path / "ca.pem", ssl.TLSVersion.TLSv1_1)
        assert _handshake(listener.getsockname()[1], client) == "TLSv1.1"
        thread.join(5)


def test_tls_refuses_tls_1_1(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    settings = Settings(api_keys=(KEY,), port=0, workers=1, tls=True, tls_ca_out=ca)
    with run_in_thread(settings, engine_factory=fake_factory) as endpoint:
        assert _handshake(endpoint.port, _old_tls_client(ca, ssl.TLSVersion.TLSv1_2)) == "TLSv1.2"
        assert _handshake(endpoint.port, _old_tls_client(ca, ssl.TLSVersion.TLSv1_3)) == "TLSv1.3"
        for old in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1):
            with pytest.raises((ssl.SSLError, ConnectionResetError)):
                _handshake(endpoint.port, _old_tls_client(ca, old))


def test_server_context_minimum_is_tls_1_2(tmp_path: Path) -> None:
    from emulator.http.tls import prepare

    material = prepare(Settings(api_keys=(KEY,), tls=True, tls_ca_out=tmp_path / "ca.pem"))
    assert material.context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert material.ca_path == tmp_path / "ca.pem"


def test_tls_with_the_users_certificate(tmp_path: Path) -> None:
    ca_pem, cert_pem, key_pem = generate_local_ca()
    (tmp_path / "ca.pem").write_bytes(ca_pem)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    settings = Settings(
        api_keys=(KEY,),
        port=0,
        workers=1,
        tls=True,
        tls_cert=tmp_path / "cert.pem",
        tls_key=tmp_path / "key.pem",
    )
    with run_in_thread(settings, engine_factory=fake_factory) as endpoint:
        assert endpoint.ca_path is None
        with httpx.Client(base_url=endpoint.url, verify=trust(tmp_path / "ca.pem")) as client:
            assert client.get("/ready").status_code == 200


def test_ipv6_loopback(png: Callable[..., bytes]) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    settings = Settings(api_keys=(KEY,), host="::1", port=0, workers=1)
    try:
        server = run_in_thread(settings, engine_factory=fake_factory)
        endpoint = server.__enter__()
    except OSError:
        pytest.skip("IPv6 loopback not available")
    try:
        assert endpoint.url.startswith("http://[::1]:")
        with httpx.Client(base_url=endpoint.url, headers=HEADERS) as client:
            assert ocr_round_trip(client, png())["status"] == "succeeded"
    finally:
        server.__exit__(None, None, None)


def test_stopping_https_with_an_idle_keep_alive_client_is_prompt(
    png: Callable[..., bytes], tmp_path: Path
) -> None:
    """Microsoft's client (requests) keeps its connection open in a pool and never answers the
    server's TLS close_notify; the stop used to wait out uvicorn's 10 s graceful timeout."""
    import requests

    settings = Settings(
        api_keys=(KEY,), port=0, workers=1, tls=True, tls_ca_out=tmp_path / "ca.pem"
    )
    with requests.Session() as session:
        with run_in_thread(settings, engine_factory=fake_factory) as endpoint:
            # Per request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
            ca = str(endpoint.ca_path)
            session.headers.update(HEADERS)
            response = session.post(
                f"{endpoint.url}/vision/v3.2/read/analyze",
                data=png(),
                headers={"Content-Type": "application/octet-stream"},
                verify=ca,
            )
            assert response.status_code == 202
            assert session.get(f"{endpoint.url}/status", verify=ca).status_code == 200
            started = time.monotonic()
        # Well under the 10 s graceful timeout that the bug always hit; not a benchmark.
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_accepted_connections_have_nagle_off(host: str) -> None:
    """The listening socket is made so that the event loop sets TCP_NODELAY on every
    connection it accepts. Without it, a response written in two parts (headers, then body)
    waited for the client's delayed ACK: 40 ms on every request, 8 % of a one-page job."""
    import asyncio

    from emulator.server import bind_socket

    try:
        listener = bind_socket(host, 0)
    except OSError:
        pytest.skip(f"no {host} on this machine")
    port = listener.getsockname()[1]
    seen: list[int] = []

    async def accept_one() -> None:
        accepted = asyncio.Event()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()
                accepted.set()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        async with server:
            _reader, writer = await asyncio.open_connection(host, port)
            await accepted.wait()
            writer.close()

    asyncio.run(asyncio.wait_for(accept_one(), 10))
    assert seen == [1]
