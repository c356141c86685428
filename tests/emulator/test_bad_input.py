"""Bad input always gets a 4xx in the service's format: truncated and corrupted documents of
every format, random bytes behind valid magic numbers, absurd page ranges."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest
from _harness import ANALYZE, BINARY, Harness
from PIL import Image

SERVICE_CODES = {"InvalidImageFormat", "InvalidImageSize", "InvalidImageDimension"}


def _documents() -> dict[str, bytes]:
    image = Image.new("RGB", (120, 90), "white")
    out: dict[str, bytes] = {}
    for fmt in ("PNG", "JPEG", "BMP", "TIFF", "PDF"):
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        out[fmt] = buffer.getvalue()
    return out


DOCUMENTS = _documents()


def _mutations() -> list[tuple[str, bytes]]:
    rng = random.Random(1234)
    cases: list[tuple[str, bytes]] = []
    for fmt, data in DOCUMENTS.items():
        for cut in (8, 16, 40, len(data) // 2, len(data) - 1):
            cases.append((f"{fmt}-truncated-{cut}", data[:cut]))
        for index in range(4):
            corrupt = bytearray(data)
            for _ in range(8):
                position = rng.randrange(8, len(corrupt))
                corrupt[position] = rng.randrange(256)
            cases.append((f"{fmt}-corrupt-{index}", bytes(corrupt)))
        cases.append((f"{fmt}-magic-then-noise", data[:8] + rng.randbytes(2000)))
    return cases


@pytest.mark.parametrize(("name", "data"), _mutations(), ids=[n for n, _ in _mutations()])
async def test_damaged_documents_never_cause_a_server_error(
    h: Harness, name: str, data: bytes
) -> None:
    response = await h.client.post(ANALYZE, content=data, headers=BINARY)
    assert response.status_code in {202, 400}, (name, response.text)
    if response.status_code == 400:
        assert response.json()["code"] in SERVICE_CODES
        return
    # Accepted (the header was intact): decoding the pages may still fail, as a failed job.
    h.run()
    operation_id = response.headers["Operation-Location"].rsplit("/", 1)[-1]
    body = (await h.get(operation_id)).json()
    assert body["status"] in {"succeeded", "failed"}


@pytest.mark.parametrize(
    "pages", ["99999999999999999999", "1-99999999999999999999", "-0", "2-", "1,1,1", " 1 "]
)
async def test_odd_page_ranges(h: Harness, pages: str, validate: Any) -> None:
    response = await h.client.post(
        ANALYZE, params={"pages": pages}, content=DOCUMENTS["PNG"], headers=BINARY
    )
    assert response.status_code in {202, 400}, response.text
    if response.status_code == 400:
        validate("ComputerVisionOcrError", response.json())
        assert response.json()["code"] == "InvalidPageRange"


async def test_a_decoder_crash_is_reported_as_invalid_image_format(
    h: Harness, monkeypatch: pytest.MonkeyPatch, validate: Any
) -> None:
    from emulator.documents.decoding import DecoderError, DecoderProcess

    def explode(self: DecoderProcess, limits: Any, deadline: Any) -> Any:
        self.kill()
        raise DecoderError("The document could not be decoded (ValueError).")

    # The check runs in a decoding child; what it answers when the child trips is the point.
    monkeypatch.setattr(DecoderProcess, "inspect", explode)
    response = await h.client.post(ANALYZE, content=DOCUMENTS["PNG"], headers=BINARY)
    assert response.status_code == 400
    validate("ComputerVisionOcrError", response.json())
    assert response.json()["code"] == "InvalidImageFormat"


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "ICO"])
async def test_image_analysis_formats_are_not_reads(h: Harness, fmt: str) -> None:
    # Image Analysis takes GIF, WebP and ICO; Read v3.2 answers them as it always has.
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), "white").save(buffer, fmt)
    response = await h.client.post(ANALYZE, content=buffer.getvalue(), headers=BINARY)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "InvalidImageFormat"
    assert "Supported formats: JPEG, PNG, BMP, TIFF, PDF" in response.json()["message"]
    assert h.service.store.unfinished() == []
