"""Hostile clients on a real socket: malformed HTTP, oversized headers, bodies cut off or
abandoned halfway, hundreds of idle connections. Each gets an answer or a closed
connection, never a hang, and the emulator keeps serving everyone else."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulator.engine.fake import FakeEngine
from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings
from tests._http import read_response

KEY = "hostile-socket-key-0123"
ANALYZE = "/vision/v3.2/read/analyze"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    settings = Settings(api_keys=(KEY,), port=0, workers=1)
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        yield running


def exchange(port: int, data: bytes, *, read: bool = True) -> bytes:
    """Send raw bytes; return what the server answered before closing (or a timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        # The server may refuse to read it all and close: that is an answer too.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(data)
        answer = b""
        if read:
            try:
                while chunk := conn.recv(65536):
                    answer += chunk
            except ConnectionResetError:
                pass
        return answer


def serving(endpoint: Endpoint) -> bool:
    with httpx.Client(base_url=endpoint.url) as client:
        return client.get("/status").status_code == 200


def request(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode() + b"\r\n" + body


@pytest.mark.parametrize(
    "data",
    [
        b"NONSENSE\r\n\r\n",
        b"GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # TLS to a plain port
        request(
            f"POST {ANALYZE} HTTP/1.1\nHost: x\nOcp-Apim-Subscription-Key: {KEY}\n"
            "Content-Type: application/octet-stream\nTransfer-Encoding: chunked\n"
            "Connection: close\n",
            b"zz\r\nnot a chunk\r\n",
        ),
        request(
            f"POST {ANALYZE} HTTP/1.1\nHost: x\nOcp-Apim-Subscription-Key: {KEY}\n"
            "Content-Type: application/octet-stream\nContent-Length: 5\n"
            "Transfer-Encoding: chunked\nConnection: close\n",
            b"0\r\n\r\n",
        ),
    ],
    ids=["garbage", "200kB-header", "tls-hello", "bad-chunks", "length-and-chunked"],
)
def test_malformed_http_is_refused_and_the_server_keeps_serving(
    endpoint: Endpoint, data: bytes
) -> None:
    answer = exchange(endpoint.port, data)
    # Every refusal is the service's JSON error (no route ran, so no job was created).
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    answer_head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in answer_head.lower()
    assert json.loads(body)["code"] in {"BadArgument", "InvalidImageSize"}
    assert serving(endpoint)


def test_bodies_cut_off_or_abandoned_leave_no_job_behind(endpoint: Endpoint) -> None:
    head = (
        f"POST {ANALYZE} HTTP/1.1\nHost: x\nOcp-Apim-Subscription-Key: {KEY}\n"
        "Content-Type: application/octet-stream\nContent-Length: 100000\n"
    )
    for _ in range(20):
        exchange(endpoint.port, request(head, b"\x89PNG\r\n\x1a\n" + b"\x00" * 500), read=False)
    with httpx.Client(base_url=endpoint.url, headers={"Ocp-Apim-Subscription-Key": KEY}) as client:
        status = client.get("/status").json()
        assert status["queue"]["waiting"] == 0


def send_in_segments(conn: socket.socket, data: bytes, segment: int, pause: float = 0.001) -> None:
    """Send ``data`` ``segment`` bytes at a time, each its own TCP segment."""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for start in range(0, len(data), segment):
        conn.sendall(data[start : start + segment])
        time.sleep(pause)


def head(target: str, *extra: str) -> str:
    """A GET request head for ``target`` with a Host header and ``extra`` header lines."""
    return "\r\n".join([f"GET {target} HTTP/1.1", "Host: x", *extra]) + "\r\n\r\n"


LONG_PATH = head(f"{ANALYZE}Results/{'a' * 50_000}")
LONG_HEADER = head(f"{ANALYZE}Results/x", f"X-Big: {'a' * 60_000}")
HUGE_PATH = head(f"{ANALYZE}Results/{'a' * 300_000}")
HUGE_HEADER = head("/documentintelligence/x", f"X-Big: {'a' * 300_000}")


@pytest.mark.parametrize("segment", [512, 4096, 1 << 20], ids=["512B", "4kB", "whole"])
@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (LONG_PATH, 414, "BadArgument"),
        (LONG_HEADER, 431, "BadArgument"),
        (HUGE_PATH, 414, "BadArgument"),
        (HUGE_HEADER, 431, "InvalidArgument"),
    ],
    ids=["50kB-path", "60kB-header", "300kB-path", "300kB-header-document-intelligence"],
)
def test_an_over_long_head_gets_the_same_json_answer_however_tcp_splits_it(
    endpoint: Endpoint, raw: str, status: int, code: str, segment: int
) -> None:
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=20) as conn:
        send_in_segments(conn, raw.encode(), segment)
        got, headers, body = read_response(conn)
    assert got == status
    assert headers["content-type"].startswith("application/json")
    answer = json.loads(body)
    assert (answer.get("error") or answer)["code"] == code
    assert len(body) < 1000
    assert serving(endpoint)


def test_an_over_long_path_over_tls_gets_a_json_answer(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    settings = Settings(api_keys=(KEY,), port=0, workers=1, tls=True, tls_ca_out=ca)
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        context = ssl.create_default_context(cafile=str(ca))
        with (
            socket.create_connection(("127.0.0.1", running.port), timeout=20) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as conn,
        ):
            send_in_segments(conn, HUGE_PATH.encode(), 4096)
            status, _headers, body = read_response(conn)
    assert status == 414
    assert json.loads(body)["code"] == "BadArgument"


def test_microsofts_and_our_clients_see_a_long_path_as_a_json_error(endpoint: Endpoint) -> None:
    path = f"{ANALYZE}Results/" + "a" * 50_000
    with httpx.Client(base_url=endpoint.url, headers={"Ocp-Apim-Subscription-Key": KEY}) as client:
        response = client.get(path)
    assert response.status_code == 414
    assert response.json()["code"] == "BadArgument"


def test_hundreds_of_idle_connections_do_not_lock_others_out(endpoint: Endpoint) -> None:
    idle = [socket.create_connection(("127.0.0.1", endpoint.port), timeout=10) for _ in range(300)]
    try:
        for conn in idle[:100]:
            conn.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        assert serving(endpoint)
    finally:
        for conn in idle:
            conn.close()
    assert serving(endpoint)
