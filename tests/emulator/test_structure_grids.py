"""Tables ruled as grids (:mod:`emulator.structure.grids`), on drawn pages: the rules are
found by the engine's own separator search in the pixels, as in the service."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from emulator.engine.base import TextLine, TextWord
from emulator.engine.separators import find_separators
from emulator.structure.grids import find_grids
from emulator.structure.tables import Table

Gray = npt.NDArray[np.uint8]
LINE = 24  # text height, px


def _page(width: int = 1600, height: int = 1200) -> Gray:
    return np.full((height, width), 255, dtype=np.uint8)


def _across(page: Gray, y: int, x0: int, x1: int) -> None:
    cv2.line(page, (x0, y), (x1, y), 0, 2)


def _down(page: Gray, x: int, y0: int, y1: int, jag: int = 0) -> None:
    """A rule down from ``y0`` to ``y1``; with ``jag``, a pixel off every 40 px (as a web
    page's table prints)."""
    if not jag:
        cv2.line(page, (x, y0), (x, y1), 0, 2)
        return
    for k, top in enumerate(range(y0, y1, 40)):
        cv2.line(page, (x + (k % 2) * jag, top), (x + (k % 2) * jag, min(top + 40, y1)), 0, 2)


def _word(text: str, x: float, y: float) -> TextWord:
    right = x + 0.55 * LINE * len(text)
    return TextWord(text, (x, y, right, y, right, y + LINE, x, y + LINE), 0.95)


def _line(texts: Sequence[str], xs: Sequence[float], y: float) -> TextLine:
    """One engine line of ``texts`` starting at ``xs`` (one line may cross several cells)."""
    words = tuple(_word(t, x, y) for t, x in zip(texts, xs, strict=True))
    x0, x1 = words[0].polygon[0], words[-1].polygon[2]
    return TextLine(" ".join(texts), (x0, y, x1, y, x1, y + LINE, x0, y + LINE), words)


def _grid(
    page: Gray,
    rows: Sequence[Sequence[str]],
    xs: Sequence[int],
    top: int = 200,
    pitch: int = 50,
    jag: int = 0,
    span_header: bool = False,
) -> list[TextLine]:
    """A ruled grid of ``rows`` between column bounds ``xs``; with ``span_header`` the first
    row's second cell spans the rest (no rules down there)."""
    bottom = top + pitch * len(rows)
    for r in range(len(rows) + 1):
        _across(page, top + r * pitch, xs[0], xs[-1])
    for k, x in enumerate(xs):
        inner = 0 < k < len(xs) - 1
        start = top + pitch if span_header and inner and k > 1 else top
        _down(page, x, start, bottom, jag if inner else 0)
    lines = []
    for r, row in enumerate(rows):
        y = top + r * pitch + (pitch - LINE) / 2
        for c, text in enumerate(row):
            if text:
                lines.append(_line([text], [xs[c] + 12], y))
    return lines


def _find(page: Gray, lines: Sequence[TextLine]) -> list[Table]:
    bgr = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    found = find_grids(lines, find_separators(bgr), page)
    return found.tables + found.fallback


def _cells(table: Table, lines: Sequence[TextLine]) -> dict[tuple[int, int], str]:
    return {
        (c.row, c.column): " ".join(lines[li].words[wi].text for li, wi in c.words)
        for c in table.cells
    }


ROWS = [
    ["Name", "Party", "Vote"],
    ["Abdala", "Frente", "Yes"],
    ["Albrieu", "Frente", "No"],
    ["Alonso", "Civic", "Yes"],
]


def test_a_full_grid_is_read_from_its_rules() -> None:
    page = _page()
    lines = _grid(page, ROWS, [100, 500, 900, 1200])
    [table] = _find(page, lines)
    assert (table.rows, table.columns) == (4, 3)
    assert _cells(table, lines)[(2, 1)] == "Frente"
    assert {c.kind for c in table.cells if c.row == 0} == {"columnHeader"}


def test_rules_down_a_pixel_off_from_row_to_row_still_count() -> None:
    page = _page()
    lines = _grid(page, ROWS, [100, 500, 900, 1200], jag=2)
    [table] = _find(page, lines)
    assert (table.rows, table.columns) == (4, 3)


def test_a_cell_without_a_rule_down_spans_columns() -> None:
    page = _page()
    rows = [["Region", "Sales", ""], ["North", "10", "12"], ["South", "7", "9"]]
    lines = _grid(page, rows, [100, 500, 900, 1200], span_header=True)
    [table] = _find(page, lines)
    header = {(c.row, c.column): c.column_span for c in table.cells if c.row == 0}
    assert header == {(0, 0): 1, (0, 1): 2}


def test_a_line_read_across_cells_is_split_by_word() -> None:
    page = _page()
    lines = _grid(page, [["Item", "Qty"], ["", ""], ["", ""]], [100, 700, 1200])
    lines.append(_line(["Apples", "4"], [112, 712], 250 + 13))
    lines.append(_line(["Pears", "7"], [112, 712], 300 + 13))
    [table] = _find(page, lines)
    cells = _cells(table, lines)
    assert cells[(1, 0)] == "Apples" and cells[(1, 1)] == "4"


def test_a_boxed_table_ruled_across_gets_columns_from_the_white() -> None:
    page = _page()
    top, pitch = 200, 50
    rows = [("Charges", "$4.11"), ("Credits", "$0.00"), ("Tax", "$0.00"), ("Total", "$4.11")]
    for r in range(len(rows) + 1):
        _across(page, top + r * pitch, 100, 1200)
    _down(page, 100, top, top + pitch * len(rows))
    _down(page, 1200, top, top + pitch * len(rows))
    lines = [_line([label], [120], top + r * pitch + 13) for r, (label, _) in enumerate(rows)] + [
        _line([value], [1100], top + r * pitch + 13) for r, (_, value) in enumerate(rows)
    ]
    [table] = _find(page, lines)
    assert (table.rows, table.columns) == (4, 2)
    assert _cells(table, lines)[(3, 1)] == "$4.11"


def test_form_fields_in_a_box_are_no_table() -> None:
    page = _page()
    cv2.rectangle(page, (80, 150), (1500, 520), 0, 2)  # the section's box
    lines = []
    for k, y in enumerate((200, 360)):
        lines.append(_line(["Street" if k == 0 else "Country"], [100], y))
        lines.append(_line(["City" if k == 0 else "Phone"], [820], y))
        for x0, x1 in ((100, 760), (820, 1480)):
            cv2.rectangle(page, (x0, y + 40), (x1, y + 90), 0, 2)  # a field to fill in
        lines.append(_line(["837", "Elizabeth", "Key"], [110, 180, 400], y + 52))
        lines.append(_line(["Huffmanfurt"], [830], y + 52))
    assert _find(page, lines) == []


def test_a_box_around_prose_is_no_table() -> None:
    page = _page()
    cv2.rectangle(page, (80, 150), (1500, 500), 0, 2)
    _across(page, 250, 80, 1500)
    _across(page, 380, 80, 1500)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "again"]
    xs, x = [], 100.0
    for word in words:  # a word space apart, as prose is set
        xs.append(x)
        x += 0.55 * LINE * len(word) + 0.35 * LINE
    lines = [_line(words, xs, y) for y in (180, 300, 420)]
    assert _find(page, lines) == []


def _spec_list(page: Gray, rows: Sequence[tuple[str, str]], top: int = 300) -> list[TextLine]:
    """Labels and values ruled row by row, no box, under a dark heading bar."""
    cv2.rectangle(page, (100, top - 60), (1100, top - 10), 60, -1)
    lines = [_line(["ENGINE"], [112], top - 47)]
    pitch = 50
    for r, (label, value) in enumerate(rows):
        _across(page, top + (r + 1) * pitch, 100, 1100)
        y = top + r * pitch + 13
        lines.append(_line(label.split(), [112 + 120 * k for k in range(len(label.split()))], y))
        lines.append(_line([value], [1080 - 0.55 * LINE * len(value)], y))
    return lines


def test_a_list_of_labels_and_values_ruled_row_by_row_is_a_table() -> None:
    page = _page()
    rows = [("Model", "4TNV98C"), ("Fuel", "Diesel"), ("Cylinders", "4"), ("Bore", "98mm")]
    lines = _spec_list(page, rows)
    found = find_grids(lines, find_separators(cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)), page)
    assert found.tables == [] and len(found.fallback) == 1  # stands only if nothing else does
    [table] = found.fallback
    cells = _cells(table, lines)
    assert (table.rows, table.columns) == (4, 2)  # the heading bar is not a row
    assert cells[(0, 0)] == "Model" and cells[(2, 1)] == "4"
