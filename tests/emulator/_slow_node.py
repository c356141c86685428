"""``python -m tests.emulator._slow_node [flags]``: the ``ocr-emulator`` command, unchanged (its
flags, signals, worker processes), except that each worker's engine is the fake one, taking
``OCR_TEST_PAGE_SECONDS`` seconds a page (default 1). For tests of a real process's shutdown.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
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


def start(page_seconds: float, *flags: str) -> subprocess.Popen[str]:
    """This command as a process (``--port 0 --workers 1`` and ``flags``), each page taking
    ``page_seconds``; stdout and stderr piped, no ``OCR_EMULATOR_*`` variable of the caller's,
    and a process group of its own, which a test may signal whole as a terminal or systemd
    does without signalling pytest."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OCR_EMULATOR_")}
    environment[PAGE_SECONDS] = str(page_seconds)
    command = [sys.executable, "-m", "tests.emulator._slow_node", "--port", "0", "--workers", "1"]
    return subprocess.Popen(
        [*command, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=Path(__file__).resolve().parents[2],
        start_new_session=True,
    )


if __name__ == "__main__":
    import emulator.app
    import tests.emulator._slow_node as this  # by its name, so that a worker process finds it
    from emulator.cli import main

    emulator.app.rapid_engine_factory = this.slow_factory  # type: ignore[assignment]
    sys.exit(main(sys.argv[1:]))
