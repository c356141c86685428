"""Boxes on a page: the upright box around a polygon, and around several boxes, in whatever
units the polygons are in (the engine's pixels, or a record's pixels or inches)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: x0, y0, x1, y1.
Box = tuple[float, float, float, float]


def box_of(polygon: Sequence[float]) -> Box:
    """The upright box around ``polygon`` (flat ``x, y`` pairs)."""
    xs, ys = polygon[0::2], polygon[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def union(boxes: Iterable[Box]) -> Box:
    """The upright box around ``boxes`` (at least one)."""
    x0s, y0s, x1s, y1s = zip(*boxes, strict=True)
    return min(x0s), min(y0s), max(x1s), max(y1s)
