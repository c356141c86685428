"""Document Intelligence's JSON bodies (issue #23): 20 / 60 / 150 MB bodies took the server to
0.6 / 1.7 / 4.0 GB and stalled ``/status`` for seconds while ``json.loads`` ran on the event
loop; the cap was a third over the tier's document size, whatever the body held.

Now a body is capped at the base64 of the largest document the tier takes (and refused before
it is read when it says it is larger), parsed off the event loop, and never built into Python
objects when large: a large body must be a ``base64Source`` request, whose string is decoded
from the body in place, a slice at a time, into the sealed document."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import random
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from emulator.api.document_intelligence import parsing
from emulator.api.http import MAX_JSON_BODY
from emulator.engine.fake import FakeEngine
from emulator.errors import ServiceError
from emulator.server import Endpoint, run_in_thread
from emulator.settings import TIER_LIMITS, Settings

KEY = "json-bodies-key-0123456789"
ANALYZE = "/documentintelligence/documentModels/prebuilt-read:analyze?api-version=2024-11-30"
HEADERS = {"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "application/json"}
MB = 1024 * 1024


def png(size: int = 0) -> bytes:
    """A small PNG, padded with zeros after its end to ``size`` bytes (still a valid PNG)."""
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(buffer, "PNG")
    data = buffer.getvalue()
    return data + bytes(max(0, size - len(data)))


class _Digest:
    """A sink that keeps only the length and hash of what it is given."""

    def __init__(self) -> None:
        self.length = 0
        self._hash = hashlib.sha256()

    def write(self, data: bytes, /) -> int:
        self.length += len(data)
        self._hash.update(data)
        return len(data)

    def digest(self) -> bytes:
        return self._hash.digest()


def _inner(error: ServiceError) -> str:
    assert error.inner is not None, error
    return error.inner[0]


# --- parsing ----------------------------------------------------------------------------------


def _reference(body: bytes) -> tuple[str, object]:
    """What a body meant before (``json.loads``, then ``base64.b64decode(validate=True)``)."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return ("error", "InvalidContentSourceFormat")
    if not isinstance(document, dict):
        return ("error", "InvalidContentSourceFormat")
    url, encoded = document.get("urlSource"), document.get("base64Source")
    if (url is None) == (encoded is None):
        return ("error", "InvalidContentSourceFormat")
    if url is not None:
        if not isinstance(url, str) or not url.strip():
            return ("error", "InvalidContentSourceFormat")
        return ("url", url.strip())
    if not isinstance(encoded, str):
        return ("error", "InvalidContentSourceFormat")
    try:
        return ("data", base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        return ("error", "InvalidContentSourceFormat")


def _read(body: bytes, max_bytes: int = 10 * MB) -> tuple[str, object]:
    sink = io.BytesIO()
    try:
        url = parsing.read_source(body, sink, max_bytes)
    except ServiceError as error:
        return ("error", _inner(error) if error.inner else error.code)
    return ("url", url) if url is not None else ("data", sink.getvalue())


def _random_body(rng: random.Random) -> bytes:
    """A body near the contract: base64 good or spoiled, escapes, extra members, the wrong
    sources or shapes, truncated JSON."""
    data = rng.randbytes(rng.randint(0, 60))
    text = base64.b64encode(data).decode()
    spoil = rng.random()
    if spoil < 0.1 and text:
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice(["=", "==", "!", " ", "\\n", "é", "-"]) + text[at:]
    elif spoil < 0.2 and text:
        text = text[: rng.randrange(len(text))]
    escaped = text
    if rng.random() < 0.2:
        escaped = escaped.replace("/", "\\/")
    if rng.random() < 0.1:
        escaped = escaped.replace("A", "\\u0041")
    members = [f'"base64Source": "{escaped}"']
    choice = rng.random()
    if choice < 0.1:
        members = ['"urlSource": "https://example.com/a.png"']
    elif choice < 0.15:
        members.append('"urlSource": "https://example.com/a.png"')
    elif choice < 0.2:
        members = [f'"base64Source": {rng.choice(["1", "null", "[]", "{}"])}']
    for _ in range(rng.randint(0, 2)):
        members.insert(
            rng.randrange(len(members) + 1),
            rng.choice(
                ['"x": 1', '"y": "a \\" quote"', '"z": [1, {"base64Source": "QUJD"}]', '"w": ""']
            ),
        )
    space = rng.choice(["", " ", "\n  "])
    body = "{" + space + ("," + space).join(members) + space + "}"
    shape = rng.random()
    if shape < 0.05:
        body = "[" + body + "]"
    elif shape < 0.1:
        body = body[: rng.randrange(len(body))]
    return body.encode()


def test_a_body_means_what_it_meant_whether_parsed_whole_or_in_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Thousands of bodies, with a tiny "large body" threshold and decoding step so that
    most are taken apart in place a few characters at a time: each is read as ``json.loads``
    and ``base64.b64decode`` read it, except that a large body that is not a base64Source
    request (its large string is another member) is refused."""
    rng = random.Random(23)
    for threshold in (10**6, 40, 24):
        monkeypatch.setattr(parsing, "MAX_JSON_BODY", threshold)
        monkeypatch.setattr(parsing, "_BASE64_STEP", 8)
        for _ in range(3000):
            body = _random_body(rng)
            got, expected = _read(body), _reference(body)
            if got != expected:
                assert len(body) > threshold and got == ("error", "InvalidContentSourceFormat"), (
                    body,
                    got,
                    expected,
                )


def test_a_large_body_that_is_not_a_base64_source_is_refused_unparsed() -> None:
    # 30 MB of numbers: a list of 15 million for json.loads, 120 MB of pointers alone.
    numbers = b'{"base64Source": "QUJD", "pad": [' + b"0," * (15 * MB) + b"0]}"
    tracemalloc.start()
    try:
        with pytest.raises(ServiceError) as refused:
            parsing.read_source(numbers, _Digest(), 500 * MB)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert _inner(refused.value) == "InvalidContentSourceFormat"
    assert "base64Source" in refused.value.message
    assert peak < 8 * MB, peak

    url = b'{"urlSource": "https://example.com/' + b"a" * MAX_JSON_BODY + b'"}'
    with pytest.raises(ServiceError):
        parsing.read_source(url, _Digest(), 500 * MB)


def test_a_large_base64_source_is_decoded_in_place_without_copies() -> None:
    document = random.Random(7).randbytes(30 * MB)
    body = b'{"base64Source": "' + base64.b64encode(document) + b'"}'
    sink = _Digest()
    tracemalloc.start()
    try:
        assert parsing.read_source(body, sink, 500 * MB) is None
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.length == len(document)
    assert sink.digest() == hashlib.sha256(document).digest()
    # json.loads and b64decode held the 40 MB string and the 30 MB document besides the
    # body: 70 MB or more. In place, a slice of each at a time.
    assert peak < 8 * MB, peak


def test_escaped_slashes_in_a_large_base64_source_are_read() -> None:
    document = random.Random(8).randbytes(MAX_JSON_BODY * 2)
    encoded = base64.b64encode(document).replace(b"/", b"\\/")
    sink = _Digest()
    assert parsing.read_source(b'{"base64Source":"' + encoded + b'"}', sink, 10 * MB) is None
    assert sink.digest() == hashlib.sha256(document).digest()


def test_a_decoded_document_over_the_tier_size_is_refused() -> None:
    body = b'{"base64Source": "' + base64.b64encode(bytes(3 * MB + 1)) + b'"}'
    with pytest.raises(ServiceError) as refused:
        parsing.read_source(body, _Digest(), 3 * MB)
    assert refused.value.code == "InvalidImageSize"


def test_the_cap_is_the_base64_of_the_largest_document() -> None:
    for max_bytes in (TIER_LIMITS["free"].max_bytes, *range(1, 10)):
        encoded = len(base64.b64encode(bytes(max_bytes)))
        assert parsing.max_json_body(max_bytes) == encoded + MAX_JSON_BODY
    # The paid tier's 500 MiB: 699 050 668 characters of base64, and 64 KiB for the rest.
    assert parsing.max_json_body(TIER_LIMITS["paid"].max_bytes) == 699_050_668 + 65_536


# --- on a real server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def free() -> Iterator[Endpoint]:
    settings = Settings(api_keys=(KEY,), port=0, workers=1, tier="free")
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        yield running


@pytest.fixture(scope="module")
def paid() -> Iterator[Endpoint]:
    settings = Settings(api_keys=(KEY,), port=0, workers=1)
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        yield running


def _answer(conn: socket.socket) -> tuple[int, dict[str, Any]]:
    """Read one HTTP/1.1 response with a Content-Length body; its status and JSON."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = conn.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), json.loads(body)


def test_a_body_declared_over_the_cap_is_refused_before_it_is_sent(free: Endpoint) -> None:
    cap = parsing.max_json_body(TIER_LIMITS["free"].max_bytes)
    head = (
        f"POST {ANALYZE} HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {cap + 1}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", free.port), timeout=20) as conn:
        conn.sendall(head.encode())  # and not one byte of the body
        status, body = _answer(conn)
    assert status == 400
    assert body["error"]["code"] == "InvalidRequest"
    assert body["error"]["innererror"]["code"] == "InvalidContentLength"


def test_the_largest_document_of_the_tier_fits_under_the_cap(free: Endpoint) -> None:
    cap = parsing.max_json_body(TIER_LIMITS["free"].max_bytes)
    encoded = base64.b64encode(png(TIER_LIMITS["free"].max_bytes))
    body = b'{"base64Source": "' + encoded + b'"}'
    body += b" " * (cap - len(body))  # exactly at the cap: the allowance is whitespace too
    assert len(body) == cap  # one byte more is refused (the test above)
    with httpx.Client(base_url=free.url, timeout=60) as client:
        accepted = client.post(ANALYZE, content=body, headers=HEADERS)
    assert accepted.status_code == 202, accepted.text


def _status_latencies_while(endpoint: Endpoint, body: bytes) -> tuple[httpx.Response, list[float]]:
    """POST ``body`` in a thread and poll ``/status`` until the answer; the answer and how
    long each poll took."""
    answer: list[httpx.Response] = []

    def post() -> None:
        with httpx.Client(base_url=endpoint.url, timeout=120) as client:
            answer.append(client.post(ANALYZE, content=body, headers=HEADERS))

    latencies = []
    with httpx.Client(base_url=endpoint.url, timeout=60) as client:
        client.get("/status").raise_for_status()  # connected before the upload starts
        poster = threading.Thread(target=post)
        poster.start()
        while poster.is_alive():
            started = time.perf_counter()
            client.get("/status").raise_for_status()
            latencies.append(time.perf_counter() - started)
            time.sleep(0.02)
        poster.join()
    return answer[0], latencies


def test_status_answers_while_a_large_base64_body_is_parsed(paid: Endpoint) -> None:
    body = b'{"base64Source": "' + base64.b64encode(png(30 * MB)) + b'"}'
    response, latencies = _status_latencies_while(paid, body)
    assert response.status_code == 202, response.text
    assert latencies and max(latencies) < 1.0, max(latencies)


def test_status_answers_while_a_large_hostile_body_is_refused(paid: Endpoint) -> None:
    # 60 MB of numbers: json.loads on the event loop stalled everything for seconds.
    body = b'{"base64Source": "QUJD", "pad": [' + b"0," * (30 * MB) + b"0]}"
    response, latencies = _status_latencies_while(paid, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["innererror"]["code"] == "InvalidContentSourceFormat"
    assert latencies and max(latencies) < 1.0, max(latencies)
