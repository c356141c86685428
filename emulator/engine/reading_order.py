"""Stage 7, reading order: the page's lines cut at column gutters and put in the order asked.

The lines' polygons are rotated into the page's reading frame (:mod:`emulator.engine.frame`:
the page turned so its text runs left to right, a curved page's bend taken out), where
:mod:`emulator.engine.layout` orders their boxes: ``basic`` (rows top to bottom) or
``natural`` (columns, regions bounded by the rules and figures drawn on the page).
:func:`order_page` is the stage's callable.

The layout is looked up as this module's ``layout`` at each call, so ``benchmarks/order.py``
can order with another revision of it.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emulator.engine import layout
from emulator.engine.base import Polygon, ReadingOrder, TextLine
from emulator.engine.figures import Quad
from emulator.engine.frame import ReadingFrame
from emulator.engine.orientation import Orientation
from emulator.engine.separators import Separator

__all__ = ["Ordered", "order_lines", "order_page", "reading_frame", "split_at_gutters"]

# A line is read across the page when its direction is over 45 degrees from the page's.
_ACROSS_COS = math.cos(math.radians(45.0))
# A separator runs along the text when it rises at most this much per unit of length.
_RULE_SLOPE = 0.05


@dataclass(frozen=True, slots=True)
class Ordered:
    """The stage's output (:func:`order_page`): the lines in reading order and the seconds
    ordering them took."""

    lines: tuple[TextLine, ...]
    seconds: float


def order_page(
    lines: Sequence[TextLine],
    orientation: Orientation,
    reading_order: ReadingOrder,
    separators: Sequence[Separator] = (),
    figures: Sequence[Quad] = (),
) -> Ordered:
    """``lines`` cut where they bridge a column gutter (:func:`split_at_gutters`), then put in
    ``reading_order`` (:func:`order_lines`)."""
    start = time.perf_counter()
    pieces = split_at_gutters(list(lines), orientation)
    ordered = order_lines(pieces, orientation, reading_order, separators, figures)
    return Ordered(ordered, time.perf_counter() - start)


def reading_frame(lines: Sequence[TextLine], orientation: Orientation) -> ReadingFrame:
    """The frame ``lines`` are ordered in: the page turned by ``orientation``, with the bend
    of a curved page's lines taken out (:class:`emulator.engine.frame.ReadingFrame`)."""
    along = [line.polygon for line in lines if not _runs_across(line, orientation)]
    return ReadingFrame.fit(along, orientation.angle)


def split_at_gutters(lines: list[TextLine], orientation: Orientation) -> list[TextLine]:
    """Cut lines the detector merged across a column gutter (see :func:`layout.gutter_cuts`).

    Each piece keeps its words; its polygon runs from its first word's left edge to its last
    word's right edge, so it stays inside the original line's polygon.
    """
    frame = reading_frame(lines, orientation)
    boxes = [_layout_box(line, frame) for line in lines]
    words = [[frame.box(w.polygon) for w in line.words] for line in lines]
    out: list[TextLine] = []
    for line, cuts in zip(lines, layout.gutter_cuts(boxes, words), strict=True):
        if not cuts:
            out.append(line)
            continue
        bounds = [0, *(m + 1 for m in cuts), len(line.words)]
        for start, end in itertools.pairwise(bounds):
            piece = line.words[start:end]
            first, last = piece[0].polygon, piece[-1].polygon
            polygon: Polygon = (
                first[0],
                first[1],
                last[2],
                last[3],
                last[4],
                last[5],
                first[6],
                first[7],
            )
            out.append(
                TextLine(
                    text=" ".join(w.text for w in piece),
                    polygon=polygon,
                    words=piece,
                    style=line.style,
                    style_confidence=line.style_confidence,
                )
            )
    return out


def order_lines(
    lines: list[TextLine],
    orientation: Orientation,
    reading_order: ReadingOrder,
    separators: Sequence[Separator] = (),
    figures: Sequence[Quad] = (),
) -> tuple[TextLine, ...]:
    """Put ``lines`` in ``reading_order``, judged in the page's reading frame (rotated by
    ``orientation`` so text runs left to right). ``separators`` (rules and box edges found on
    the page, see :mod:`emulator.engine.separators`) bound the regions of ``natural``.

    Lines that run across the page's text (a label printed up the margin of a landscape
    table) take no part in the layout: in the reading frame each is a tall narrow box that
    would tie every row beside it into one block. They follow the page's other lines, in
    the order of where they start."""
    along: list[TextLine] = []
    across: list[TextLine] = []
    for line in lines:
        (across if _runs_across(line, orientation) else along).append(line)
    frame = reading_frame(along, orientation)
    boxes = [_layout_box(line, frame) for line in along]
    if reading_order == "natural":
        figure_boxes = [frame.box(figure) for figure in figures]
        rules, uprights = _frame_separators(separators, frame)
        texts = [line.text for line in along]
        order = layout.natural_order(boxes, rules, figure_boxes, uprights, texts)
    else:
        order = layout.basic_order(boxes)
    across.sort(key=lambda line: _frame_box(line.polygon, orientation)[1::-1])
    return tuple(along[i] for i in order) + tuple(across)


def _frame_box(polygon: Polygon, orientation: Orientation | ReadingFrame) -> layout.Box:
    return _as_frame(orientation).box(polygon)


def _as_frame(frame: Orientation | ReadingFrame) -> ReadingFrame:
    return frame if isinstance(frame, ReadingFrame) else ReadingFrame(frame.angle)


def _layout_box(line: TextLine, orientation: Orientation | ReadingFrame) -> layout.Box:
    """The line's box for layout: its polygon's height, and its words' extent along the line.

    The detector pads a line's box, at times by a character or more past its last word, which
    can close a narrow column gutter; the words span the characters the recogniser read."""
    frame = _as_frame(orientation)
    left, top, right, bottom = frame.box(line.polygon)
    if line.words:
        first = frame.box(line.words[0].polygon)
        last = frame.box(line.words[-1].polygon)
        left, right = max(left, first[0]), min(right, max(last[2], first[0] + 1.0))
    return (left, top, max(right, left + 1.0), bottom)


def _frame_separators(
    separators: Sequence[Separator], frame: ReadingFrame
) -> tuple[list[layout.Rule], list[layout.Upright]]:
    """The separators in the reading frame: those that run along the text as layout rules,
    and those that run across it (down the page) as uprights."""
    rules: list[layout.Rule] = []
    uprights: list[layout.Upright] = []
    for sep in separators:
        u, v = frame.points((sep.x0, sep.y0, sep.x1, sep.y1))
        across, down = abs(float(u[1] - u[0])), abs(float(v[1] - v[0]))
        if across > 0 and down <= _RULE_SLOPE * across:
            rules.append((float(u.min()), float(u.max()), float(v.mean())))
        elif down > 0 and across <= _RULE_SLOPE * down:
            uprights.append((float(u.mean()), float(v.min()), float(v.max())))
    return rules, uprights


def _runs_across(line: TextLine, orientation: Orientation) -> bool:
    """True when ``line`` is read in a direction far from the page's (over 45 degrees)."""
    p = line.polygon
    direction = np.array([p[2] - p[0], p[3] - p[1]], dtype=np.float64)
    length = float(np.hypot(*direction))
    return length > 0 and abs(float(direction @ orientation.along)) < _ACROSS_COS * length
