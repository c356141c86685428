"""What goes on the wire: URLs, query strings, headers and bodies, sync and async."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from msrest import Serializer
from pytest_httpx import HTTPXMock

from ocr_sdk import AsyncOcrClient, OcrClient, OcrError
from ocr_sdk._base_client import CHUNK_SIZE, _query, operation_id_from_location

from .conftest import ANALYZE_URL, BASE, KEY, OPERATION_ID, OPERATION_LOCATION, resolve

MakeClient = Callable[..., OcrClient | AsyncOcrClient]


def accept(httpx_mock: HTTPXMock, location: str = OPERATION_LOCATION) -> None:
    httpx_mock.add_response(
        method="POST", status_code=202, headers={"Operation-Location": location}
    )


def only_request(httpx_mock: HTTPXMock) -> httpx.Request:
    [request] = httpx_mock.get_requests()
    return request


# --- query serialisation: the same as the official client ---------------------------------


@pytest.mark.parametrize(
    "pages",
    [["1", "3-5", "7-"], ["-2"], ["a b", "ü/,", "x&y=z"], ["2", "3"]],
)
def test_pages_are_encoded_like_msrest(pages: list[str]) -> None:
    expected = Serializer().query("pages", pages, "[str]", div=",")  # type: ignore[no-untyped-call]
    assert _query(language=None, pages=pages, model_version=None, reading_order=None) == (
        f"pages={expected}"
    )


@pytest.mark.parametrize("value", ["en", "zh-Hans", "2022-04-30", "latest-preview", "a b/&"])
def test_scalar_parameters_are_encoded_like_msrest(value: str) -> None:
    expected = Serializer().query("x", value, "str")  # type: ignore[no-untyped-call]
    query = _query(language=value, pages=None, model_version=value, reading_order=value)
    assert query == f"language={expected}&model-version={expected}&readingOrder={expected}"


def test_query_order_and_omission_match_the_official_client() -> None:
    query = _query(
        language="en", pages=["1", "3-5", "7-"], model_version="2022-04-30", reading_order="natural"
    )
    assert query == "language=en&pages=1,3-5,7-&model-version=2022-04-30&readingOrder=natural"
    assert _query(language=None, pages=None, model_version=None, reading_order=None) == ""
    assert _query(language=None, pages="1,3", model_version=None, reading_order=None) == (
        "pages=1%2C3"
    )


async def test_query_on_the_wire(httpx_mock: HTTPXMock, make_client: MakeClient) -> None:
    accept(httpx_mock)
    client = make_client()
    await resolve(
        client.begin_read(
            b"img",
            pages=["1", "3-5", "7-"],
            language="en",
            reading_order="natural",
            model_version="2022-04-30",
        )
    )
    request = only_request(httpx_mock)
    assert request.url.raw_path == (
        b"/vision/v3.2/read/analyze"
        b"?language=en&pages=1,3-5,7-&model-version=2022-04-30&readingOrder=natural"
    )


async def test_pages_as_one_string_is_passed_through(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    accept(httpx_mock)
    await resolve(make_client().begin_read(b"img", pages="2"))
    assert only_request(httpx_mock).url.raw_path.endswith(b"?pages=2")


async def test_no_options_means_no_query(httpx_mock: HTTPXMock, make_client: MakeClient) -> None:
    accept(httpx_mock)
    await resolve(make_client().begin_read(b"img"))
    assert str(only_request(httpx_mock).url) == ANALYZE_URL


# --- endpoint handling ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("https://h.example", "https://h.example/vision/v3.2/read/analyze"),
        ("https://h.example/", "https://h.example/vision/v3.2/read/analyze"),
        ("https://h.example:8443", "https://h.example:8443/vision/v3.2/read/analyze"),
        ("https://h.example/prefix/", "https://h.example/prefix/vision/v3.2/read/analyze"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000/vision/v3.2/read/analyze"),
    ],
)
async def test_sdk_appends_vision_v3_2_to_the_endpoint(
    httpx_mock: HTTPXMock, make_client: MakeClient, endpoint: str, url: str
) -> None:
    accept(httpx_mock)
    client = make_client(endpoint)
    await resolve(client.begin_read(b"img"))
    assert str(only_request(httpx_mock).url) == url
    assert client.base_url == url.removesuffix("/read/analyze")


# --- headers and bodies -------------------------------------------------------------------------


async def test_bytes_body_and_headers(httpx_mock: HTTPXMock, make_client: MakeClient) -> None:
    accept(httpx_mock)
    await resolve(make_client().begin_read(b"\x89PNG bytes"))
    request = only_request(httpx_mock)
    assert request.method == "POST"
    assert request.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert request.headers["Content-Type"] == "application/octet-stream"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("ocr-sdk/")
    assert request.headers["Content-Length"] == "10"
    assert request.content == b"\x89PNG bytes"


@pytest.mark.parametrize("wrap", [bytearray, memoryview])
async def test_bytearray_and_memoryview_are_bytes(
    httpx_mock: HTTPXMock, make_client: MakeClient, wrap: Callable[[bytes], Any]
) -> None:
    accept(httpx_mock)
    await resolve(make_client().begin_read(wrap(b"abc")))
    assert only_request(httpx_mock).content == b"abc"


async def test_path_is_streamed_in_chunks(
    httpx_mock: HTTPXMock, make_client: MakeClient, tmp_path: Path
) -> None:
    data = bytes(range(256)) * (CHUNK_SIZE // 256 * 3 + 7)  # several chunks and a remainder
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    accept(httpx_mock)
    await resolve(make_client().begin_read(path))
    request = only_request(httpx_mock)
    # A streamed body has no Content-Length: it was never read whole into memory.
    assert request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in request.headers
    assert request.content == data


async def test_path_as_str(httpx_mock: HTTPXMock, make_client: MakeClient, tmp_path: Path) -> None:
    path = tmp_path / "doc.png"
    path.write_bytes(b"png")
    accept(httpx_mock)
    await resolve(make_client().begin_read(str(path)))
    assert only_request(httpx_mock).content == b"png"


async def test_file_object_is_streamed_from_its_position_and_left_open(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    data = b"x" * (CHUNK_SIZE + 10)
    file = io.BytesIO(b"HEADER" + data)
    file.seek(6)
    accept(httpx_mock)
    await resolve(make_client().begin_read(file))
    request = only_request(httpx_mock)
    assert request.headers.get("Transfer-Encoding") == "chunked"
    assert request.content == data
    assert not file.closed


async def test_real_file_object(
    httpx_mock: HTTPXMock, make_client: MakeClient, tmp_path: Path
) -> None:
    path = tmp_path / "doc.tif"
    path.write_bytes(b"tiff" * 1000)
    accept(httpx_mock)
    with path.open("rb") as file:
        await resolve(make_client().begin_read(file))
    assert only_request(httpx_mock).content == b"tiff" * 1000


async def test_text_file_is_refused_before_sending(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    with pytest.raises(TypeError, match="binary"):
        await resolve(make_client().begin_read(io.StringIO("text")))  # type: ignore[arg-type]
    assert httpx_mock.get_requests() == []


async def test_missing_path_is_refused_before_sending(
    httpx_mock: HTTPXMock, make_client: MakeClient, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        await resolve(make_client().begin_read(tmp_path / "nope.png"))
    assert httpx_mock.get_requests() == []


async def test_other_document_types_are_refused(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    with pytest.raises(TypeError, match="read_url"):
        await resolve(make_client().begin_read(12345))  # type: ignore[arg-type]
    assert httpx_mock.get_requests() == []


async def test_url_source_is_a_json_body(httpx_mock: HTTPXMock, make_client: MakeClient) -> None:
    accept(httpx_mock)
    await resolve(make_client().begin_read_url("https://example.com/a b.png", language="en"))
    request = only_request(httpx_mock)
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"url": "https://example.com/a b.png"}
    assert request.url.raw_path == b"/vision/v3.2/read/analyze?language=en"


async def test_empty_url_is_refused(httpx_mock: HTTPXMock, make_client: MakeClient) -> None:
    with pytest.raises(TypeError):
        await resolve(make_client().begin_read_url(""))
    assert httpx_mock.get_requests() == []


async def test_no_key_means_no_key_header(httpx_mock: HTTPXMock, make_client: MakeClient) -> None:
    accept(httpx_mock)
    await resolve(make_client(api_key=None).begin_read(b"x"))
    assert "Ocp-Apim-Subscription-Key" not in only_request(httpx_mock).headers


# --- Operation-Location and the result URL ------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        f"https://other.example/vision/v3.2/read/analyzeResults/{OPERATION_ID}",
        f"https://{{domain}}/vision/v3.2/read/{OPERATION_ID}",  # the contract example's form
        f"https://h/vision/v3.2/read/analyzeResults/{OPERATION_ID}/",
        f"https://h/vision/v3.2/read/analyzeResults/{OPERATION_ID}?x=1",
        f"/vision/v3.2/read/analyzeResults/{OPERATION_ID}",
    ],
)
def test_operation_id_is_the_last_path_segment(location: str) -> None:
    assert operation_id_from_location(location) == OPERATION_ID


async def test_operation_location_sets_the_poller_id(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    accept(httpx_mock, location=f"https://elsewhere.example/x/read/analyzeResults/{OPERATION_ID}")
    poller = await resolve(make_client().begin_read(b"x"))
    assert poller.operation_id == OPERATION_ID


async def test_plain_location_header_is_accepted(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    # SuccessfulReadWithStream.json names the header "location".
    httpx_mock.add_response(method="POST", status_code=202, headers={"location": "/read/abc"})
    poller = await resolve(make_client().begin_read(b"x"))
    assert poller.operation_id == "abc"


@pytest.mark.parametrize("headers", [{}, {"Operation-Location": "https://h/"}])
async def test_missing_operation_location_is_an_error(
    httpx_mock: HTTPXMock, make_client: MakeClient, headers: dict[str, str]
) -> None:
    httpx_mock.add_response(method="POST", status_code=202, headers=headers)
    with pytest.raises(OcrError, match="Operation-Location") as info:
        await resolve(make_client().begin_read(b"x"))
    assert info.value.status_code == 202


async def test_result_url_is_built_from_our_endpoint_with_the_id_encoded(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    httpx_mock.add_response(method="GET", json={"status": "running"})
    result = await resolve(make_client().get_read_result("a/b c"))
    request = only_request(httpx_mock)
    assert request.method == "GET"
    assert request.url.raw_path == b"/vision/v3.2/read/analyzeResults/a%2Fb%20c"
    assert request.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert request.content == b""
    assert result.status == "running"


async def test_get_read_result_returns_the_typed_operation(
    httpx_mock: HTTPXMock, make_client: MakeClient, example_body: dict[str, Any]
) -> None:
    httpx_mock.add_response(
        method="GET", url=f"{BASE}/read/analyzeResults/{OPERATION_ID}", json=example_body
    )
    result = await resolve(make_client().get_read_result(OPERATION_ID))
    assert result.to_wire() == example_body


async def test_empty_operation_id_is_refused(make_client: MakeClient) -> None:
    with pytest.raises(ValueError):
        await resolve(make_client().get_read_result(""))


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"", {}),
        (b"<html>oops</html>", {"Content-Type": "text/html"}),
        (b'{"status": 5}', {}),
        (b"[1, 2]", {}),
    ],
)
async def test_a_200_that_is_not_a_result_is_an_error(
    httpx_mock: HTTPXMock, make_client: MakeClient, content: bytes, headers: dict[str, str]
) -> None:
    httpx_mock.add_response(
        method="GET", content=content, headers={**headers, "apim-request-id": "rid-9"}
    )
    with pytest.raises(OcrError, match="ReadOperationResult") as info:
        await resolve(make_client().get_read_result(OPERATION_ID))
    assert (info.value.status_code, info.value.request_id) == (200, "rid-9")


async def test_result_json_with_a_bom_is_accepted(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    httpx_mock.add_response(method="GET", content=b'\xef\xbb\xbf{"status": "running"}')
    result = await resolve(make_client().get_read_result(OPERATION_ID))
    assert result.status == "running"


async def test_redirects_are_not_followed(httpx_mock: HTTPXMock, make_client: MakeClient) -> None:
    # Following a redirect could carry the key to another host.
    httpx_mock.add_response(
        method="GET", status_code=302, headers={"Location": "https://evil.example/steal"}
    )
    with pytest.raises(OcrError) as info:
        await resolve(make_client().get_read_result(OPERATION_ID))
    assert info.value.status_code == 302
    assert len(httpx_mock.get_requests()) == 1
