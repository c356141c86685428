"""Connection failures over real sockets say what happened and what to try.

A port nobody listens on, ``https://`` against the plain emulator, ``http://`` against the
TLS one, a certificate the client does not trust, a host name that does not resolve and a
server that never answers: each is an :class:`OcrConnectionError` (the ``httpx`` error still
its ``__cause__``) whose message names the cause and the fix, and whose ``reason`` says it
for programs. Every test runs with both clients.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from emulator.engine.fake import FakeEngine
from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings
from ocr_sdk import AsyncOcrClient, NotFoundError, OcrClient, OcrConnectionError, RetryPolicy

from .conftest import KEY, FakeClock, resolve

MakeClient = Callable[..., OcrClient | AsyncOcrClient]
NO_RETRY = RetryPolicy(max_retries=0, retry_budget=0)
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def plain() -> Iterator[Endpoint]:
    """The emulator over plain HTTP (fake engine: nothing here reads a page)."""
    settings = Settings(api_keys=(KEY,), port=0, workers=1)
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """The emulator over HTTPS with the CA it generates (``--tls``)."""
    ca = tmp_path_factory.mktemp("tls") / "ca.pem"
    settings = Settings(api_keys=(KEY,), port=0, workers=1, tls=True, tls_ca_out=ca)
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as endpoint:
        yield endpoint


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that is bound (so nothing else takes it) but not listening: connects are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


async def failure(client: OcrClient | AsyncOcrClient) -> OcrConnectionError:
    """The connection error of one poll (no retries)."""
    with pytest.raises(OcrConnectionError) as info:
        await resolve(client.get_read_result(UNKNOWN))
    error = info.value
    assert isinstance(error.__cause__, httpx.TransportError)  # the cause is kept
    assert error.status_code is None
    assert KEY not in str(error)
    return error


async def test_a_closed_port_asks_whether_the_emulator_runs_there(
    make_client: MakeClient, closed_port: int
) -> None:
    client = make_client(f"http://127.0.0.1:{closed_port}", retry=NO_RETRY)
    error = await failure(client)
    assert error.reason == "refused"
    assert f"nothing is listening at 127.0.0.1:{closed_port}" in str(error)
    assert "is the emulator (or service) running on that port?" in str(error)
    assert "[ConnectError: " in str(error)  # the cause, in its own words, comes last


async def test_https_to_the_plain_emulator_says_to_use_http(
    make_client: MakeClient, plain: Endpoint
) -> None:
    https = plain.url.replace("http://", "https://")
    error = await failure(make_client(https, retry=NO_RETRY))
    assert error.reason == "not_tls"
    assert f"the server at 127.0.0.1:{plain.port} does not speak TLS" in str(error)
    assert f"use http://127.0.0.1:{plain.port}" in str(error)


async def test_http_to_the_tls_emulator_says_to_use_https(
    make_client: MakeClient, tls: Endpoint
) -> None:
    http = tls.url.replace("https://", "http://")
    error = await failure(make_client(http, retry=NO_RETRY))
    assert error.reason == "closed"
    assert "closed the connection without an HTTP response" in str(error)
    assert f"use https://127.0.0.1:{tls.port}" in str(error)


async def test_an_untrusted_certificate_names_the_store_and_how_to_trust_the_ca(
    make_client: MakeClient, tls: Endpoint
) -> None:
    error = await failure(make_client(tls.url, retry=NO_RETRY))
    assert error.reason == "certificate"
    message = str(error)
    assert f"the certificate of 127.0.0.1:{tls.port} is not trusted" in message
    assert "checked against the system's trusted CAs" in message
    assert "--tls-ca-out" in message and "verify='path/to/ca.pem'" in message
    assert "--ca-bundle" in message


async def test_a_certificate_checked_against_another_bundle_names_that_bundle(
    make_client: MakeClient, tls: Endpoint, tmp_path: Path
) -> None:
    from emulator.http.tls import generate_local_ca

    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(generate_local_ca(("127.0.0.1",))[0])
    error = await failure(make_client(tls.url, retry=NO_RETRY, verify=str(other_ca)))
    assert error.reason == "certificate"
    assert f"checked against the CA bundle {other_ca}" in str(error)
    # The CA the emulator wrote is the one that works: the request gets an HTTP answer.
    trusted = make_client(tls.url, retry=NO_RETRY, verify=str(tls.ca_path))
    with pytest.raises(NotFoundError):
        await resolve(trusted.get_read_result(UNKNOWN))


async def test_a_host_name_that_does_not_resolve(make_client: MakeClient) -> None:
    # .invalid never resolves (RFC 2606).
    error = await failure(make_client("https://ocr.no-such-host.invalid", retry=NO_RETRY))
    assert error.reason == "dns"
    assert "the host name 'ocr.no-such-host.invalid' could not be resolved" in str(error)


async def test_a_server_that_never_answers_names_the_timeout(make_client: MakeClient) -> None:
    # Listening, so the kernel completes the connection; never accepted, so never answered.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        port = sock.getsockname()[1]
        client = make_client(f"http://127.0.0.1:{port}", retry=NO_RETRY, timeout=0.3)
        error = await failure(client)
    assert error.reason == "timeout"
    assert f"127.0.0.1:{port} sent no response within 0.3 s" in str(error)
    assert "timeout=" in str(error)


def test_the_explanation_survives_the_retries(closed_port: int) -> None:
    # With the default policy the refused connection is retried; the error that ends the
    # retries explains itself the same way.
    sleeps: list[float] = []
    client = OcrClient(f"http://127.0.0.1:{closed_port}", KEY, sleep=sleeps.append)
    with client, pytest.raises(OcrConnectionError) as info:
        client.get_read_result(UNKNOWN)
    assert len(sleeps) == 3  # retried three times, then raised
    assert info.value.reason == "refused"
    assert "nothing is listening" in str(info.value)


async def test_set_up_failures_are_raised_at_once_and_a_refused_port_is_retried(
    make_client: MakeClient, clock: FakeClock, tls: Endpoint, plain: Endpoint, closed_port: int
) -> None:
    # No retry mends an untrusted certificate or the wrong scheme: raised with no wait.
    policy = RetryPolicy(jitter=0)
    untrusted = await failure(make_client(tls.url, retry=policy))
    wrong_scheme = await failure(
        make_client(plain.url.replace("http://", "https://"), retry=policy)
    )
    assert (untrusted.reason, wrong_scheme.reason) == ("certificate", "not_tls")
    assert clock.sleeps == []
    # A refused connection may be an emulator still starting: retried with the backoff.
    refused = await failure(make_client(f"http://127.0.0.1:{closed_port}", retry=policy))
    assert refused.reason == "refused"
    assert clock.sleeps == [0.5, 1.0, 2.0]
