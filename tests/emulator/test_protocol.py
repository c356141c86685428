"""The Read v3.2 protocol over ASGI: every answer, every error path, every body checked
against the contract."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from _harness import ANALYZE, BINARY, HEADERS, RESULTS, Harness, MakeHarness, assert_error

from emulator import contract

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


async def test_stream_submit_answers_202_with_operation_location(h: Harness, png: Any) -> None:
    response = await h.client.post(ANALYZE, content=png(), headers=BINARY)
    assert response.status_code == 202
    location = response.headers["Operation-Location"]
    assert location.startswith("http://emulator.test/vision/v3.2/read/analyzeResults/")
    assert UUID_RE.match(location.rsplit("/", 1)[-1])
    assert response.headers["apim-request-id"]
    assert response.content == b""


async def test_operation_goes_not_started_then_succeeded(
    h: Harness, png: Any, validate: Any, clock: Any
) -> None:
    operation_id = await h.submit(png(300, 120), {"language": "en"})
    waiting = await h.get(operation_id)
    assert waiting.status_code == 200
    body = waiting.json()
    validate("ReadOperationResult", body)
    assert body["status"] == "notStarted"
    assert "analyzeResult" not in body
    assert int(waiting.headers["Retry-After"]) >= 1
    assert TIMESTAMP_RE.match(body["createdDateTime"])

    h.run()
    done = await h.get(operation_id)
    body = done.json()
    validate("ReadOperationResult", body)
    assert "Retry-After" not in done.headers
    assert body["status"] == "succeeded"
    assert TIMESTAMP_RE.match(body["lastUpdatedDateTime"])
    result = body["analyzeResult"]
    assert result["version"] == "3.2.0"
    assert result["modelVersion"] == "2022-04-30"
    [page] = result["readResults"]
    assert page["page"] == 1
    assert (page["width"], page["height"], page["unit"]) == (300, 120, "pixel")
    assert page["angle"] == 0
    [line] = page["lines"]
    assert line["text"] == "PAGE 300x120"
    assert line["appearance"] == {"style": {"name": "other", "confidence": 1.0}}
    assert [w["text"] for w in line["words"]] == ["PAGE", "300x120"]
    assert all(isinstance(v, int) for v in line["boundingBox"])


async def test_chunked_upload_without_content_length(h: Harness, png: Any) -> None:
    data = png(256, 128)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 100):
            yield data[start : start + 100]

    request = h.client.build_request("POST", ANALYZE, content=chunks(), headers=BINARY)
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = await h.client.send(request)
    assert response.status_code == 202
    h.run()
    body = (await h.client.get(response.headers["Operation-Location"])).json()
    assert body["analyzeResult"]["readResults"][0]["width"] == 256


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream; charset=x"])
async def test_other_binary_content_types_are_streams(
    h: Harness, png: Any, content_type: str
) -> None:
    response = await h.client.post(ANALYZE, content=png(), headers={"Content-Type": content_type})
    assert response.status_code == 202


async def test_multipage_tiff_gives_one_read_result_per_page(
    h: Harness, multipage_tiff: Any, validate: Any
) -> None:
    operation_id = await h.submit(multipage_tiff(3))
    h.run()
    body = (await h.get(operation_id)).json()
    validate("ReadOperationResult", body)
    pages = body["analyzeResult"]["readResults"]
    assert [p["page"] for p in pages] == [1, 2, 3]
    assert [p["width"] for p in pages] == [100, 110, 120]


async def test_pdf_pages_are_reported_in_inches(h: Harness, pdf: Any, validate: Any) -> None:
    operation_id = await h.submit(pdf(2), {"pages": "2"})
    h.run()
    body = (await h.get(operation_id)).json()
    validate("ReadOperationResult", body)
    [page] = body["analyzeResult"]["readResults"]
    assert page["page"] == 2
    assert page["unit"] == "inch"
    assert page["width"] == pytest.approx(8.5, abs=0.01)
    assert page["height"] == pytest.approx(11, abs=0.01)
    box = page["lines"][0]["boundingBox"]
    assert all(0 <= v <= 11 for v in box)
    assert all(round(v, 4) == v for v in box)


async def test_query_options_reach_the_engine(h: Harness, png: Any) -> None:
    await h.submit(png(), {"language": "de", "readingOrder": "natural", "model-version": "latest"})
    h.run()
    assert h.engine.languages == ["de"]
    assert h.engine.reading_orders == ["natural"]


@pytest.mark.parametrize(
    ("version", "served"),
    [
        ("latest", "2022-04-30"),
        ("latest-preview", "2022-01-30-preview"),
        ("2021-04-12", "2021-04-12"),
        ("2021-09-30-preview", "2021-09-30-preview"),
        ("2022-01-30-preview", "2022-01-30-preview"),
        ("2022-04-30", "2022-04-30"),
    ],
)
async def test_every_model_version_the_service_served_is_accepted_and_named(
    h: Harness, png: Any, version: str, served: str
) -> None:
    operation_id = await h.submit(png(), {"model-version": version})
    h.run()
    assert (await h.get(operation_id)).json()["analyzeResult"]["modelVersion"] == served


async def test_pages_selects_pages(h: Harness, multipage_tiff: Any) -> None:
    operation_id = await h.submit(multipage_tiff(5), {"pages": "1,3-4"})
    h.run()
    body = (await h.get(operation_id)).json()
    assert [p["page"] for p in body["analyzeResult"]["readResults"]] == [1, 3, 4]


# --- validation errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"language": "xx"}, "NotSupportedLanguage"),
        ({"language": "klingon"}, "NotSupportedLanguage"),
        ({"readingOrder": "zigzag"}, "InvalidReadingOrder"),
        ({"pages": "a"}, "InvalidPageRange"),
        ({"pages": "0"}, "InvalidPageRange"),
        ({"pages": "3-1"}, "InvalidPageRange"),
        ({"pages": "1,,2"}, "InvalidPageRange"),
        ({"model-version": "bogus"}, "BadArgument"),
        ({"model-version": "1999-01-01"}, "BadArgument"),
    ],
)
async def test_bad_query_parameters(
    h: Harness, png: Any, validate: Any, params: dict[str, str], code: str
) -> None:
    response = await h.client.post(ANALYZE, params=params, content=png(), headers=BINARY)
    assert_error(response, 400, code, validate)
    assert h.queue is not None and h.queue.depth == 0


@pytest.mark.parametrize("language", sorted(contract.languages()))
async def test_every_contract_language_is_accepted(h: Harness, png: Any, language: str) -> None:
    await h.submit(png(), {"language": language})


async def test_the_languages_of_model_2022_04_30_are_accepted(h: Harness, png: Any) -> None:
    assert len(contract.model_languages() - contract.languages()) >= 90
    for language in ("ru", "ar", "hi", "ku-arab", "uz-cyrl", "sr-latn", "kk-latn", "JNS"):
        await h.submit(png(), {"language": language})
    h.run()
    assert h.engine.languages[-1] == "Jns"  # the service's own spelling


async def test_language_is_case_insensitive_and_canonicalised(h: Harness, png: Any) -> None:
    await h.submit(png(), {"language": "ZH-hans", "readingOrder": "NATURAL"})
    h.run()
    assert h.engine.languages == ["zh-Hans"]
    assert h.engine.reading_orders == ["natural"]


async def test_page_range_beyond_the_document(
    h: Harness, multipage_tiff: Any, validate: Any
) -> None:
    response = await h.client.post(
        ANALYZE, params={"pages": "7"}, content=multipage_tiff(2), headers=BINARY
    )
    assert_error(response, 400, "InvalidPageRange", validate)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "InvalidImageSize"),
        (b"this is not an image", "InvalidImageFormat"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "InvalidImageFormat"),
    ],
)
async def test_bad_documents(h: Harness, validate: Any, data: bytes, code: str) -> None:
    response = await h.client.post(ANALYZE, content=data, headers=BINARY)
    assert_error(response, 400, code, validate)


async def test_too_small_image(h: Harness, png: Any, validate: Any) -> None:
    response = await h.client.post(ANALYZE, content=png(40, 40), headers=BINARY)
    assert_error(response, 400, "InvalidImageDimension", validate)


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data; boundary=x"])
async def test_unsupported_media_type(
    h: Harness, png: Any, validate: Any, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    request = h.client.build_request("POST", ANALYZE, content=png(), headers=headers)
    if content_type is None:
        request.headers.pop("content-type", None)
    assert_error(await h.client.send(request), 415, "UnsupportedMediaType", validate)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "BadArgument"),
        (b"[]", "BadArgument"),
        (b'{"uri": "http://x"}', "BadArgument"),
        (b'{"url": ""}', "InvalidImageUrl"),
        (b'{"url": 5}', "InvalidImageUrl"),
        (b'{"url": "ftp://example.com/a.png"}', "InvalidImageUrl"),
        (b'{"url": "file:///etc/passwd"}', "InvalidImageUrl"),
        (b'{"url": "not a url"}', "InvalidImageUrl"),
        (b'{"url": "http://169.254.169.254/latest/meta-data"}', "InvalidImageUrl"),
        (b'{"url": "http://[fe80::1]/a.png"}', "InvalidImageUrl"),
        (b'{"url": "http://metadata.google.internal/x"}', "InvalidImageUrl"),
        (b'{"url": "http://host.invalid/a.png"}', "FailedToDownloadImage"),
        (b'{"url": "http://x/' + b"a" * 70000 + b'"}', "BadArgument"),
    ],
)
async def test_bad_url_requests(h: Harness, validate: Any, body: bytes, code: str) -> None:
    response = await h.client.post(
        ANALYZE, content=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert_error(response, 400, code, validate)


# --- operations ------------------------------------------------------------------------------


async def test_unknown_operation_is_404_json(h: Harness, validate: Any) -> None:
    response = await h.get(str(uuid.uuid4()))
    assert_error(response, 404, "NotFound", validate)


async def test_malformed_operation_id_is_400_json(h: Harness, validate: Any) -> None:
    assert_error(await h.get("not-a-uuid"), 400, "BadArgument", validate)
    response = await h.client.delete(f"{RESULTS}/not-a-uuid")
    assert_error(response, 400, "BadArgument", validate)


async def test_delete_removes_the_operation(h: Harness, png: Any, validate: Any) -> None:
    operation_id = await h.submit(png())
    h.run()
    assert (await h.get(operation_id)).status_code == 200
    response = await h.client.delete(f"{RESULTS}/{operation_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(await h.get(operation_id), 404, "NotFound", validate)
    assert_error(await h.client.delete(f"{RESULTS}/{operation_id}"), 404, "NotFound", validate)
    assert h.service.store.get(operation_id) is None


async def test_delete_before_the_job_runs_drops_it(h: Harness, png: Any) -> None:
    operation_id = await h.submit(png())
    assert (await h.client.delete(f"{RESULTS}/{operation_id}")).status_code == 204
    h.run()
    assert h.engine.calls == 0
    assert (await h.get(operation_id)).status_code == 404


async def test_failed_job_reports_failed_without_result(
    make_harness: MakeHarness, png: Any, validate: Any
) -> None:
    from emulator.engine.fake import FakeEngine

    h = await make_harness(engine=FakeEngine(fail_on_call=1))
    operation_id = await h.submit(png())
    h.run()
    body = (await h.get(operation_id)).json()
    validate("ReadOperationResult", body)
    assert body["status"] == "failed"
    assert "analyzeResult" not in body
    assert h.service.store.read_document(operation_id) is None


# --- routing and auth ------------------------------------------------------------------------


async def test_unknown_path_is_404_json(h: Harness, validate: Any) -> None:
    assert_error(await h.client.get("/vision/v3.2/nothing"), 404, "NotFound", validate)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ANALYZE), ("PUT", f"{RESULTS}/{uuid.uuid4()}"), ("POST", "/ready")],
)
async def test_wrong_method_is_405_json(h: Harness, validate: Any, method: str, path: str) -> None:
    response = await h.client.request(method, path)
    assert_error(response, 405, "MethodNotAllowed", validate)
    assert response.headers["allow"]


@pytest.mark.parametrize("key", [None, "", "wrong-key", HEADERS["Ocp-Apim-Subscription-Key"] + "x"])
async def test_missing_or_wrong_key_is_401_wrapped(h: Harness, png: Any, key: str | None) -> None:
    headers = dict(BINARY)
    request = h.client.build_request("POST", ANALYZE, content=png(), headers=headers)
    del request.headers["Ocp-Apim-Subscription-Key"]
    if key is not None:
        request.headers["Ocp-Apim-Subscription-Key"] = key
    response = await h.client.send(request)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "401",
            "message": "Access denied due to invalid subscription key or wrong API endpoint. "
            "Make sure to provide a valid key for an active subscription and use a correct "
            "regional API endpoint for your resource.",
        }
    }
    assert response.headers["apim-request-id"]


async def test_every_configured_key_works(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness(api_keys=("old-key", "new-key"))
    for key in ("old-key", "new-key"):
        response = await h.client.post(
            ANALYZE,
            content=png(),
            headers={**BINARY, "Ocp-Apim-Subscription-Key": key},
        )
        assert response.status_code == 202


async def test_only_health_needs_no_key(h: Harness) -> None:
    bare = httpx.AsyncClient(transport=h.client._transport, base_url="http://emulator.test")
    async with bare:
        ready = await bare.get("/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready"}
        status = (await bare.get("/status")).json()
        assert status["status"] == "ready"
        assert status["queue"] == {"waiting": 0, "capacity": 100}
        assert (await bare.get("/swagger.json")).status_code == 401
        swagger = await h.client.get("/swagger.json")
        assert swagger.status_code == 200
        assert swagger.content == contract.openapi_bytes()
        assert swagger.json()["info"]["version"] == "3.2"
        assert (await bare.get(f"{RESULTS}/{uuid.uuid4()}")).status_code == 401


async def test_ready_is_503_until_the_engine_loads(
    make_harness: MakeHarness, validate: Any
) -> None:
    import threading

    from emulator.engine.fake import FakeEngine

    release = threading.Event()
    engine = FakeEngine()

    def slow_factory(_threads: int) -> FakeEngine:
        release.wait(10)
        return engine

    h = await make_harness(manual=False, engine=engine)
    # Swap in a queue whose engine is still "loading".
    from emulator.jobs import ThreadJobQueue

    queue = ThreadJobQueue(slow_factory, workers=1, intra_op_threads=1, capacity=5)
    queue.start(h.service.runner)
    original = h.service.queue
    h.service.queue = queue
    try:
        response = await h.client.get("/ready")
        assert_error(response, 503, "ServiceUnavailable", validate)
        assert (await h.client.get("/status")).json()["status"] == "loading"
        release.set()
        for _ in range(200):
            if queue.ready:
                break
            threading.Event().wait(0.01)
        assert (await h.client.get("/ready")).status_code == 200
    finally:
        release.set()
        queue.stop()
        h.service.queue = original


def test_contract_copy_matches_the_shared_contract() -> None:
    from pathlib import Path

    shared = Path(__file__).resolve().parents[3] / "shared" / "contract" / "read-v3.2.openapi.json"
    if not shared.is_file():
        pytest.skip("shared contract not beside the repository")
    assert contract.openapi_bytes() == shared.read_bytes()


async def test_client_disconnect_mid_upload_is_not_a_server_error(h: Harness) -> None:
    incoming = [
        {"type": "http.request", "body": b"\x89PNG\r\n", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": ANALYZE,
        "raw_path": ANALYZE.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"emulator.test"),
            (b"content-type", b"application/octet-stream"),
            (b"transfer-encoding", b"chunked"),
            (b"ocp-apim-subscription-key", HEADERS["Ocp-Apim-Subscription-Key"].encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("emulator.test", 80),
    }
    await h.app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert h.queue is not None and h.queue.depth == 0
