"""Separators drawn on the page: rules, table grid lines and the edges of shaded boxes.

Reading order over line boxes alone cannot see where a shaded box or a ruled-off block ends
when the white between it and the text around it is no wider than a paragraph break. The
page shows it, so :func:`find_separators` looks for long straight edges in the image: rows
(or columns) of pixels along which the brightness steps for a long run, as a rule's or a
box's edge does and text never does (its edges break at every letter and word).

The image is shrunk first; the cost is a few milliseconds per page.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Separator", "find_separators"]

UInt8Array = npt.NDArray[np.uint8]

# The page is shrunk so its long side is this many pixels before the search.
_WORK_SIDE = 1000
# A brightness step of at least this much (0-255) between neighbouring pixels is an edge: a
# light tint against white (about 30) counts, paper noise does not.
_MIN_STEP = 24
# An edge must run straight for this share of the page's width (or height) to be a
# separator; the longest word of body text is far shorter.
_MIN_LENGTH = 0.12


@dataclass(frozen=True, slots=True)
class Separator:
    """A straight separator from ``(x0, y0)`` to ``(x1, y1)`` in the image's pixels."""

    x0: float
    y0: float
    x1: float
    y1: float


def find_separators(bgr: UInt8Array) -> list[Separator]:
    """Horizontal and vertical separators on the page ``bgr`` (rules, grid lines, the edges of
    tinted boxes and of pictures), in its own pixels."""
    h, w = bgr.shape[:2]
    scale = min(1.0, _WORK_SIDE / max(h, w, 1))
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    if scale < 1.0:
        size = (max(round(w * scale), 1), max(round(h * scale), 1))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    small = np.asarray(gray, dtype=np.int16)
    out: list[Separator] = []
    # Steps between rows are horizontal edges; steps between columns are vertical ones.
    for axis in (0, 1):
        step = np.abs(np.diff(small, axis=axis)) >= _MIN_STEP
        mask = np.ascontiguousarray(step, dtype=np.uint8)
        length = max(round(_MIN_LENGTH * small.shape[1 - axis]), 3)
        kernel = np.ones((1, length) if axis == 0 else (length, 1), dtype=np.uint8)
        runs = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
        for k in range(1, count):
            x, y, bw, bh = (int(v) for v in stats[k, :4])
            if axis == 0:
                mid = y + bh / 2 + 0.5
                seg = Separator(x, mid, x + bw, mid)
            else:
                mid = x + bw / 2 + 0.5
                seg = Separator(mid, y, mid, y + bh)
            out.append(Separator(seg.x0 / scale, seg.y0 / scale, seg.x1 / scale, seg.y1 / scale))
    return out
