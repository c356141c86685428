"""The recogniser cascade: a cheap model reads every line, the strong one only the lines the
cheap one has likely misread.

The cheap model is PP-OCRv6 *tiny*'s recogniser with its classifier cut to the Latin, Greek
and symbol characters (``models/rec_tiny_latin.onnx``, made by
``training/recogniser/prune.py``, then fine-tuned on generated document lines by
``training/recogniser/train.py``); the strong one is the wheel's PP-OCRv6 *small*, about seven
times its cost per column. Which lines go on to the strong model is decided by a **gate**: a
logistic model of the probability that the cheap reading differs from the truth, fitted on
generated lines whose truth is known (``training/recogniser/calibrate.py``), from features of
the cheap reading alone (:func:`line_features`). Its threshold was chosen on held-out
generated lines so that the cascade's line accuracy matches the strong model's; the fit's
figures are kept with it in ``models/gate.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["CHEAP_MODEL", "FEATURES", "GATE_FILE", "Gate", "line_features", "needs_strong"]

MODELS = Path(__file__).with_name("models")
#: The cheap recogniser (see ``models/README.md`` for its provenance and licence).
CHEAP_MODEL = MODELS / "rec_tiny_latin.onnx"
#: The gate's fitted coefficients, threshold and calibration figures.
GATE_FILE = MODELS / "gate.json"

#: What the gate sees of a reading, in this order.
FEATURES = (
    "mean_prob",  # the line's mean character probability
    "min_prob",  # its least sure character
    "low_share",  # share of characters under 0.9
    "log_chars",  # log(1 + characters read)
    "px_per_char",  # crop width per character, in crop heights: dropped characters
    "symbol_share",  # share of characters neither letters, digits nor spaces
    "log_height",  # log of the crop's height in px (small print reads worse)
    "empty",  # 1 when nothing was read
)


#: Languages whose script the cheap model does not read (its classifier kept no CJK): pages
#: in them are read by the strong model alone.
STRONG_ONLY_LANGUAGES = frozenset({"zh", "ja", "ko"})


def needs_strong(language: str | None) -> bool:
    """Whether a page in ``language`` (a BCP-47 code, ``zh-Hans``) is read by the strong model
    alone."""
    return language is not None and language.split("-")[0].lower() in STRONG_ONLY_LANGUAGES


def line_features(text: str, probs: Sequence[float], height: int, width: int) -> list[float]:
    """:data:`FEATURES` of one reading: its ``text``, each character's probability, and the
    crop's size in pixels."""
    n = len(text)
    if n == 0 or not probs:
        return [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, math.log(max(height, 1)), 1.0]
    p = np.asarray(probs, dtype=np.float64)
    symbols = sum(1 for c in text if not (c.isalnum() or c.isspace()))
    return [
        float(p.mean()),
        float(p.min()),
        float((p < 0.9).mean()),
        math.log1p(n),
        width / max(height, 1) / n,
        symbols / n,
        math.log(max(height, 1)),
        0.0,
    ]


@dataclass(frozen=True, slots=True)
class Gate:
    """A fitted logistic model of "the cheap reading is wrong" and the probability above
    which a line is read again by the strong model."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    #: The height, px, the cheap model reads lines at (the gate was fitted on such readings).
    height: int

    @classmethod
    def load(cls, path: Path = GATE_FILE) -> Gate:
        """The gate stored in ``path`` (``models/gate.json``)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was fitted on other features: {data['features']}")
        return cls(
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            height=int(data["height"]),
        )

    def p_wrong(self, rows: Sequence[Sequence[float]]) -> npt.NDArray[np.float64]:
        """The probability that each reading (its :func:`line_features`) is wrong."""
        if not rows:
            return np.zeros(0)
        x = (np.asarray(rows, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        z = x @ np.asarray(self.coef) + self.intercept
        p: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
        return p

    def unsure(self, rows: Sequence[Sequence[float]], threshold: float | None = None) -> list[int]:
        """Indices of the readings to read again: those whose :meth:`p_wrong` is above
        ``threshold`` (default: the calibrated one), and those that read nothing at all (too
        rare among the calibration lines for the fit to speak for them)."""
        limit = self.threshold if threshold is None else threshold
        if not rows:
            return []
        empty = np.asarray([row[FEATURES.index("empty")] for row in rows]) > 0.5
        doubted = (self.p_wrong(rows) > limit) | (empty & (limit < 1.0))
        return [int(i) for i in np.flatnonzero(doubted)]
