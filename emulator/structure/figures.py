"""Figures as a reader sees them: whole, not in the pieces the engine's search leaves.

The engine finds figures to keep their labels out of the reading order
(:mod:`emulator.engine.figures`), and for that a chart found as three bars serves as well as
one box. ``prebuilt-layout`` reports figures, crops them for ``output=figures`` and writes
``<figure>`` around their text, so here the pieces become figures: a frame drawn around a
piece (four rules meeting at their ends) is the figure, with everything in it; pieces a
little apart with nothing but paper between them (bars of one chart, panels of one
illustration) are one figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from emulator.engine.base import Polygon, TextLine
from emulator.engine.separators import Separator
from emulator.structure.geometry import Box, box_of, union

# Rules meet at a frame's corner when their ends are this many line heights apart at most.
_CORNER = 0.6
# A frame holds a figure when a piece fills at least this share of it (a box around text,
# a sidebar, has none).
_FRAME_FILL = 0.05
# Pieces this many line heights apart at most, side by side or stacked, are one figure.
_JOIN_GAP = 1.0
# ... when they overlap across the gap by this share of the smaller one.
_JOIN_OVERLAP = 0.5


@dataclass(frozen=True, slots=True)
class _Frame:
    box: Box


def _area(box: Box) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def _contains(outer: Box, inner: Box, slack: float) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def _frames(separators: Sequence[Separator], unit: float) -> list[_Frame]:
    """Rectangles drawn on the page: two horizontal and two vertical rules whose ends meet."""
    horizontal = [s for s in separators if abs(s.y1 - s.y0) < abs(s.x1 - s.x0)]
    vertical = [s for s in separators if abs(s.y1 - s.y0) >= abs(s.x1 - s.x0)]
    near = _CORNER * unit
    frames: list[_Frame] = []
    for top in horizontal:
        for bottom in horizontal:
            if bottom.y0 - top.y0 < 2 * unit:
                continue
            if abs(min(top.x0, top.x1) - min(bottom.x0, bottom.x1)) > near:
                continue
            if abs(max(top.x0, top.x1) - max(bottom.x0, bottom.x1)) > near:
                continue
            x0, x1 = min(top.x0, top.x1), max(top.x0, top.x1)
            sides = [
                v
                for v in vertical
                if abs(min(v.y0, v.y1) - top.y0) <= near
                and abs(max(v.y0, v.y1) - bottom.y0) <= near
            ]
            left = any(abs(v.x0 - x0) <= near for v in sides)
            right = any(abs(v.x0 - x1) <= near for v in sides)
            if left and right:
                frames.append(_Frame((x0, top.y0, x1, bottom.y0)))
    return frames


def _apart(a: Box, b: Box) -> tuple[float, float]:
    """The gap between ``a`` and ``b`` across and down (negative: they overlap)."""
    return max(a[0], b[0]) - min(a[2], b[2]), max(a[1], b[1]) - min(a[3], b[3])


def _joins(a: Box, b: Box, unit: float) -> bool:
    gap_x, gap_y = _apart(a, b)
    if gap_x <= 0 and gap_y <= 0:
        return True
    smaller_h = min(a[3] - a[1], b[3] - b[1])
    smaller_w = min(a[2] - a[0], b[2] - b[0])
    if 0 < gap_x <= _JOIN_GAP * unit and -gap_y >= _JOIN_OVERLAP * smaller_h:
        return True
    return 0 < gap_y <= _JOIN_GAP * unit and -gap_x >= _JOIN_OVERLAP * smaller_w


def _text_between(a: Box, b: Box, lines: Sequence[Box]) -> bool:
    """Whether a text line lies in the gap between ``a`` and ``b`` (and so they are two)."""
    hull = union((a, b))
    for line in lines:
        centre = ((line[0] + line[2]) / 2, (line[1] + line[3]) / 2)
        inside_hull = hull[0] <= centre[0] <= hull[2] and hull[1] <= centre[1] <= hull[3]
        in_a = a[0] <= centre[0] <= a[2] and a[1] <= centre[1] <= a[3]
        in_b = b[0] <= centre[0] <= b[2] and b[1] <= centre[1] <= b[3]
        if inside_hull and not in_a and not in_b and _area(line) > 0:
            return True
    return False


def whole_figures(
    figures: Sequence[Polygon], separators: Sequence[Separator], lines: Sequence[TextLine]
) -> list[Polygon]:
    """The figures of a page (upright boxes in its pixels, top to bottom) from the engine's
    ``figures``, the ``separators`` drawn on it and its text ``lines``."""
    if not figures:
        return []
    line_boxes = [box_of(line.polygon) for line in lines]
    heights = sorted(b[3] - b[1] for b in line_boxes) or [20.0]
    unit = heights[len(heights) // 2]
    boxes = [box_of(f) for f in figures]
    for frame in _frames(separators, unit):
        held = [b for b in boxes if _contains(frame.box, b, unit * 0.5)]
        if held and max(_area(b) for b in held) >= _FRAME_FILL * _area(frame.box):
            boxes = [b for b in boxes if b not in held] + [frame.box]
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if _joins(a, b, unit) and not _text_between(a, b, line_boxes):
                    boxes[i] = union((a, b))
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    boxes.sort(key=lambda b: (b[1], b[0]))
    return [(b[0], b[1], b[2], b[1], b[2], b[3], b[0], b[3]) for b in boxes]
