"""Our SDK (``ocr_sdk``) against the emulator over a real socket, with and without TLS
(verifying the generated CA), for every input format. The fake engine stands in for OCR
here except in one test that reads real text through the SDK."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from PIL import Image

from emulator.engine.fake import FakeEngine
from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings
from ocr_sdk import AsyncOcrClient, InvalidRequestError, NotFoundError, OcrClient

KEY = "sdk-e2e-key-0123456789"


def _encode(fmt: str, pages: int = 1, **params: object) -> bytes:
    frames = [Image.new("RGB", (300 + 20 * i, 150), "white") for i in range(pages)]
    buffer = io.BytesIO()
    if pages > 1:
        params = {**params, "save_all": True, "append_images": frames[1:]}
    frames[0].save(buffer, fmt, **params)
    return buffer.getvalue()


FORMATS: dict[str, tuple[Callable[[], bytes], list[str]]] = {
    "png": (lambda: _encode("PNG"), ["PAGE 300x150"]),
    "jpeg": (lambda: _encode("JPEG"), ["PAGE 300x150"]),
    "bmp": (lambda: _encode("BMP"), ["PAGE 300x150"]),
    "tiff": (lambda: _encode("TIFF", pages=3), ["PAGE 300x150", "PAGE 320x150", "PAGE 340x150"]),
    "pdf": (lambda: _encode("PDF", pages=2, resolution=50.0), ["PAGE", "PAGE"]),
}


@pytest.fixture(scope="module", params=["http", "https"])
def endpoint(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Endpoint]:
    tls = request.param == "https"
    settings = Settings(
        api_keys=(KEY,),
        port=0,
        workers=2,
        tls=tls,
        tls_ca_out=tmp_path_factory.mktemp("ca") / "ca.pem" if tls else None,
    )
    with run_in_thread(settings, engine_factory=lambda _n: FakeEngine()) as running:
        yield running


def _client(endpoint: Endpoint) -> OcrClient:
    verify: bool | Path = endpoint.ca_path if endpoint.ca_path else True
    return OcrClient(endpoint.url, KEY, verify=verify, polling_interval=0.05)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_input_format(endpoint: Endpoint, fmt: str) -> None:
    make, expected = FORMATS[fmt]
    with _client(endpoint) as client:
        result = client.read(make(), timeout=60)
    texts = [page.lines[0].text for page in result.pages]
    if fmt == "pdf":
        assert [t.split()[0] for t in texts] == expected  # type: ignore[union-attr]
        assert {page.unit for page in result.pages} == {"inch"}
    else:
        assert texts == expected
        assert {page.unit for page in result.pages} == {"pixel"}
    assert [page.page for page in result.pages] == list(range(1, len(expected) + 1))


def test_pages_and_errors_through_the_sdk(endpoint: Endpoint) -> None:
    with _client(endpoint) as client:
        result = client.read(FORMATS["tiff"][0](), pages=["2-3"], timeout=60)
        assert [page.page for page in result.pages] == [2, 3]
        with pytest.raises(InvalidRequestError) as caught:
            client.read(b"not an image", timeout=60)
        assert caught.value.code == "InvalidImageFormat"  # type: ignore[attr-defined]
        with pytest.raises(NotFoundError):
            client.get_read_result("00000000-0000-4000-8000-000000000000")


async def test_async_client(endpoint: Endpoint) -> None:
    verify: bool | Path = endpoint.ca_path if endpoint.ca_path else True
    async with AsyncOcrClient(endpoint.url, KEY, verify=verify, polling_interval=0.05) as client:
        result = await client.read(FORMATS["png"][0](), timeout=60)
    assert result.pages[0].lines[0].text == "PAGE 300x150"


def test_real_text_through_the_sdk(text_png: Callable[[Sequence[str]], bytes]) -> None:
    settings = Settings(api_keys=(KEY,), port=0, workers=1)
    with run_in_thread(settings) as running, _client(running) as client:
        result = client.read(text_png(["Emulated but real"]), timeout=60)
    assert result.text == "Emulated but real"
