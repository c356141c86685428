"""Helpers for in-process emulator tests (constants, the harness, error assertions); the
fixtures that build harnesses live in ``conftest.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from emulator.engine.base import PageText, TextLine, TextWord
from emulator.engine.fake import FakeEngine
from emulator.jobs import ManualJobQueue
from emulator.jobs.service import ReadService

KEY = "test-key-0123456789"
HEADERS = {"Ocp-Apim-Subscription-Key": KEY}
ANALYZE = "/vision/v3.2/read/analyze"
RESULTS = "/vision/v3.2/read/analyzeResults"
BINARY = {"Content-Type": "application/octet-stream"}


@dataclass
class Harness:
    """One emulator app and an authenticated client for it."""

    app: Starlette
    client: httpx.AsyncClient
    engine: FakeEngine
    queue: ManualJobQueue | None

    @property
    def service(self) -> ReadService:
        service: ReadService = self.app.state.service
        return service

    async def submit(self, data: bytes, params: dict[str, str] | None = None) -> str:
        """POST ``data`` as a stream; assert 202; return the operation id."""
        response = await self.client.post(ANALYZE, params=params, content=data, headers=BINARY)
        assert response.status_code == 202, response.text
        return response.headers["Operation-Location"].rsplit("/", 1)[-1]

    async def get(self, operation_id: str) -> httpx.Response:
        """GET the operation."""
        return await self.client.get(f"{RESULTS}/{operation_id}")

    def run(self) -> list[str]:
        """Run every queued job now (manual queue only)."""
        assert self.queue is not None
        return self.queue.run_all()


MakeHarness = Callable[..., Awaitable[Harness]]


def assert_error(
    response: httpx.Response, status: int, code: str, validate: Callable[[str, Any], None]
) -> dict[str, Any]:
    """The response is a flat service error with ``code`` and a request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    validate("ComputerVisionOcrError", body)
    assert body["code"] == code
    assert body["message"]
    assert body["requestId"] == response.headers["apim-request-id"]
    return body


#: Every 4xx code the emulator may answer for a bad request; anything else is a bug.
CLIENT_ERROR_CODES = {
    "BadArgument",
    "InvalidImageFormat",
    "InvalidImageSize",
    "InvalidImageDimension",
    "InvalidImageUrl",
    "InvalidPageRange",
    "InvalidReadingOrder",
    "NotSupportedLanguage",
    "FailedToDownloadImage",
    "UnsupportedMediaType",
}


def check_answer(response: Any, validate: Any) -> None:
    """A 202, or a 4xx in the service's format with a known code; never a 5xx."""
    assert response.status_code < 500, response.text
    if response.status_code == 202:
        assert response.headers["Operation-Location"]
        return
    assert 400 <= response.status_code < 500
    body = response.json()
    if response.status_code in (401, 429):
        assert set(body) == {"error"}
        return
    validate("ComputerVisionOcrError", body)
    assert body["code"] in CLIENT_ERROR_CODES, body
    assert body["requestId"] == response.headers["apim-request-id"]


class ScriptedEngine(FakeEngine):
    """Reads the lines it is given (one word per space), laid out top to bottom."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def recognize(self, image: Any, **_: Any) -> PageText:
        self.calls += 1
        out = []
        for row, text in enumerate(self.lines):
            y0, y1 = 10 + row * 30, 30 + row * 30
            words, x = [], 10
            for word in text.split(" "):
                x1 = x + 12 * len(word)
                words.append(TextWord(word, (x, y0, x1, y0, x1, y1, x, y1), 0.97))
                x = x1 + 8
            polygon = (10, y0, x, y0, x, y1, 10, y1)
            out.append(TextLine(text=text, polygon=polygon, words=tuple(words)))
        return PageText(angle=0.0, lines=tuple(out))
