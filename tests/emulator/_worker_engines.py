"""Engine factories for worker-process tests. Module-level so a spawned child can import them
by name; the image's width tells the engine what to do, so one worker serves every case."""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING

from emulator.engine.base import PageText, ReadingOrder
from emulator.engine.fake import FakeEngine

if TYPE_CHECKING:
    from PIL import Image

#: A page this wide hangs the engine (sleeps far past any test's time limit).
HANG_WIDTH = 666
#: A page this wide makes the worker process kill itself with SIGKILL mid-page.
DIE_WIDTH = 777
#: A page this wide makes the engine raise (an ordinary engine error).
RAISE_WIDTH = 888
#: A page this wide takes the engine a second (long enough to pull the parent away).
SLOW_WIDTH = 555


class MisbehavingEngine:
    """The fake engine, except on the widths above."""

    name = "misbehaving"

    def __init__(self) -> None:
        self._fake = FakeEngine()

    def recognize(
        self,
        image: Image.Image,
        *,
        reading_order: ReadingOrder = "basic",
        language: str | None = None,
    ) -> PageText:
        """Hang, die or raise on the marked widths; otherwise read like the fake engine."""
        if image.width == HANG_WIDTH:
            time.sleep(3600)
        if image.width == DIE_WIDTH:
            os.kill(os.getpid(), signal.SIGKILL)
        if image.width == RAISE_WIDTH:
            raise RuntimeError("engine error")
        if image.width == SLOW_WIDTH:
            time.sleep(1)
        return self._fake.recognize(image, reading_order=reading_order, language=language)


def misbehaving_factory(_threads: int) -> MisbehavingEngine:
    """One :class:`MisbehavingEngine`."""
    return MisbehavingEngine()


def broken_factory(_threads: int) -> MisbehavingEngine:
    """An engine that cannot load."""
    raise RuntimeError("model file missing")
