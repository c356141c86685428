"""Microsoft's official client (azure-cognitiveservices-vision-computervision 0.9.1), unchanged,
against the emulator on a real socket with the real OCR engine."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from _e2e_support import E2E_KEY
from azure.cognitiveservices.vision.computervision import ComputerVisionClient
from azure.cognitiveservices.vision.computervision.models import (
    ComputerVisionOcrErrorException,
    OperationStatusCodes,
    ReadOperationResult,
)
from msrest.authentication import CognitiveServicesCredentials

from emulator.server import Endpoint

LINES = ["Hello from the emulator", "The quick brown fox 42"]


@pytest.fixture
def client(endpoint: Endpoint) -> ComputerVisionClient:
    return ComputerVisionClient(endpoint.url, CognitiveServicesCredentials(E2E_KEY))


def wait(client: ComputerVisionClient, operation_location: str) -> ReadOperationResult:
    """Poll as Microsoft's quickstart does: the id is the last path segment."""
    operation_id = operation_location.rsplit("/", 1)[-1]
    deadline = time.monotonic() + 60
    while True:
        result = client.get_read_result(operation_id)
        if result.status not in (OperationStatusCodes.not_started, OperationStatusCodes.running):
            return result
        assert time.monotonic() < deadline
        time.sleep(0.2)


def texts(result: ReadOperationResult) -> list[str]:
    return [line.text for page in result.analyze_result.read_results for line in page.lines]


def test_read_in_stream_and_get_read_result(
    client: ComputerVisionClient, text_png: Callable[[Sequence[str]], bytes]
) -> None:
    raw = client.read_in_stream(io.BytesIO(text_png(LINES)), language="en", raw=True)
    location = raw.headers["Operation-Location"]
    result = wait(client, location)
    assert result.status == OperationStatusCodes.succeeded
    assert result.analyze_result.version == "3.2.0"
    assert result.analyze_result.model_version == "2022-04-30"
    [page] = result.analyze_result.read_results
    assert (page.page, page.width, page.height, page.unit) == (1, 900.0, 300.0, "pixel")
    assert texts(result) == LINES
    first = page.lines[0]
    assert len(first.bounding_box) == 8
    assert [w.text for w in first.words] == LINES[0].split()
    assert all(0.5 < w.confidence <= 1 for w in first.words)
    assert first.appearance.style.name == "other"
    # Word boxes come from character positions: each starts right of the previous one.
    starts = [w.bounding_box[0] for w in first.words]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_read_with_a_url_served_from_localhost(
    client: ComputerVisionClient,
    file_server: tuple[str, dict[str, bytes]],
    text_png: Callable[[Sequence[str]], bytes],
) -> None:
    base, files = file_server
    files["/page.png"] = text_png(["Served over HTTP"])
    raw = client.read(f"{base}/page.png", raw=True, reading_order="natural")
    result = wait(client, raw.headers["Operation-Location"])
    assert result.status == OperationStatusCodes.succeeded
    assert texts(result) == ["Served over HTTP"]


def test_error_carries_our_code(client: ComputerVisionClient) -> None:
    with pytest.raises(ComputerVisionOcrErrorException) as caught:
        client.read_in_stream(io.BytesIO(b"definitely not an image"))
    error: Any = caught.value.error
    assert error.code == "InvalidImageFormat"
    assert error.message
    assert error.request_id
    assert caught.value.response.status_code == 400


def test_validation_errors_carry_our_codes(
    client: ComputerVisionClient, text_png: Callable[[Sequence[str]], bytes]
) -> None:
    document = text_png(["x"])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"language": "xx"}, "NotSupportedLanguage"),
        ({"reading_order": "sideways"}, "InvalidReadingOrder"),
        ({"pages": ["0"]}, "InvalidPageRange"),
        ({"model_version": "bogus"}, "BadArgument"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ComputerVisionOcrErrorException) as caught:
            client.read_in_stream(io.BytesIO(document), **kwargs)
        assert caught.value.error.code == code


def test_unknown_operation(client: ComputerVisionClient) -> None:
    with pytest.raises(ComputerVisionOcrErrorException) as caught:
        client.get_read_result(str(uuid.uuid4()))
    assert caught.value.response.status_code == 404
    assert caught.value.error.code == "NotFound"


def test_wrong_key_raises_the_sdk_exception_not_type_error(endpoint: Endpoint) -> None:
    client = ComputerVisionClient(endpoint.url, CognitiveServicesCredentials("wrong"))
    with pytest.raises(ComputerVisionOcrErrorException) as caught:
        client.get_read_result(str(uuid.uuid4()))
    assert caught.value.response.status_code == 401
