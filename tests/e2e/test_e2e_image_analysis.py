"""Image Analysis 4.0 ``features=read`` with Microsoft's ``azure-ai-vision-imageanalysis``
1.0.0, unchanged, against the emulator on a real socket with the real OCR engine: bytes and
URLs answered in the same call, the contract's shape, its limits and its errors."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from _e2e_support import E2E_KEY
from azure.ai.vision.imageanalysis import ImageAnalysisClient
from azure.ai.vision.imageanalysis.models import VisualFeatures
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from PIL import Image

from emulator.jobs.service import ReadService
from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings
from ocr_sdk import AsyncOcrClient, InvalidRequestError, OcrClient
from tests.conftest import encode, text_image

LINES = ["Invoice 2041 from Contoso", "Total due 4711 EUR"]
ANALYZE = "/computervision/imageanalysis:analyze"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Endpoint, ReadService]]:
    """The emulator with the real RapidOCR engine, and its service (to look at its store)."""
    from emulator.app import create_app

    settings = Settings(api_keys=(E2E_KEY,), port=0, workers=1)
    app = create_app(settings)
    with run_in_thread(settings, app=app) as running:
        yield running, app.state.service


@pytest.fixture
def client(served: tuple[Endpoint, ReadService]) -> Iterator[ImageAnalysisClient]:
    with ImageAnalysisClient(served[0].url, AzureKeyCredential(E2E_KEY)) as analysis:
        yield analysis


def _page() -> bytes:
    return encode(text_image(LINES, size=(900, 220)))


def _error(error: pytest.ExceptionInfo[HttpResponseError]) -> tuple[int | None, str, str]:
    body = error.value.response.json()["error"]
    return error.value.status_code, body["code"], body.get("innererror", {}).get("code", "")


def test_an_images_bytes_are_read_in_the_same_call(
    client: ImageAnalysisClient, served: tuple[Endpoint, ReadService]
) -> None:
    result = client.analyze(image_data=_page(), visual_features=[VisualFeatures.READ])
    assert result.model_version == "2023-10-01"
    assert (result.metadata.width, result.metadata.height) == (900, 220)
    assert result.read is not None and len(result.read.blocks) == 1
    lines = result.read.blocks[0].lines
    assert [line.text for line in lines] == LINES
    for line in lines:
        assert len(line.bounding_polygon) == 4
        assert all(0 <= point.x <= 900 and 0 <= point.y <= 220 for point in line.bounding_polygon)
        assert " ".join(word.text for word in line.words) == line.text
        assert all(0 < word.confidence <= 1 for word in line.words)
    # Answered and gone: nobody else was told the job's id.
    assert served[1].store.unfinished() == []


def test_a_url_is_read_too(
    client: ImageAnalysisClient, file_server: tuple[str, dict[str, bytes]]
) -> None:
    base, files = file_server
    files["/page.png"] = _page()
    result = client.analyze_from_url(
        image_url=f"{base}/page.png", visual_features=[VisualFeatures.READ]
    )
    assert result.read is not None
    assert [line.text for line in result.read.blocks[0].lines] == LINES


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "ICO"])
def test_its_web_image_formats_are_read(client: ImageAnalysisClient, fmt: str) -> None:
    # GIF, WebP and ICO: Image Analysis takes them (Read and Document Intelligence do not).
    image = text_image(LINES[:1], size=(256, 256) if fmt == "ICO" else (900, 160))
    if fmt == "ICO":
        image = text_image(["Total 4711"], size=(256, 120)).resize((256, 256))
    data = encode(image, fmt, **({"sizes": [(256, 256)]} if fmt == "ICO" else {}))
    result = client.analyze(image_data=data, visual_features=[VisualFeatures.READ])
    assert result.read is not None
    text = " ".join(line.text for block in result.read.blocks for line in block.lines)
    assert ("4711" if fmt == "ICO" else LINES[0]) in text


def test_an_image_without_text_has_no_block(client: ImageAnalysisClient) -> None:
    blank = encode(Image.new("RGB", (300, 200), "white"))
    result = client.analyze(image_data=blank, visual_features=[VisualFeatures.READ])
    assert result.read is not None and result.read.blocks == []


@pytest.mark.parametrize(
    ("features", "document", "expected"),
    [
        ([VisualFeatures.CAPTION], "page", (400, "InvalidRequest", "NotSupportedVisualFeature")),
        (
            [VisualFeatures.READ, VisualFeatures.TAGS],
            "page",
            (400, "InvalidRequest", "NotSupportedVisualFeature"),
        ),
        ([VisualFeatures.READ], "pdf", (400, "InvalidRequest", "InvalidImageFormat")),
        ([VisualFeatures.READ], "tiny", (400, "InvalidRequest", "InvalidImageDimension")),
        ([VisualFeatures.READ], "garbage", (400, "InvalidRequest", "InvalidImageFormat")),
    ],
)
def test_what_the_service_refuses_is_refused_in_its_format(
    client: ImageAnalysisClient,
    features: list[VisualFeatures],
    document: str,
    expected: tuple[int, str, str],
) -> None:
    pdf = io.BytesIO()
    Image.new("RGB", (300, 200), "white").save(pdf, "PDF")
    data = {
        "page": _page(),
        "pdf": pdf.getvalue(),
        "tiny": encode(Image.new("RGB", (20, 20), "white")),
        "garbage": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    }[document]
    with pytest.raises(HttpResponseError) as refused:
        client.analyze(image_data=data, visual_features=features)
    assert _error(refused) == expected
    assert refused.value.response.headers["x-ms-error-code"] == expected[1]


def test_a_wrong_key_and_an_unknown_api_version(served: tuple[Endpoint, ReadService]) -> None:
    endpoint = served[0]
    with (
        ImageAnalysisClient(endpoint.url, AzureKeyCredential("wrong")) as stranger,
        pytest.raises(ClientAuthenticationError),
    ):
        stranger.analyze(image_data=_page(), visual_features=[VisualFeatures.READ])
    answer = httpx.post(
        endpoint.url + ANALYZE,
        params={"api-version": "2022-01-01", "features": "read"},
        headers={"Ocp-Apim-Subscription-Key": E2E_KEY, "Content-Type": "application/octet-stream"},
        content=_page(),
    )
    assert answer.status_code == 404
    assert answer.json() == {"error": {"code": "404", "message": "Resource not found"}}
    for version in ("2023-10-01", "2024-02-01"):
        answer = httpx.post(
            endpoint.url + ANALYZE,
            params={"api-version": version, "features": "read"},
            headers={
                "Ocp-Apim-Subscription-Key": E2E_KEY,
                "Content-Type": "application/octet-stream",
            },
            content=_page(),
            timeout=60,
        )
        assert answer.status_code == 200
        assert answer.json()["readResult"]["blocks"][0]["lines"][0]["text"] == LINES[0]


def test_the_sdks_typed_call(
    served: tuple[Endpoint, ReadService], file_server: tuple[str, dict[str, bytes]]
) -> None:
    base, files = file_server
    files["/page.png"] = _page()
    with OcrClient(served[0].url, E2E_KEY) as sdk:
        result = sdk.analyze_image(_page())
        assert result.text == "\n".join(LINES)
        assert result.metadata is not None and result.metadata.width == 900
        assert all(len(line.bounding_polygon) == 4 for line in result.lines)
        assert all(0 < (word.confidence or 0) <= 1 for line in result.lines for word in line.words)
        assert sdk.analyze_image_url(f"{base}/page.png").text == result.text
        with pytest.raises(InvalidRequestError) as refused:
            sdk.analyze_image(encode(Image.new("RGB", (20, 20), "white")))
        assert refused.value.status_code == 400 and refused.value.code == "InvalidRequest"


async def test_the_async_sdks_typed_call(served: tuple[Endpoint, ReadService]) -> None:
    async with AsyncOcrClient(served[0].url, E2E_KEY) as sdk:
        result = await sdk.analyze_image(_page(), language="en")
    assert result.text == "\n".join(LINES)
    assert result.model_version == "2023-10-01"
