"""Hostile input: every request a client can send gets a 2xx or the right 4xx in the service's
format, within bounded time and memory, and the emulator keeps serving others.

Fixed cases for what is known to hurt decoders and parsers (decompression bombs, thousands of
pages, deeply nested or enormous JSON, wrong content types, absurd query values), then
property-based tests (hypothesis) over bytes, queries, headers and JSON bodies. The fuzz test
over the real evaluation documents is in ``test_fuzz_documents.py``.
"""

from __future__ import annotations

import io
import json
import string
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _harness import (
    ANALYZE,
    BINARY,
    CLIENT_ERROR_CODES,
    HEADERS,
    KEY,
    RESULTS,
    MakeHarness,
    assert_error,
    check_answer,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from emulator.app import create_app
from emulator.engine.fake import FakeEngine
from emulator.jobs import ManualJobQueue
from emulator.server import run_in_thread
from emulator.settings import Settings

JSON = {"Content-Type": "application/json"}
# Bounded so the whole file stays within a few seconds of CI time.
PROPERTY = settings(
    max_examples=150,
    deadline=2000,  # ms per example: a slow decoder path is a failure, not a flake
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- documents built to hurt ------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_declaring(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose header declares ``width`` x ``height`` whatever its data holds."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = _chunk(b"IDAT", idat) if idat else b""
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + body + _chunk(b"IEND", b"")


def png_bomb(width: int, height: int) -> bytes:
    """A few kilobytes that inflate to ``width * height * 3`` bytes of pixels."""
    raw = zlib.compressobj(9)
    row = b"\x00" * (width * 3 + 1)
    data = b"".join(raw.compress(row) for _ in range(height)) + raw.flush()
    return png_declaring(width, height, data)


def tiff_with_pages(count: int, side: int = 60) -> bytes:
    """A little-endian bilevel TIFF of ``count`` pages that all share one strip of pixels,
    written by hand (Pillow takes seconds to save thousands of frames)."""
    strip = b"\xff" * (((side + 7) // 8) * side)
    out = bytearray(b"II*\x00") + struct.pack("<I", 8 + len(strip)) + strip
    tags = [(256, side), (257, side), (258, 1), (259, 1), (262, 1), (273, 8), (278, side)]
    tags.append((279, len(strip)))
    for index in range(count):
        ifd = len(out)
        out += struct.pack("<H", len(tags))
        for tag, value in tags:
            out += struct.pack("<HHII", tag, 4, 1, value)  # type LONG, one value
        last = index == count - 1
        out += struct.pack("<I", 0 if last else ifd + 2 + 12 * len(tags) + 4)
    return bytes(out)


def tiff_with_ifd_loop() -> bytes:
    """A TIFF whose second directory points back at the first: an endless page chain."""
    data = bytearray(tiff_with_pages(2))
    first = struct.unpack("<I", data[4:8])[0]
    entries = struct.unpack("<H", data[first : first + 2])[0]
    next_at = first + 2 + entries * 12
    second = struct.unpack("<I", data[next_at : next_at + 4])[0]
    entries2 = struct.unpack("<H", data[second : second + 2])[0]
    loop_at = second + 2 + entries2 * 12
    data[loop_at : loop_at + 4] = struct.pack("<I", first)
    return bytes(data)


def pdf_with_pages(count: int, box: str = "0 0 200 200") -> bytes:
    """A minimal valid PDF of ``count`` empty pages, written by hand (no renderer needed)."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        *[f"<< /Type /Page /Parent 2 0 R /MediaBox [{box}] >>".encode()] * count,
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


async def test_declared_dimensions_beyond_the_limit_are_refused_before_decoding(
    make_harness: MakeHarness, validate: Any
) -> None:
    h = await make_harness()
    for width, height in [(100_000, 100_000), (2**31 - 1, 1), (10_001, 60), (60, 49), (0, 0)]:
        response = await h.client.post(
            ANALYZE, content=png_declaring(width, height), headers=BINARY
        )
        assert response.status_code == 400, (width, height)
        assert response.json()["code"] in {"InvalidImageDimension", "InvalidImageFormat"}
        validate("ComputerVisionOcrError", response.json())


async def test_a_decompression_bomb_within_the_limits_is_only_decoded_by_a_worker(
    make_harness: MakeHarness,
) -> None:
    """9000 x 9000 is inside the service's 10000 px limit, so the upload is accepted after
    reading headers only (a few KB in, not 243 MB); the worker decodes it once."""
    h = await make_harness()
    bomb = png_bomb(9000, 9000)
    assert len(bomb) < 400_000
    operation_id = await h.submit(bomb)
    job = h.service.store.get(operation_id)
    assert job is not None and job.status == "notStarted"


async def test_thousands_of_pages_are_capped_by_the_tier(
    make_harness: MakeHarness, validate: Any
) -> None:
    free = await make_harness(tier="free")
    for document in (pdf_with_pages(5000), tiff_with_pages(3000)):
        operation_id = await free.submit(document)
        free.run()
        body = (await free.get(operation_id)).json()
        validate("ReadOperationResult", body)
        assert body["status"] == "succeeded"
        assert [page["page"] for page in body["analyzeResult"]["readResults"]] == [1, 2]
    paid = await make_harness()
    operation_id = await paid.submit(pdf_with_pages(5000))
    job = paid.service.store.get(operation_id)
    assert job is not None and job.pages_total == 2000  # the paid tier's page cap


async def test_broken_structures_are_refused_or_fail_their_job(
    make_harness: MakeHarness, validate: Any
) -> None:
    h = await make_harness()
    for document in (
        tiff_with_ifd_loop(),
        pdf_with_pages(1, box="0 0 99999999 99999999"),
        pdf_with_pages(1, box="0 0 0 0"),
        pdf_with_pages(3)[:-40],
        b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 1000,
        b"\xff\xd8\xff\xe0" + b"\x00" * 100,
        b"II*\x00" + struct.pack("<I", 2**31),
        b"MM\x00*" + b"\xff" * 64,
        b"BM" + b"\xff" * 64,
    ):
        response = await h.client.post(ANALYZE, content=document, headers=BINARY)
        if response.status_code == 202:
            h.run()
            body = (await h.client.get(response.headers["Operation-Location"])).json()
            assert body["status"] in {"succeeded", "failed"}
            continue
        assert response.status_code == 400, response.text
        validate("ComputerVisionOcrError", response.json())
        assert response.json()["code"] in CLIENT_ERROR_CODES


# --- JSON bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[" * 60_000, "BadArgument"),  # used to be a RecursionError, i.e. a 500
        (b'{"url": ' * 20_000, "BadArgument"),
        (b"{" * 70_000, "BadArgument"),  # over the 64 KB cap
        (b'{"url": "http://127.0.0.1/' + b"a" * 70_000 + b'"}', "BadArgument"),
        (b"", "BadArgument"),
        (b"null", "BadArgument"),
        (b'"http://127.0.0.1/a.png"', "BadArgument"),
        (b'{"URL": "http://127.0.0.1/a.png"}', "BadArgument"),
        (b'{"url": 5}', "InvalidImageUrl"),
        (b'{"url": ["http://127.0.0.1/"]}', "InvalidImageUrl"),
        (b'{"url": "   "}', "InvalidImageUrl"),
        (b'{"url": "\\u0000"}', "InvalidImageUrl"),
        (b'{"url": "http://\\u0000/"}', "InvalidImageUrl"),
        (b"\xef\xbb\xbf\xff\xfe", "BadArgument"),
        (b"NaN", "BadArgument"),
    ],
)
async def test_malformed_or_enormous_json(
    make_harness: MakeHarness, body: bytes, code: str, validate: Any
) -> None:
    h = await make_harness()
    response = await h.client.post(ANALYZE, content=body, headers=JSON)
    assert_error(response, 400, code, validate)


async def test_an_enormous_json_body_is_refused_without_reading_it(
    make_harness: MakeHarness, validate: Any
) -> None:
    read = 0

    async def endless() -> Any:
        nonlocal read
        for _ in range(10_000):  # would be 640 MB
            read += 65536
            yield b" " * 65536

    h = await make_harness()
    response = await h.client.post(ANALYZE, content=endless(), headers=JSON)
    assert_error(response, 400, "BadArgument", validate)
    assert read < 1_000_000


# --- headers and query values -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        (None, 415),
        ("", 415),
        ("text/plain", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/x-www-form-urlencoded", 415),
        ("application/xml", 415),
        ("application/octet-stream; charset=utf-8", 202),
        ("IMAGE/PNG", 202),
        ("application/json", 400),  # binary bytes sent as JSON: not valid JSON
        ("application/problem+json", 400),
        (";;;", 415),
        ("a" * 5000, 415),
    ],
)
async def test_content_types(
    make_harness: MakeHarness, png: Any, content_type: str | None, status: int, validate: Any
) -> None:
    h = await make_harness()
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = await h.client.post(ANALYZE, content=png(), headers=headers)
    assert response.status_code == status, response.text
    if status != 202:
        validate("ComputerVisionOcrError", response.json())
        assert len(response.text) < 500  # the 5000-char header is not echoed whole


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"language": "x" * 10_000}, "NotSupportedLanguage"),
        ({"language": "en\x00"}, "NotSupportedLanguage"),
        ({"pages": ",".join(["1"] * 1000)}, None),
        ({"pages": ",".join(["1"] * 3000)}, "InvalidPageRange"),
        ({"pages": "1-" + "9" * 1000}, None),
        # More digits than int() converts (4300): used to be a ValueError, i.e. a 500.
        ({"pages": "1-" + "9" * 5000}, "InvalidPageRange"),
        ({"pages": "9" * 5000}, "InvalidPageRange"),
        ({"pages": "-" * 1000}, "InvalidPageRange"),
        ({"readingOrder": "natural" * 1000}, "InvalidReadingOrder"),
        ({"model-version": "9999-99-99"}, "BadArgument"),
        ({"model-version": "latest" * 1000}, "BadArgument"),
    ],
)
async def test_absurd_query_values(
    make_harness: MakeHarness, png: Any, params: dict[str, str], code: str | None, validate: Any
) -> None:
    h = await make_harness()
    response = await h.client.post(ANALYZE, params=params, content=png(), headers=BINARY)
    if code is None:
        assert response.status_code == 202, response.text
        return
    body = assert_error(response, 400, code, validate)
    assert len(body["message"]) < 300  # the value is not echoed back in full


async def test_operation_ids_of_every_shape(make_harness: MakeHarness, validate: Any) -> None:
    h = await make_harness()
    for operation_id in ["x", "0" * 10_000, "%00", "..%2f..%2fetc%2fpasswd", "' OR 1=1 --"]:
        response = await h.client.get(f"{RESULTS}/{operation_id}")
        assert response.status_code in {400, 404}, operation_id
        validate("ComputerVisionOcrError", response.json())


# --- properties ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_client() -> Iterator[httpx.Client]:
    """One emulator on a real socket for all examples: fake engine, manual queue (jobs are
    never run here)."""
    config = Settings(api_keys=(KEY,), port=0, workers=1, max_queue=100_000)
    engine = FakeEngine()
    app = create_app(
        config, engine_factory=lambda _threads: engine, job_queue=ManualJobQueue(engine, 100_000)
    )
    with (
        run_in_thread(config, app=app) as endpoint,
        httpx.Client(base_url=endpoint.url, headers=HEADERS, timeout=30) as client,
    ):
        yield client


MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"%PDF-"]


@PROPERTY
@given(prefix=st.sampled_from(MAGIC), tail=st.binary(max_size=4096))
def test_any_bytes_get_a_client_answer(
    app_client: httpx.Client, validate: Any, prefix: bytes, tail: bytes
) -> None:
    response = app_client.post(ANALYZE, content=prefix + tail, headers=BINARY)
    check_answer(response, validate)


_query_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300
)


@PROPERTY
@given(
    language=st.one_of(st.none(), st.sampled_from(["en", "de", "zh-Hans", "EN"]), _query_text),
    pages=st.one_of(
        st.none(),
        _query_text,
        st.lists(st.integers(-5, 10**12).map(str), max_size=6).map(",".join),
        st.from_regex(r"\A(\d{1,25}|\d{1,25}-\d{1,25}|\d{1,25}-|-\d{1,25})\Z"),
    ),
    order=st.one_of(st.none(), st.sampled_from(["basic", "natural", "NATURAL"]), _query_text),
    version=st.one_of(st.none(), st.sampled_from(["latest", "2022-04-30"]), _query_text),
)
def test_any_query_gets_a_client_answer(
    app_client: httpx.Client,
    validate: Any,
    png_bytes: bytes,
    language: str | None,
    pages: str | None,
    order: str | None,
    version: str | None,
) -> None:
    params = {
        name: value
        for name, value in [
            ("language", language),
            ("pages", pages),
            ("readingOrder", order),
            ("model-version", version),
        ]
        if value is not None
    }
    response = app_client.post(ANALYZE, params=params, content=png_bytes, headers=BINARY)
    check_answer(response, validate)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
# URLs that never touch the network: refused by scheme, form or address before any lookup.
_offline_urls = st.sampled_from(
    [
        "ftp://127.0.0.1/a.png",
        "file:///etc/passwd",
        "http://169.254.169.254/",
        "http://[::ffff:169.254.169.254]/",
        "http://2852039166/",
        "http://10.0.0.1/",
        "http:///",
        "http://[::1",
        "",
    ]
) | st.text(alphabet=string.ascii_letters + ":/", max_size=30).filter(
    lambda url: not url.lower().startswith(("http://", "https://"))
)


@PROPERTY
@given(
    body=st.one_of(
        _json_values,
        st.fixed_dictionaries({"url": _offline_urls | _json_values}, optional={"x": _json_values}),
    )
)
def test_any_json_body_gets_a_client_answer(
    app_client: httpx.Client, validate: Any, body: Any
) -> None:
    response = app_client.post(ANALYZE, content=json.dumps(body).encode(), headers=JSON)
    check_answer(response, validate)
    assert response.status_code == 400


@PROPERTY
@given(
    # Stripped: HTTP drops the whitespace around a header value, so a server never sees it
    # (and a conforming client refuses to send it).
    content_type=st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80
    ).map(str.strip)
)
def test_any_content_type_gets_a_client_answer(
    app_client: httpx.Client, validate: Any, png_bytes: bytes, content_type: str
) -> None:
    response = app_client.post(ANALYZE, content=png_bytes, headers={"Content-Type": content_type})
    check_answer(response, validate)


def test_still_serving_after_all_that(app_client: httpx.Client, png_bytes: bytes) -> None:
    assert app_client.get("/ready").status_code == 200
    response = app_client.post(ANALYZE, content=png_bytes, headers=BINARY)
    assert response.status_code == 202


@pytest.fixture(scope="module")
def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 80), "white").save(out, "PNG")
    return out.getvalue()
