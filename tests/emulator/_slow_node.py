"""``python -m tests.emulator._slow_node [flags]``: the ``ocr-emulator`` command, unchanged (its
flags, signals, worker processes), except that each worker's engine is the fake one, taking
``OCR_TEST_PAGE_SECONDS`` seconds a page (default 1). For tests of a real process's shutdown.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

from emulator.engine.base import PageText, ReadingOrder
from emulator.engine.fake import FakeEngine

if TYPE_CHECKING:
    from PIL import Image

#: The variable that sets each page's time.
PAGE_SECONDS = "OCR_TEST_PAGE_SECONDS"


class SlowEngine:
    """The fake engine, slowed down to a given time per page."""

    name = "slow"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._fake = FakeEngine()

    def recognize(
        self,
        image: Image.Image,
        *,
        reading_order: ReadingOrder = "basic",
        language: str | None = None,
    ) -> PageText:
        """Sleep, then read like the fake engine."""
        time.sleep(self.seconds)
        return self._fake.recognize(image, reading_order=reading_order, language=language)


def slow_factory(_threads: int, recogniser: str = "strong") -> SlowEngine:
    """Stands in for :func:`emulator.app.rapid_engine_factory` (same arguments)."""
    return SlowEngine(float(os.environ.get(PAGE_SECONDS, "1")))


if __name__ == "__main__":
    import emulator.app
    import tests.emulator._slow_node as this  # by its name, so that a worker process finds it
    from emulator.cli import main

    emulator.app.rapid_engine_factory = this.slow_factory  # type: ignore[assignment]
    sys.exit(main(sys.argv[1:]))
