"""Shared fixtures for the example tests.

The ``ocr_emulator`` fixture comes from the plugin that ``pip install 'ocr-sdk[emulator]'``
registers; nothing needs to be imported for it. It is session-scoped, so this autouse fixture
gives every test a clean emulator (no jobs, no holds) without restarting it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from PIL import Image, ImageDraw, ImageFont

from emulator.testing import EmulatorHandle


@pytest.fixture(autouse=True)
def _fresh_emulator(ocr_emulator: EmulatorHandle) -> Iterator[None]:
    yield
    ocr_emulator.reset()


@pytest.fixture
def scan() -> Callable[[str], bytes]:
    """``scan("text")``: a PNG of one printed line, as a scanner would produce it."""

    def make(text: str) -> bytes:
        image = Image.new("RGB", (40 + 30 * len(text), 110), "white")
        font = ImageFont.load_default(size=48)
        ImageDraw.Draw(image).text((20, 25), text, fill="black", font=font)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    return make
