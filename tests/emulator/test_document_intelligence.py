"""Document Intelligence's ``prebuilt-read`` (2024-11-30 and 2023-07-31) on the shared core:
the routes, the query and body rules, results valid against the service's own OpenAPI
documents with spans that index ``content`` exactly in every ``stringIndexType``, and errors
in its ``{"error": {"code", "message", "innererror"}}`` shape."""

from __future__ import annotations

import base64
from typing import Any

import pypdfium2
import pytest
import regex
from _harness import Harness, MakeHarness, ScriptedEngine
from jsonschema import Draft4Validator
from markdown_it import MarkdownIt

from emulator import contract
from ocr_sdk.output.markdown import escape
from tests.conftest import strict_definitions

V4 = "/documentintelligence/documentModels/prebuilt-read"
V31 = "/formrecognizer/documentModels/prebuilt-read"
Q4 = {"api-version": "2024-11-30"}
Q31 = {"api-version": "2023-07-31"}
BINARY = {"Content-Type": "application/octet-stream"}


def _schema(version: str, definition: str) -> Draft4Validator:
    definitions = strict_definitions(contract.document_intelligence_openapi(version))
    return Draft4Validator({"$ref": f"#/definitions/{definition}", "definitions": definitions})


def valid(version: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` checked against the version's operation schema."""
    name = "AnalyzeOperation" if version == "2024-11-30" else "AnalyzeResultOperation"
    _schema(version, name).validate(body)
    return body


async def _analyze(
    h: Harness,
    data: bytes | None,
    params: dict[str, str] | None = None,
    base: str = V4,
    **kw: Any,
) -> str:
    query = {**(Q4 if base == V4 else Q31), **(params or {})}
    if data is not None:
        kw["content"] = data
    response = await h.client.post(f"{base}:analyze", params=query, **kw)
    assert response.status_code == 202, response.text
    location: str = response.headers["Operation-Location"]
    assert location.startswith("http://emulator.test" + base + "/analyzeResults/")
    assert location.endswith("?api-version=" + query["api-version"])  # polled verbatim
    assert int(response.headers["Retry-After"]) >= 1
    return location


async def _result(h: Harness, location: str) -> dict[str, Any]:
    h.run()
    response = await h.client.get(location)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _di_error(response: Any, status: int, code: str, inner: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    if inner is not None:
        assert body["error"]["innererror"]["code"] == inner, body
    assert response.headers["apim-request-id"]
    assert response.headers["x-ms-error-code"] == code  # Azure Core's header, as the service


async def test_bytes_in_a_result_out_valid_against_the_services_contract(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness(engine=ScriptedEngine(["Hello world", "Second line"]))
    location = await _analyze(h, png(400, 200), headers=BINARY)
    running = (await h.client.get(location)).json()
    assert running["status"] == "notStarted"
    body = valid("2024-11-30", await _result(h, location))
    assert body["status"] == "succeeded"
    result = body["analyzeResult"]
    assert result["apiVersion"] == "2024-11-30"
    assert result["modelId"] == "prebuilt-read"
    assert result["contentFormat"] == "text"
    assert result["content"] == "Hello world\nSecond line"
    page = result["pages"][0]
    assert (page["pageNumber"], page["unit"], page["width"], page["height"]) == (
        1,
        "pixel",
        400,
        200,
    )
    assert [w["content"] for w in page["words"]] == ["Hello", "world", "Second", "line"]
    assert page["words"][0]["polygon"] == [10, 10, 70, 10, 70, 30, 10, 30]
    assert [line["content"] for line in page["lines"]] == ["Hello world", "Second line"]
    assert page["spans"] == [{"offset": 0, "length": len(result["content"])}]


async def test_the_2023_07_31_api_answers_its_own_shape(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness(engine=ScriptedEngine(["Hello"]))
    location = await _analyze(h, png(), base=V31, headers=BINARY)
    body = valid("2023-07-31", await _result(h, location))
    result = body["analyzeResult"]
    assert result["apiVersion"] == "2023-07-31"
    assert "contentFormat" not in result  # a 2024-11-30 field
    # 2023-07-31 has no DELETE and no /pdf.
    assert (await h.client.delete(location)).status_code == 405
    pdf = location.replace("?", "/pdf?")
    assert (await h.client.get(pdf)).status_code in (404, 405)


@pytest.mark.parametrize("index_type", ["textElements", "unicodeCodePoint", "utf16CodeUnit"])
@pytest.mark.parametrize("content_format", ["text", "markdown"])
async def test_every_span_indexes_the_content_exactly(
    make_harness: MakeHarness, png: Any, index_type: str, content_format: str
) -> None:
    # Combining marks, characters outside the BMP, a ZWJ family, Markdown's specials.
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    lines = ["Ærø e\u0301te", f"\U0001d518\U0001d52b\U0001d526 {family} done", "5*3 = [x] #1"]
    h = await make_harness(engine=ScriptedEngine(lines))
    params = {"stringIndexType": index_type, "outputContentFormat": content_format}
    location = await _analyze(h, png(), params, headers=BINARY)
    result = valid("2024-11-30", await _result(h, location))["analyzeResult"]
    assert result["stringIndexType"] == index_type
    content = result["content"]
    if index_type == "unicodeCodePoint":
        units = list(content)
    elif index_type == "utf16CodeUnit":
        units = [c for ch in content for c in ([ch, ""] if ord(ch) > 0xFFFF else [ch])]
    else:
        units = regex.findall(r"\X", content)

    def cut(span: dict[str, int]) -> str:
        return "".join(units[span["offset"] : span["offset"] + span["length"]])

    page = result["pages"][0]
    for word in page["words"]:
        written = cut(word["span"])
        expected = word["content"]
        if content_format == "markdown":
            expected = escape(expected)
        assert written == expected
    for line in page["lines"]:
        assert cut(line["spans"][0]).replace("\\", "") == line["content"].replace("\\", "")
    for paragraph in result["paragraphs"]:
        assert cut(paragraph["spans"][0]) == paragraph["content"]
    if content_format == "markdown":
        assert "5\\*3" in content and "\\[x\\]" in content  # no emphasis, no links
        rendered = MarkdownIt().render(content)
        assert "<em>" not in rendered and "<a " not in rendered and "<h1>" not in rendered


async def test_markdown_separates_pages_and_pages_select_the_document(
    make_harness: MakeHarness, multipage_tiff: Any
) -> None:
    h = await make_harness(engine=ScriptedEngine(["Page text"]))
    params = {"pages": "1, 3", "outputContentFormat": "markdown"}
    location = await _analyze(h, multipage_tiff(4), params, headers=BINARY)
    result = (await _result(h, location))["analyzeResult"]
    assert [p["pageNumber"] for p in result["pages"]] == [1, 3]
    assert result["content"].count("<!-- PageBreak -->") == 1
    second = result["pages"][1]["spans"][0]
    assert result["content"][second["offset"] :] == "Page text"


async def test_base64_source_is_read_like_bytes(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness()
    body = {"base64Source": base64.b64encode(png(222, 111)).decode()}
    location = await _analyze(h, None, json=body)
    result = (await _result(h, location))["analyzeResult"]
    assert result["content"] == "PAGE 222x111"


@pytest.mark.parametrize(
    ("body", "inner"),
    [
        (b"[1, 2]", "InvalidContentSourceFormat"),
        (b'"eHk="', "InvalidContentSourceFormat"),  # what the client sends for a bytearray
        (b"{}", "InvalidContentSourceFormat"),
        (b'{"urlSource": "http://x/a.png", "base64Source": "eHk="}', "InvalidContentSourceFormat"),
        (b'{"base64Source": "not base64!"}', "InvalidContentSourceFormat"),
        (b"{not json", "InvalidContentSourceFormat"),
    ],
)
async def test_a_bad_json_body_is_invalid_request(
    make_harness: MakeHarness, body: bytes, inner: str
) -> None:
    h = await make_harness()
    response = await h.client.post(
        f"{V4}:analyze", params=Q4, content=body, headers={"Content-Type": "application/json"}
    )
    _di_error(response, 400, "InvalidRequest", inner)


@pytest.mark.parametrize(
    "params",
    [
        {"pages": "bogus"},
        {"pages": "1-"},  # open ranges are v3.2's, not this API's
        {"locale": "??"},
        {"stringIndexType": "bytes"},
        {"features": "notAFeature"},
        {"outputContentFormat": "html"},
        {"output": "png"},
        {"output": "figures"},
    ],
)
async def test_query_values_the_service_does_not_know_are_refused(
    make_harness: MakeHarness, png: Any, params: dict[str, str]
) -> None:
    h = await make_harness()
    response = await h.client.post(
        f"{V4}:analyze", params={**Q4, **params}, content=png(), headers=BINARY
    )
    _di_error(response, 400, "InvalidArgument", "InvalidParameter")
    assert h.service.store.unfinished() == []


async def test_known_features_and_a_locale_are_accepted(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness()
    params = {"features": "ocrHighResolution,languages,styleFont", "locale": "en-US"}
    await _analyze(h, png(), params, headers=BINARY)


@pytest.mark.parametrize("version", [None, "", "2022-08-31", "2024-11-30-preview"])
async def test_an_unserved_api_version_is_the_gateways_404(
    make_harness: MakeHarness, png: Any, version: str | None
) -> None:
    h = await make_harness()
    params = {} if version is None else {"api-version": version}
    response = await h.client.post(f"{V4}:analyze", params=params, content=png(), headers=BINARY)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "404", "message": "Resource not found"}}


async def test_another_model_is_model_not_found(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness()
    for model in ("prebuilt-invoice", "my%20model", "x" * 80):
        response = await h.client.post(
            f"/documentintelligence/documentModels/{model}:analyze",
            params=Q4,
            content=png(),
            headers=BINARY,
        )
        _di_error(response, 404, "NotFound", "ModelNotFound")


async def test_core_errors_speak_this_apis_codes(make_harness: MakeHarness) -> None:
    h = await make_harness()
    bad = await h.client.post(f"{V4}:analyze", params=Q4, content=b"garbage", headers=BINARY)
    _di_error(bad, 400, "InvalidRequest", "InvalidContent")
    empty = await h.client.post(f"{V4}:analyze", params=Q4, content=b"", headers=BINARY)
    _di_error(empty, 400, "InvalidRequest", "InvalidContentLength")
    media = await h.client.post(
        f"{V4}:analyze", params=Q4, content=b"x", headers={"Content-Type": "text/plain"}
    )
    _di_error(media, 415, "UnsupportedMediaType")
    missing = await h.client.get(
        f"{V4}/analyzeResults/3b31320d-8bab-4f88-b19c-2322a7f11034", params=Q4
    )
    _di_error(missing, 404, "NotFound", "OperationNotFound")
    malformed = await h.client.get(f"{V4}/analyzeResults/not-a-uuid", params=Q4)
    _di_error(malformed, 404, "NotFound", "OperationNotFound")


async def test_jobs_are_visible_only_through_the_api_that_took_them(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness()
    location = await _analyze(h, png(), headers=BINARY)
    result_id = location.split("/analyzeResults/")[1].split("?")[0]
    v32 = await h.submit(png())
    h.run()
    assert (await h.client.get(f"/vision/v3.2/read/analyzeResults/{result_id}")).status_code == 404
    on_di = await h.client.get(f"{V4}/analyzeResults/{v32}", params=Q4)
    _di_error(on_di, 404, "NotFound", "OperationNotFound")
    assert (await h.client.get(f"{V31}/analyzeResults/{result_id}", params=Q31)).status_code == 404


async def test_delete_removes_the_result(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness()
    location = await _analyze(h, png(), headers=BINARY)
    await _result(h, location)
    assert (await h.client.delete(location)).status_code == 204
    _di_error(await h.client.get(location), 404, "NotFound", "OperationNotFound")
    _di_error(await h.client.delete(location), 404, "NotFound", "OperationNotFound")


async def test_a_failed_job_carries_an_error(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness()
    h.service.control.fail_next()
    location = await _analyze(h, png(), headers=BINARY)
    body = valid("2024-11-30", await _result(h, location))
    assert body["status"] == "failed"
    assert body["error"]["code"] and body["error"]["message"]
    assert "analyzeResult" not in body


async def test_output_pdf_is_the_input_with_its_text_searchable(
    make_harness: MakeHarness, multipage_tiff: Any
) -> None:
    h = await make_harness(engine=ScriptedEngine(["Searchable words here"]))
    location = await _analyze(h, multipage_tiff(3), {"output": "pdf", "pages": "2"}, headers=BINARY)
    pdf_url = location.replace("?", "/pdf?")
    early = await h.client.get(pdf_url)
    _di_error(early, 404, "NotFound", "OutputNotAvailable")  # not before it succeeded
    await _result(h, location)
    response = await h.client.get(pdf_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    document = pypdfium2.PdfDocument(response.content)
    assert len(document) == 3  # every page of the input, text on the page read
    texts = [document[i].get_textpage().get_text_range().strip() for i in range(3)]
    assert texts[0] == "" and texts[2] == ""
    assert texts[1].split() == ["Searchable", "words", "here"]
    # The input is gone (deleted once processed); the PDF is sealed like the result.
    job_id = location.split("/analyzeResults/")[1].split("?")[0]
    assert h.service.store.open_document(job_id) is None
    assert (await h.client.delete(location)).status_code == 204
    _di_error(await h.client.get(pdf_url), 404, "NotFound", "OperationNotFound")


async def test_no_pdf_unless_asked_for(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness()
    location = await _analyze(h, png(), headers=BINARY)
    await _result(h, location)
    response = await h.client.get(location.replace("?", "/pdf?"))
    _di_error(response, 404, "NotFound", "OutputNotAvailable")


async def test_keys_and_the_rate_limit_hold_here_too(make_harness: MakeHarness, png: Any) -> None:
    from emulator.settings import parse_rate

    h = await make_harness(rate_limit=parse_rate("2/min"))
    bare = await h.client.post(
        f"{V4}:analyze",
        params=Q4,
        content=png(),
        headers={**BINARY, "Ocp-Apim-Subscription-Key": "wrong"},
    )
    assert bare.status_code == 401
    assert bare.json()["error"]["code"] == "401"
    await _analyze(h, png(), headers=BINARY)
    await h.submit(png())  # a v3.2 request uses the same window
    limited = await h.client.post(f"{V4}:analyze", params=Q4, content=png(), headers=BINARY)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1


async def test_retention_zero_keeps_the_pdf_until_it_is_read(
    make_harness: MakeHarness, png: Any
) -> None:
    from datetime import timedelta

    h = await make_harness(retention=timedelta(0))
    location = await _analyze(h, png(), {"output": "pdf"}, headers=BINARY)
    assert (await _result(h, location))["status"] == "succeeded"
    pdf_url = location.replace("?", "/pdf?")
    assert (await h.client.get(pdf_url)).status_code == 200  # after the result was read
    _di_error(await h.client.get(pdf_url), 404, "NotFound", "OperationNotFound")
    _di_error(await h.client.get(location), 404, "NotFound", "OperationNotFound")


@pytest.mark.parametrize(
    ("path", "version"),
    [
        (V4, "2023-10-31-preview"),
        (V4, "2024-02-29-preview"),
        (V4, "2024-07-31-preview"),
        ("/formrecognizer/documentModels/prebuilt-read", "2022-08-31"),
        ("/formrecognizer/documentModels/prebuilt-read", "2023-02-28-preview"),
    ],
)
async def test_a_preview_api_version_is_served_as_its_nearest_version(
    make_harness: MakeHarness, png: Any, path: str, version: str
) -> None:
    h = await make_harness()
    response = await h.client.post(
        f"{path}:analyze", params={"api-version": version}, content=png(), headers=BINARY
    )
    assert response.status_code == 202
    location = response.headers["Operation-Location"]
    assert location.endswith(f"?api-version={version}")  # polled verbatim by the clients
    h.queue.run_all()
    body = (await h.client.get(location)).json()
    assert body["status"] == "succeeded"
    assert body["analyzeResult"]["apiVersion"] == version
    # The nearest version reads the same result (one job, whichever version asked).
    nearest = "2024-11-30" if path == V4 else "2023-07-31"
    again = await h.client.get(location.replace(version, nearest))
    assert again.json()["analyzeResult"]["apiVersion"] == nearest


async def test_strict_api_version_refuses_the_previews(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness(strict_api_version=True)
    response = await h.client.post(
        f"{V4}:analyze",
        params={"api-version": "2024-07-31-preview"},
        content=png(),
        headers=BINARY,
    )
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "404", "message": "Resource not found"}}
    ok = await h.client.post(f"{V4}:analyze", params=Q4, content=png(), headers=BINARY)
    assert ok.status_code == 202
