"""Cutting a detected line where it bridges a blank gap wider than a word space.

A text detector run on a shrunk page (or a small one, such as PP-OCRv6 tiny's) joins text
that faces itself across a narrow gap: the ends of two columns' lines across a gutter, a body
line and a side column's, a label and its value, a table's cells. The recogniser then reads
the pieces as one line, and the reading order can no longer put them in their columns. The
gap is still plain in the line's own crop: a run of columns without ink, much wider than a
word space. :func:`pieces` finds such runs from the crop's ink profile, before recognition, so
each piece is read and placed on its own.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["pieces"]

UInt8Array = npt.NDArray[np.uint8]

#: A blank run at least this many crop heights wide separates two pieces. A word space is
#: about a quarter of a crop's height, a column gutter at least about one.
MIN_GAP = 0.9
#: The share of the crop's rows, around its middle, whose ink counts: the tops and bottoms
#: of a crop hold the neighbouring lines' descenders and ascenders.
_BAND = 0.6
#: A column is inked when at least this share of the band's pixels are ink (specks are not).
_INK_SHARE = 0.04
#: Blank kept beside a piece where it is cut, in crop heights.
_PAD = 0.3
#: Crops shorter than this (in crop heights) are never cut.
_MIN_ASPECT = 3.0


def pieces(crop: UInt8Array, min_gap: float = MIN_GAP) -> list[tuple[int, int]]:
    """The column ranges ``[start, stop)`` of ``crop`` (an upright line, BGR or grey) that
    hold text, where blank runs at least ``min_gap`` crop heights wide separate them; one
    range, the whole crop, when there is no such run."""
    height, width = crop.shape[:2]
    whole = [(0, width)]
    if height < 4 or width < _MIN_ASPECT * height:
        return whole
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    margin = round(height * (1.0 - _BAND) / 2)
    band = np.ascontiguousarray(gray[margin : height - margin])
    _, binary = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = binary == 0
    if ink.mean() > 0.5:  # light text on a dark ground: the text is the minority
        ink = ~ink
    inked = ink.sum(axis=0) >= max(1.0, _INK_SHARE * band.shape[0])
    if not inked.any():
        return whole
    gap = max(round(min_gap * height), 1)
    # Runs of blank columns, as (start, stop).
    edges = np.flatnonzero(np.diff(np.concatenate(([1], inked.view(np.int8), [1]))))
    blanks = edges.reshape(-1, 2)
    first, last = int(np.argmax(inked)), width - int(np.argmax(inked[::-1]))
    cuts = [(int(a), int(b)) for a, b in blanks if b - a >= gap and a > first and b < last]
    if not cuts:
        return whole
    # Each piece keeps some of the blank beside it, as the detector's boxes do.
    pad = max(1, min(round(_PAD * height), gap // 4))
    out = []
    start = 0
    for a, b in cuts:
        out.append((start, a + pad))
        start = b - pad
    out.append((start, width))
    return out
