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

__all__ = ["Separator", "find_separators", "turn_upright"]

UInt8Array = npt.NDArray[np.uint8]

# The page is shrunk so its long side is this many pixels before the search.
_WORK_SIDE = 1000
# A brightness step of at least this much (0-255) between neighbouring pixels is an edge: a
# light tint against white (about 30) counts, paper noise does not.
_MIN_STEP = 24
# Pixels over which a step is measured.
_SPAN = 3
# An edge must run straight for this share of the page's width (or height) to be a
# separator; the longest word of body text is far shorter.
_MIN_LENGTH = 0.12
# Pages whose text is turned by less than this (degrees) are searched as they are.
_MIN_TURN = 0.5


@dataclass(frozen=True, slots=True)
class Separator:
    """A straight separator from ``(x0, y0)`` to ``(x1, y1)`` in the image's pixels."""

    x0: float
    y0: float
    x1: float
    y1: float


def find_separators(bgr: UInt8Array, angle: float = 0.0) -> list[Separator]:
    """Horizontal and vertical separators on the page ``bgr`` (rules, grid lines, the edges of
    tinted boxes and of pictures), in its own pixels.

    ``angle`` is the page's text angle in degrees clockwise: the shrunk page is turned upright
    first, so that the rules of a scan rotated by a few degrees run straight along the search
    (a thin rule at 2.5 degrees climbs out of a straight run within a tenth of the page)."""
    h, w = bgr.shape[:2]
    scale = min(1.0, _WORK_SIDE / max(h, w, 1))
    gray = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    if scale < 1.0:
        size = (max(round(w * scale), 1), max(round(h * scale), 1))
        gray = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    # ``to_small`` maps page pixels to the (turned) search image; its inverse maps back.
    to_small = np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]])
    if abs(angle) >= _MIN_TURN:
        gray, to_small = turn_upright(gray, angle, to_small)
    back = cv2.invertAffineTransform(to_small)
    out = []
    for x0, y0, x1, y1 in _straight_edges(np.asarray(gray, dtype=np.int16)):
        (a, b), (c, d) = (back @ np.array([[x0, x1], [y0, y1], [1.0, 1.0]])).T
        out.append(Separator(float(a), float(b), float(c), float(d)))
    return out


def turn_upright(
    gray: UInt8Array, angle: float, to_small: npt.NDArray[np.float64], *, border: int = 255
) -> tuple[UInt8Array, npt.NDArray[np.float64]]:
    """``gray`` turned by ``angle`` degrees counter-clockwise onto a canvas that holds all of
    it (``border`` around: white paper by default), and the page-to-search transform
    extended by that turn."""
    h, w = gray.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    new_w, new_h = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    turn[0, 2] += new_w / 2 - w / 2
    turn[1, 2] += new_h / 2 - h / 2
    turned = cv2.warpAffine(gray, turn, (new_w, new_h), borderValue=border, flags=cv2.INTER_LINEAR)
    combined = turn @ np.vstack([to_small, [0.0, 0.0, 1.0]])
    return np.asarray(turned, dtype=np.uint8), combined


def _straight_edges(small: npt.NDArray[np.int16]) -> list[tuple[float, float, float, float]]:
    """Long horizontal and vertical brightness steps in ``small``, as ``(x0, y0, x1, y1)``."""
    out: list[tuple[float, float, float, float]] = []
    # Steps between rows are horizontal edges; steps between columns are vertical ones. Each
    # step is taken over _SPAN pixels: shrinking and turning the page spread an edge.
    for axis in (0, 1):
        if axis == 0:
            step = np.abs(small[_SPAN:, :] - small[:-_SPAN, :]) >= _MIN_STEP
        else:
            step = np.abs(small[:, _SPAN:] - small[:, :-_SPAN]) >= _MIN_STEP
        mask = np.ascontiguousarray(step, dtype=np.uint8)
        length = max(round(_MIN_LENGTH * small.shape[1 - axis]), 3)
        kernel = np.ones((1, length) if axis == 0 else (length, 1), dtype=np.uint8)
        runs = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
        for k in range(1, count):
            x, y, bw, bh = (int(v) for v in stats[k, :4])
            if axis == 0:
                mid = y + bh / 2 + _SPAN / 2
                out.append((x, mid, x + bw, mid))
            else:
                mid = x + bw / 2 + _SPAN / 2
                out.append((mid, y, mid, y + bh))
    return out
