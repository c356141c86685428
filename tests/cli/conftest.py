"""Fixtures for the ``ocr`` command's tests: the session's emulator configured through the
environment, cleared after each test, and a small printed page."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from emulator.testing import RunningEmulator


@pytest.fixture(autouse=True)
def _clean(ocr_emulator: RunningEmulator) -> Iterator[None]:
    yield
    ocr_emulator.reset()


@pytest.fixture
def service(ocr_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    """The session's emulator, configured the way a user would: environment variables."""
    monkeypatch.setenv("OCR_ENDPOINT", ocr_emulator.endpoint)
    monkeypatch.setenv("OCR_API_KEY", ocr_emulator.api_key)
    return ocr_emulator


@pytest.fixture
def hello(tmp_path: Path, text_png: Callable[[Sequence[str]], bytes]) -> Path:
    """A PNG of the printed line ``HELLO 42``."""
    path = tmp_path / "hello.png"
    path.write_bytes(text_png(["HELLO 42"]))
    return path
