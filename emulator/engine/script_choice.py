"""Stage 4, script choice: which recogniser reads a page that is not in Latin or CJK script.

PP-OCRv6's recogniser reads Latin and CJK. A requested ``language`` in another script picks
that script's Tesseract model (:func:`scripts.model_for`); with no language, a page that the
default recogniser reads poorly has its script guessed (:meth:`ScriptChoice.guess`), and is
read again by that script's model. :class:`ScriptChoice` keeps the Tesseract readers
(:class:`scripts.TesseractLines`), each loaded on first use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.engine import scripts
from emulator.engine.orientation import crop_line, dist, rot180
from emulator.engine.recognition import Reader, RecLine
from emulator.engine.words import Line

__all__ = ["ScriptChoice", "ScriptGuess"]

_log = logging.getLogger("emulator.engine")

UInt8Array = npt.NDArray[np.uint8]

#: With no language given, a page whose lines the default recogniser reads with a mean
#: confidence under this may be in another script: a sample of its longest lines is read by
#: each installed script model (see :meth:`ScriptChoice.guess`).
_SCRIPT_GATE = 0.93
#: How many of the longest lines the script guess reads.
_SCRIPT_SAMPLE = 3
#: How much more confident than the Latin model a script model must be on the sample.
_SCRIPT_MARGIN = 0.1


@dataclass(frozen=True, slots=True)
class ScriptGuess:
    """The stage's output (:meth:`ScriptChoice.guess`): the script model that reads the page
    (``None``: the default recogniser's reading stands) and the seconds the guess took."""

    model: str | None
    seconds: float


class ScriptChoice:
    """The Tesseract script models a page may be read by. Not thread-safe (the engine calls
    it under its lock)."""

    def __init__(self) -> None:
        #: The Tesseract readers loaded so far, by model name.
        self.readers: dict[str, scripts.TesseractLines] = {}

    def reader(self, model: str) -> Reader:
        """Reading line crops with the Tesseract ``model``, loaded on first use."""
        reader = self.readers.get(model)
        if reader is None:
            reader = self.readers[model] = scripts.TesseractLines(model)

        def read(crops: list[UInt8Array]) -> list[RecLine]:
            return [
                RecLine(text=r.text, score=r.score, chars=(), column_px=1.0, words=r.words)
                for r in reader.read(crops)
            ]

        return read

    def guess(self, bgr: UInt8Array, lines: list[Line]) -> ScriptGuess:
        """The script model that reads this page, when it is not Latin or CJK.

        Most pages read confidently and pay nothing. For one that does not, the longest
        lines are read by Tesseract's Latin model and by each installed script model, as
        oriented and turned half round (the default recogniser's orientation vote means
        little on a script it cannot read); a script model clearly more confident than the
        Latin one names the script.
        """
        start = time.perf_counter()
        model = self._guess(bgr, lines)
        return ScriptGuess(model, time.perf_counter() - start)

    def _guess(self, bgr: UInt8Array, lines: list[Line]) -> str | None:
        # Lines weigh by their length, so a speck read as noise does not make a page of text
        # look unread; a line read as nothing but spaces (as Cyrillic in a serif face can be,
        # confidently) counts as unread.
        widths = [dist(line.polygon[0], line.polygon[1]) for line in lines]
        scores = [ln.rec.score if ln.rec.text.strip() else 0.0 for ln in lines]
        confidence = _weighted_mean(scores, widths)
        if not lines or confidence >= _SCRIPT_GATE:
            return None
        models = scripts.installed_models()
        candidates = [m for m in scripts.SCRIPT_MODELS.values() if m in models]
        if not candidates or scripts.LATIN_MODEL not in models:
            return None
        longest = sorted(range(len(lines)), key=lambda i: -widths[i])[:_SCRIPT_SAMPLE]
        crops = [crop_line(bgr, lines[i].polygon) for i in longest]
        weights = [widths[i] for i in longest]
        for sample in (crops, [rot180(crop) for crop in crops]):
            best_model: str | None = None
            latin = self.reader(scripts.LATIN_MODEL)(sample)
            best = _weighted_mean([r.score for r in latin], weights) + _SCRIPT_MARGIN
            for model in candidates:
                read = self.reader(model)(sample)
                score = _weighted_mean([r.score for r in read], weights)
                if score > best:
                    best_model, best = model, score
            if best_model is not None:
                _log.debug("page confidence %.2f: script model %s reads it", confidence, best_model)
                return best_model
        _log.debug("page confidence %.2f: no script model reads it better", confidence)
        return None


def _weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    total = sum(weights)
    if total <= 0:
        values = list(values)
        return sum(values) / len(values) if values else 0.0
    return sum(v * w for v, w in zip(values, weights, strict=True)) / total
