"""Stage 6, words: the lines read, as the :class:`~emulator.engine.base.TextLine` objects the
engine returns.

Lines whose reading is under the engine's ``text_score`` are dropped as noise. **Words** are
cut at the spaces the recogniser emits (:func:`split_words`); each word's box spans its
characters' CTC columns and is interpolated along the line's polygon, so it lies inside it;
its confidence is the mean probability of its characters. Text is NFKC-normalised. A line's
style is the handwriting stage's (:mod:`emulator.engine.handwriting`), for Latin text of a few
characters or more.
"""

from __future__ import annotations

import itertools
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

import numpy as np
import numpy.typing as npt

from emulator.engine import handwriting
from emulator.engine.base import Polygon, TextLine, TextWord
from emulator.engine.orientation import dist
from emulator.engine.recognition import RecChar, RecLine

__all__ = ["Line", "Words", "split_words", "to_text_line", "to_text_lines"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Line:
    """One line as read, before it becomes a :class:`TextLine`."""

    polygon: FloatArray  # (4, 2), clockwise from the text's top-left as read
    rec: RecLine
    # The line's style (:mod:`emulator.engine.handwriting`) and its confidence.
    style: handwriting.StyleName = "other"
    style_confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Words:
    """The stage's output (:func:`to_text_lines`): the lines kept, in the order given, and the
    seconds it took."""

    lines: tuple[TextLine, ...]
    seconds: float


def to_text_lines(lines: Sequence[Line], text_score: float) -> Words:
    """The ``lines`` read with a score of at least ``text_score`` and some text, as
    :class:`TextLine` objects with their words (a line left with no words is dropped)."""
    start = time.perf_counter()
    kept = [ln for ln in lines if ln.rec.score >= text_score and ln.rec.text.strip()]
    text_lines = [line for line in (to_text_line(ln) for ln in kept) if line is not None]
    return Words(tuple(text_lines), time.perf_counter() - start)


def split_words(rec: RecLine, crop_width: float) -> list[tuple[str, float, float, float]]:
    """``(text, x0, x1, confidence)`` per word, x in crop pixels, cut at the recogniser's
    spaces. A word spans its first to last character's CTC column, widened by half the line's
    character pitch on each side; neighbours never overlap."""
    words: list[list[RecChar]] = []
    current: list[RecChar] = []
    for rc in rec.chars:
        if rc.char.isspace():
            if current:
                words.append(current)
            current = []
        else:
            current.append(rc)
    if current:
        words.append(current)
    if not words:
        return []
    steps = [
        b.column - a.column for w in words for a, b in itertools.pairwise(w) if b.column > a.column
    ]
    pitch = (median(steps) if steps else 3.0) * rec.column_px
    spans = []
    for w in words:
        x0 = (w[0].column + 0.5) * rec.column_px - pitch / 2
        x1 = (w[-1].column + 0.5) * rec.column_px + pitch / 2
        spans.append([max(0.0, x0), min(crop_width, x1)])
    for a, b in itertools.pairwise(spans):
        if a[1] > b[0]:
            mid = (a[1] + b[0]) / 2
            a[1], b[0] = mid, mid
    out = []
    for w, (x0, x1) in zip(words, spans, strict=True):
        text = unicodedata.normalize("NFKC", "".join(rc.char for rc in w)).strip()
        if text:
            conf = sum(rc.prob for rc in w) / len(w)
            out.append((text, x0, max(x1, x0), conf))
    return out


def to_text_line(line: Line) -> TextLine | None:
    """``line`` as a :class:`TextLine` with its words, or ``None`` when it has none."""
    poly = line.polygon
    width = max(dist(poly[0], poly[1]), dist(poly[3], poly[2]), 1e-6)
    words = []
    spans = line.rec.words if line.rec.words is not None else split_words(line.rec, width)
    for text, x0, x1, conf in spans:
        t0, t1 = x0 / width, x1 / width
        top0 = poly[0] + t0 * (poly[1] - poly[0])
        top1 = poly[0] + t1 * (poly[1] - poly[0])
        bot1 = poly[3] + t1 * (poly[2] - poly[3])
        bot0 = poly[3] + t0 * (poly[2] - poly[3])
        words.append(
            TextWord(
                text=text,
                polygon=_polygon(np.stack([top0, top1, bot1, bot0])),
                confidence=round(conf, 4),
            )
        )
    if not words:
        return None
    text = " ".join(w.text for w in words)
    # The service tells handwriting from print in Latin-script text only; and a line of a
    # character or three (a table cell's "01", a bullet) shows too little of its strokes to
    # tell: it is "other", no more likely than not (see handwriting.MIN_CHARS).
    style: handwriting.StyleName
    if not handwriting.is_latin_text(text):
        style, confidence = "other", 1.0
    elif len(text.replace(" ", "")) < handwriting.MIN_CHARS:
        style, confidence = "other", 0.5
    else:
        style, confidence = line.style, line.style_confidence
    return TextLine(
        text=text,
        polygon=_polygon(poly),
        words=tuple(words),
        style=style,
        style_confidence=confidence,
    )


def _polygon(points: FloatArray) -> Polygon:
    flat = [round(float(v), 1) for v in points.reshape(-1)]
    return (flat[0], flat[1], flat[2], flat[3], flat[4], flat[5], flat[6], flat[7])
