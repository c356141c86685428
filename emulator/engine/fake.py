"""A fast, deterministic engine for tests about something other than OCR.

It "reads" one line describing the page, ``PAGE <width>x<height>``, with two words whose
boxes split the line box at the space. An optional ``delay`` lets tests observe a job while it
is running; an optional ``fail_on_call`` makes a given call raise, to exercise failed jobs.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from emulator.engine.base import PageText, ReadingOrder, TextLine, TextWord

if TYPE_CHECKING:
    from PIL import Image


class FakeEngineError(RuntimeError):
    """Raised by :class:`FakeEngine` when told to fail."""


class FakeEngine:
    """Satisfies :class:`emulator.engine.base.OcrEngine` without any model."""

    name = "fake"

    def __init__(
        self,
        *,
        delay: float = 0.0,
        fail_on_call: int | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.delay = delay
        self.fail_on_call = fail_on_call
        # Tests that need a job to stay "running" until they say so set this event later.
        self.gate = gate
        self.calls = 0
        self.reading_orders: list[ReadingOrder] = []
        self.languages: list[str | None] = []

    def recognize(
        self,
        image: Image.Image,
        *,
        reading_order: ReadingOrder = "basic",
        language: str | None = None,
    ) -> PageText:
        """Return one line ``PAGE <w>x<h>`` spanning the middle of the image."""
        self.calls += 1
        self.reading_orders.append(reading_order)
        self.languages.append(language)
        if self.gate is not None:
            self.gate.wait()
        if self.delay:
            time.sleep(self.delay)
        if self.fail_on_call is not None and self.calls == self.fail_on_call:
            raise FakeEngineError("the fake engine was told to fail")
        width, height = image.size
        x0, x1 = width * 0.1, width * 0.9
        y0, y1 = height * 0.4, height * 0.6
        split = x0 + (x1 - x0) * 0.4
        first = TextWord("PAGE", (x0, y0, split, y0, split, y1, x0, y1), 0.99)
        second = TextWord(f"{width}x{height}", (split, y0, x1, y0, x1, y1, split, y1), 0.98)
        line = TextLine(
            text=f"{first.text} {second.text}",
            polygon=(x0, y0, x1, y0, x1, y1, x0, y1),
            words=(first, second),
        )
        return PageText(angle=0.0, lines=(line,))
