"""The reading frame follows the bend of a curved page's lines (a phone photo of a book), so
the lines of its columns are read in order; flat and turned pages are left as they are."""

from __future__ import annotations

import math

from emulator.engine.base import TextLine, TextWord
from emulator.engine.frame import ReadingFrame
from emulator.engine.orientation import Orientation
from emulator.engine.reading_order import order_lines, reading_frame
from emulator.engine.separators import Separator

HEIGHT = 24.0


def _bend(u: float) -> float:
    # The page rises 70 px from its middle to its edges (the spine on the left).
    return 70.0 * ((u - 1000.0) / 1000.0) ** 2 + 30.0 * ((u - 1000.0) / 1000.0) ** 3


def _quad(x0: float, x1: float, y: float, turn: float) -> tuple[float, ...]:
    pts = [(x0, y + _bend(x0)), (x1, y + _bend(x1)), (x1, y + HEIGHT + _bend(x1))]
    pts.append((x0, y + HEIGHT + _bend(x0)))
    c, s = math.cos(math.radians(turn)), math.sin(math.radians(turn))
    return tuple(v for x, y_ in pts for v in (x * c - y_ * s, x * s + y_ * c))


def _line(x0: float, x1: float, y: float, name: str, turn: float = 0.0) -> TextLine:
    step = (x1 - x0) / 4
    words = tuple(
        TextWord(f"{name}.{k}", _quad(x0 + k * step, x0 + (k + 1) * step - 12, y, turn), 1.0)
        for k in range(4)
    )
    return TextLine(" ".join(w.text for w in words), _quad(x0, x1 - 12, y, turn), words)


def _two_columns(turn: float = 0.0) -> list[TextLine]:
    lines = []
    for column, (x0, x1) in enumerate(((100.0, 960.0), (1040.0, 1900.0))):
        for row in range(25):
            lines.append(_line(x0, x1, 100.0 + 36.0 * row, f"c{column}r{row}", turn))
    return lines


def test_lines_of_a_curved_page_are_read_column_by_column() -> None:
    lines = _two_columns()
    frame = reading_frame(lines, Orientation(0.0))
    assert frame.bend, "the bend of the lines was not found"
    # Flattened, every line is about a line high again.
    for line in lines:
        box = frame.box(line.polygon)
        assert box[3] - box[1] < 1.5 * HEIGHT
    ordered = order_lines(lines, Orientation(0.0), "natural")
    assert [line.text for line in ordered] == [line.text for line in lines]
    basic = order_lines(lines, Orientation(0.0), "basic")
    assert [line.text.split(".")[0] for line in basic[:4]] == ["c0r0", "c1r0", "c0r1", "c1r1"]


def test_without_the_bend_a_curved_page_s_line_boxes_span_two_lines() -> None:
    # Boxes that tall overlap their neighbours: rows and bands can no longer be told apart.
    lines = _two_columns()
    flat = ReadingFrame(0.0)
    tall = [flat.box(line.polygon) for line in lines]
    assert max(b[3] - b[1] for b in tall) > 2 * HEIGHT


def test_a_flat_page_turned_a_few_degrees_has_no_bend() -> None:
    global _bend
    saved = _bend
    try:
        _bend = lambda u: 0.0  # noqa: E731
        lines = _two_columns(turn=2.5)
        assert not reading_frame(lines, Orientation(2.5)).bend
        ordered = order_lines(lines, Orientation(2.5), "natural")
        assert [line.text for line in ordered] == [line.text for line in lines]
    finally:
        _bend = saved


def _leaning_columns(lean: float) -> list[TextLine]:
    """Four narrow columns of ragged lines whose left edges lean by ``lean`` (pixels across
    per pixel down), as on a photo taken at a slant; their gutters are 24 px wide."""
    lines = []
    for column in range(4):
        x0 = 100.0 + column * 424.0
        for row in range(40):
            y = 100.0 + 36.0 * row
            shift = lean * (y - 800.0)
            width = 400.0 - (row * 37 % 5) * 30.0
            name = f"c{column}r{row}"
            box = (x0 + shift, y, x0 + shift + width, y + HEIGHT)
            quad = (box[0], box[1], box[2], box[1], box[2], box[3], box[0], box[3])
            lines.append(TextLine(name, quad, (TextWord(name, quad, 1.0),)))
    return lines


def test_columns_that_lean_on_a_photo_are_still_read_column_by_column() -> None:
    lines = _leaning_columns(0.04)
    frame = reading_frame(lines, Orientation(0.0))
    assert abs(frame.shear - 0.04) <= 0.004, frame.shear
    ordered = order_lines(lines, Orientation(0.0), "natural")
    assert [line.text for line in ordered] == [line.text for line in lines]
    # Upright, the lean closes the gutters: lines of two columns share rows.
    flat = ReadingFrame(0.0)
    boxes = [flat.box(line.polygon) for line in lines]
    right_of_first = max(b[2] for b in boxes[:40] if b[2] - b[0] == 400.0)
    assert right_of_first > min(b[0] for b in boxes[40:80])


def test_upright_columns_get_no_shear() -> None:
    lines = _leaning_columns(0.0)
    assert reading_frame(lines, Orientation(0.0)).shear == 0.0
    assert reading_frame(_two_columns(), Orientation(0.0)).shear == 0.0


def test_rules_drawn_down_the_gutters_of_a_turned_page_keep_its_columns() -> None:
    # Three narrow columns of short lines on one baseline grid (they line up across the
    # gutters as cells do), turned 2 degrees, with a rule drawn down each gutter: the rules,
    # turned into the reading frame, keep the columns apart.
    turn = 2.0
    c, s = math.cos(math.radians(turn)), math.sin(math.radians(turn))

    def turned(points: list[tuple[float, float]]) -> tuple[float, ...]:
        return tuple(v for x, y in points for v in (x * c - y * s, x * s + y * c))

    lines = []
    for column in range(3):
        for row in range(10):
            x0, y0 = 100.0 + 300.0 * column, 100.0 + 30.0 * row
            x1 = x0 + 100.0 + (row * 37 % 5) * 30.0
            quad = turned([(x0, y0), (x1, y0), (x1, y0 + 20.0), (x0, y0 + 20.0)])
            name = f"c{column}r{row}"
            lines.append(TextLine(name, quad, (TextWord(name, quad, 1.0),)))
    rules = []
    for x in (380.0, 680.0):
        x0, y0, x1, y1 = turned([(x, 100.0), (x, 390.0)])
        rules.append(Separator(x0, y0, x1, y1))
    names = [line.text for line in lines]
    without = order_lines(lines, Orientation(turn), "natural")
    assert [line.text for line in without][:2] == ["c0r0", "c1r0"]
    ordered = order_lines(lines, Orientation(turn), "natural", separators=rules)
    assert [line.text for line in ordered] == names
