"""Table structure from synthetic lines, words and rules (:mod:`emulator.structure.tables`)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emulator.engine.base import TextLine, TextWord
from emulator.engine.separators import Separator
from emulator.structure.tables import Table, find_tables

H = 20.0  # line height in pixels
CHAR = 10.0  # width of one character
SPACE = 6.0  # a word space


def _quad(x0: float, y0: float, x1: float, y1: float) -> tuple[float, ...]:
    return (x0, y0, x1, y0, x1, y1, x0, y1)


def line(x: float, y: float, text: str, gaps: Sequence[float] = ()) -> TextLine:
    """A line at ``(x, y)``; ``gaps`` widens the space before word k+1 (engine lines read
    across cells)."""
    words = []
    cx = x
    for k, word in enumerate(text.split()):
        if k:
            cx += gaps[k - 1] if k - 1 < len(gaps) else SPACE
        w = len(word) * CHAR
        words.append(TextWord(word, _quad(cx, y, cx + w, y + H), 1.0))  # type: ignore[arg-type]
        cx += w
    return TextLine(text, _quad(x, y, cx, y + H), tuple(words))  # type: ignore[arg-type]


def cells_text(table: Table, lines: Sequence[TextLine]) -> dict[tuple[int, int], str]:
    return {
        (c.row, c.column): " ".join(lines[i].words[j].text for i, j in c.words)
        for c in table.cells
        if c.words
    }


def hrule(y: float, x0: float, x1: float) -> Separator:
    return Separator(x0, y, x1, y)


def vrule(x: float, y0: float, y1: float) -> Separator:
    return Separator(x, y0, x, y1)


def _grid_covered(table: Table) -> None:
    seen: set[tuple[int, int]] = set()
    for c in table.cells:
        for r in range(c.row, c.row + c.row_span):
            for k in range(c.column, c.column + c.column_span):
                assert (r, k) not in seen
                seen.add((r, k))
    assert seen == {(r, k) for r in range(table.rows) for k in range(table.columns)}


def test_ruled_three_by_three_grid() -> None:
    xs = (100.0, 300.0, 500.0, 700.0)
    ys = (100.0, 140.0, 180.0, 220.0)
    texts = [["Name", "Age", "City"], ["Ann", "34", "Oslo"], ["Bob", "27", "Rome"]]
    lines = [line(xs[c] + 10, ys[r] + 10, texts[r][c]) for r in range(3) for c in range(3)]
    seps = [hrule(y, xs[0], xs[-1]) for y in ys] + [vrule(x, ys[0], ys[-1]) for x in xs]
    [table] = find_tables(lines, seps, 1000, 1000)
    assert (table.rows, table.columns) == (3, 3)
    assert table.ruled
    _grid_covered(table)
    got = cells_text(table, lines)
    assert got == {(r, c): texts[r][c] for r in range(3) for c in range(3)}
    kinds = {(c.row, c.column): c.kind for c in table.cells}
    assert kinds[(0, 1)] == "columnHeader"
    assert kinds[(0, 0)] == "stubHead"
    assert kinds[(1, 1)] == "content"


def _numeric_table(y0: float = 100.0) -> list[TextLine]:
    rows = [
        ("Item", "Qty", "Price", "Total"),
        ("Apples", "12", "4.50", "54.00"),
        ("Pears", "3", "2.10", "6.30"),
        ("Plums", "140", "0.20", "28.00"),
        ("Figs", "8", "1.25", "10.00"),
    ]
    out = []
    for r, row in enumerate(rows):
        y = y0 + r * 30
        out.append(line(100, y, row[0]))
        for c, text in enumerate(row[1:]):
            right = 400 + 150 * c
            out.append(line(right - len(text) * CHAR, y, text))
    return out


def test_unruled_numeric_table_with_header() -> None:
    lines = _numeric_table()
    [table] = find_tables(lines, [], 1000, 1000)
    assert (table.rows, table.columns) == (5, 4)
    assert not table.ruled
    got = cells_text(table, lines)
    assert got[(0, 0)] == "Item"
    assert got[(0, 3)] == "Total"
    assert got[(3, 1)] == "140"
    assert got[(4, 2)] == "1.25"
    header = {c.column: c.kind for c in table.cells if c.row == 0}
    assert header[1] == header[2] == header[3] == "columnHeader"
    assert all(c.kind == "content" for c in table.cells if c.row > 0 and c.column > 0)


def test_header_cell_spanning_columns() -> None:
    lines = _numeric_table(130)
    # "Unit figures" centred over the Qty and Price columns, a row above the header.
    lines.insert(0, line(365, 100, "Unit price figures"))
    [table] = find_tables(lines, [hrule(187, 90, 720)], 1000, 1000)
    assert (table.rows, table.columns) == (6, 4)
    spanning = next(c for c in table.cells if c.row == 0 and c.words)
    assert " ".join(lines[i].words[j].text for i, j in spanning.words) == "Unit price figures"
    assert spanning.column == 1 and spanning.column_span >= 2
    _grid_covered(table)


def test_wrapped_cell_between_rules_is_one_cell() -> None:
    xs = (100.0, 400.0, 600.0, 800.0)
    lines = [
        line(110, 110, "Name"),
        line(410, 110, "Qty"),
        line(610, 110, "Cost"),
        line(110, 150, "Very long product"),
        line(110, 172, "name wrapped"),
        line(410, 160, "2"),
        line(610, 160, "9.99"),
        line(110, 210, "Short"),
        line(410, 210, "5"),
        line(610, 210, "1.00"),
    ]
    ys = (100.0, 140.0, 200.0, 240.0)
    seps = [hrule(y, xs[0], xs[-1]) for y in ys]
    [table] = find_tables(lines, seps, 1000, 1000)
    assert (table.rows, table.columns) == (3, 3)
    got = cells_text(table, lines)
    assert got[(1, 0)] == "Very long product name wrapped"
    assert got[(1, 1)] == "2"
    assert got[(2, 0)] == "Short"


def test_engine_line_across_three_cells_is_split_by_word() -> None:
    lines = _numeric_table()
    # The engine read the row "Pears 3 2.10 6.30" as one line with wide spaces.
    pears = [k for k, ln in enumerate(lines) if ln.text in ("Pears", "3", "2.10", "6.30")]
    xs = [lines[k].words[0].polygon[0] for k in pears]
    ends = [lines[k].words[0].polygon[2] for k in pears]
    merged = line(
        xs[0],
        lines[pears[0]].polygon[1],
        "Pears 3 2.10 6.30",
        gaps=[xs[k + 1] - ends[k] for k in range(3)],
    )
    lines = [ln for k, ln in enumerate(lines) if k not in pears]
    lines.insert(pears[0], merged)
    [table] = find_tables(lines, [], 1000, 1000)
    got = cells_text(table, lines)
    assert (table.rows, table.columns) == (5, 4)
    assert [got[(2, c)] for c in range(4)] == ["Pears", "3", "2.10", "6.30"]


def test_two_column_prose_is_not_a_table() -> None:
    sentence = "the quick brown fox jumps over a lazy dog"
    lines = []
    for r in range(20):
        lines.append(line(100, 100 + 25 * r, sentence))
        lines.append(line(650, 100 + 25 * r, sentence))
    assert find_tables(lines, [], 1300, 1000) == []


def test_label_value_form_is_not_a_table() -> None:
    labels = ["Name:", "Date of birth:", "Address:", "Phone:", "Email:", "Account:"]
    values = ["Jane Doe", "01/02/1990", "12 High Street", "555 0101", "jd@x.org", "12345"]
    lines = []
    for r, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 100 + 30 * r
        lines.append(line(100, y, label))
        lines.append(line(350, y, value))
        lines.append(line(650, y, label))
        lines.append(line(900, y, value))
    assert find_tables(lines, [], 1300, 1000) == []


def test_words_outside_the_table_are_left_alone() -> None:
    lines = [line(100, 40, "A title above the table"), *_numeric_table()]
    [table] = find_tables(lines, [], 1000, 1000)
    assert all(i != 0 for c in table.cells for i, _ in c.words)


def test_rotated_page_gives_page_boxes() -> None:
    import math

    lines = _numeric_table()
    angle = 3.0
    a = math.radians(angle)
    cx, cy = 500.0, 500.0

    def turn(poly: tuple[float, ...]) -> tuple[float, ...]:
        out: list[float] = []
        for k in range(0, 8, 2):
            x, y = poly[k] - cx, poly[k + 1] - cy
            out += [cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a)]
        return tuple(out)

    turned = [
        TextLine(
            ln.text,
            turn(ln.polygon),  # type: ignore[arg-type]
            tuple(TextWord(w.text, turn(w.polygon), 1.0) for w in ln.words),  # type: ignore[arg-type]
        )
        for ln in lines
    ]
    [table] = find_tables(turned, [], 1000, 1000, angle)
    assert (table.rows, table.columns) == (5, 4)
    # The box is in page pixels: it holds every turned word of the table.
    x0, y0, x1, y1 = table.box
    for ln in turned:
        xs, ys = ln.polygon[0::2], ln.polygon[1::2]
        assert x0 - 2 <= min(xs) and max(xs) <= x1 + 2
        assert y0 - 2 <= min(ys) and max(ys) <= y1 + 2


def test_narrow_prose_columns_are_not_a_table() -> None:
    # Three narrow columns of running text: short lines (few words a cell) that continue in
    # lower case.
    words = ["we", "walk", "along", "the", "river", "while", "the", "light", "fades"]
    words += ["over", "quiet", "hills"]
    lines = []
    for r in range(12):
        for c in range(3):
            text = " ".join(words[(r + c + k) % len(words)] for k in range(3))
            lines.append(line(100 + 320 * c, 100 + 25 * r, text))
    assert find_tables(lines, [], 1100, 1000) == []


def test_three_author_blocks_side_by_side_are_not_a_table() -> None:
    blocks = [
        ("Emily Bennett", "Rosales and Sons", "emily@example.net"),
        ("Kelsey Graham", "Willis-Kemp", "kelsey@example.net"),
        ("Adam Ritter", "Miller-Collins", "adam@example.net"),
    ]
    lines = [
        line(100 + 300 * c, 100 + 25 * r, block[r])
        for c, block in enumerate(blocks)
        for r in range(3)
    ]
    assert find_tables(lines, [], 1100, 1000) == []


def test_section_row_of_a_ruled_table_keeps_it_whole() -> None:
    texts = [
        ("Name", "Qty", "Cost"),
        ("Apples", "2", "9.99"),
        ("Pears", "5", "1.00"),
        ("Fruit imported from overseas",),
        ("Figs", "7", "3.50"),
        ("Dates", "1", "2.25"),
    ]
    lines = []
    for r, row in enumerate(texts):
        for c, text in enumerate(row):
            lines.append(line(110 + 250 * c, 110 + 40 * r, text))
    seps = [hrule(100 + 40 * r, 100, 800) for r in range(len(texts) + 1)]
    [table] = find_tables(lines, seps, 1000, 1000)
    assert (table.rows, table.columns) == (6, 3)
    got = cells_text(table, lines)
    assert got[(3, 0)] == "Fruit imported from overseas"
    assert got[(5, 2)] == "2.25"


def test_header_on_a_tinted_band_above_the_first_rule() -> None:
    # Rules under every row, none above the header (its band's edge is no rule).
    rows = [("Item", "Qty", "Price"), ("Apples", "2", "9.99"), ("Pears", "5", "1.00")]
    rows += [("Figs", "7", "3.50"), ("Dates", "1", "2.25")]
    lines = [
        line(110 + 250 * c, 110 + 40 * r, t)
        for r, row in enumerate(rows)
        for c, t in enumerate(row)
    ]
    seps = [hrule(140 + 40 * r, 100, 800) for r in range(len(rows))]
    [table] = find_tables(lines, seps, 1000, 1000)
    assert table.rows == 5
    assert cells_text(table, lines)[(0, 0)] == "Item"


def test_group_header_spans_the_columns_its_rule_covers() -> None:
    # "Prices" centred over the last two columns, a short rule under it.
    lines = _numeric_table(140)
    lines.insert(0, line(600, 100, "Prices"))
    seps = [hrule(90, 90, 720), hrule(130, 430, 720), hrule(167, 90, 720), hrule(290, 90, 720)]
    [table] = find_tables(lines, seps, 1000, 1000)
    header = next(c for c in table.cells if c.row == 0 and c.words)
    assert (header.column, header.column_span) == (2, 2)
    _grid_covered(table)


def test_lost_stretch_of_a_vertical_rule_does_not_join_cells() -> None:
    # The inner rules were found only over the top rows: cells below keep their columns.
    xs = (100.0, 400.0, 600.0, 800.0)
    texts = [("Name", "Qty", "Cost")] + [(f"Item {k}", str(k), f"{k}.50") for k in range(1, 8)]
    lines = [
        line(xs[c] + 10, 110 + 40 * r, t) for r, row in enumerate(texts) for c, t in enumerate(row)
    ]
    seps = [hrule(100 + 40 * r, xs[0], xs[-1]) for r in range(len(texts) + 1)]
    seps += [vrule(xs[0], 100, 420), vrule(xs[-1], 100, 420)]
    seps += [vrule(x, 100, 330) for x in xs[1:-1]]
    [table] = find_tables(lines, seps, 1000, 1000)
    got = cells_text(table, lines)
    assert (table.rows, table.columns) == (8, 3)
    assert got[(7, 0)] == "Item 7" and got[(7, 2)] == "7.50"


def test_gutter_between_vertical_rules_is_a_column() -> None:
    # Outer rules only: the columns inside come from the white between the texts.
    texts = [("Name", "Qty", "Cost")] + [(f"Item {k}", str(k), f"{k}.50") for k in range(1, 6)]
    lines = [
        line(110 + 250 * c, 110 + 40 * r, t)
        for r, row in enumerate(texts)
        for c, t in enumerate(row)
    ]
    seps = [hrule(100 + 40 * r, 100, 800) for r in range(len(texts) + 1)]
    seps += [vrule(100, 100, 340), vrule(400, 100, 340), vrule(800, 100, 340)]
    [table] = find_tables(lines, seps, 1000, 1000)
    assert table.columns == 3
    assert cells_text(table, lines)[(3, 1)] == "3"


def test_heading_between_two_stacked_tables_separates_them() -> None:
    # Spaced like the tables' rows: only its place (left of the rows) tells the heading.
    first = _numeric_table(100)
    heading = line(60, 250, "Balance")
    second = _numeric_table(280)
    lines = [*first, heading, *second]
    tables = find_tables(lines, [], 1000, 1000)
    assert [(t.rows, t.columns) for t in tables] == [(5, 4), (5, 4)]


def _statement(top: float, header_gap: float) -> list[TextLine]:
    """A bank statement's columns: a header line ``header_gap`` above five rows of values."""
    xs = (100.0, 300.0, 600.0, 800.0)
    titles = ("Date", "Description", "Debits", "Balance")
    header = [line(x, top, t) for x, t in zip(xs, titles, strict=True)]
    rows = [
        ("01Aug2018", "Clearing cheque", "36.07", "99,914.15"),
        ("02Aug2018", "Transfer", "120.50", "99,793.65"),
        ("03Aug2018", "Card payment", "15.00", "99,778.65"),
        ("04Aug2018", "Direct debit", "64.10", "99,714.55"),
        ("05Aug2018", "Clearing cheque", "9.99", "99,704.56"),
    ]
    body = [
        line(x, top + header_gap + 30 * r, t)
        for r, row in enumerate(rows)
        for x, t in zip(xs, row, strict=True)
    ]
    return header + body


def test_a_header_set_apart_from_its_rows_heads_the_table() -> None:
    # A header set off by a rule (or more white) from values-only rows is the table's first
    # row, not lost, which would move every cell up a row.
    lines = _statement(100.0, header_gap=48.0)
    separators = [hrule(136.0, 90.0, 960.0)]
    [table] = find_tables(lines, separators, 1200, 800)
    got = cells_text(table, lines)
    assert got[(0, 0)] == "Date" and got[(0, 3)] == "Balance"
    assert got[(1, 0)] == "01Aug2018" and got[(5, 3)] == "99,704.56"
    assert {c.kind for c in table.cells if c.row == 0} <= {"columnHeader", "stubHead"}
    _grid_covered(table)


def test_a_header_on_two_lines_is_one_row() -> None:
    xs = (100.0, 300.0, 600.0)
    top = [line(x, 100.0, t) for x, t in zip(xs, ("Clave", "Nombre", "Clave"), strict=True)]
    second = [
        line(x, 122.0, t) for x, t in zip(xs, ("Entidad", "Entidad", "Municipio"), strict=True)
    ]
    body = [
        line(x, 160.0 + 34 * r, t)
        for r in range(4)
        for x, t in zip(xs, (f"0{r + 1}", f"Town {r}", f"00{r + 1}"), strict=True)
    ]
    lines = top + second + body
    [table] = find_tables(lines, [], 1200, 800)
    got = cells_text(table, lines)
    assert got[(0, 0)] == "Clave Entidad" and got[(0, 2)] == "Clave Municipio"
    assert table.rows == 5 and got[(1, 0)] == "01"
    _grid_covered(table)


def test_a_forms_labels_and_fields_are_no_table() -> None:
    # Labels standing free beside values written in boxes of their own: aligned like a
    # table's columns, but a form. Without the pixels it passes for a table.
    gray = np.full((900, 1400), 255, dtype=np.uint8)
    lines = []
    pairs = [
        ("First", "Maria", "Last", "Murray"),
        ("Born", "18/05/2013", "Job", "Surgeon"),
        ("Street", "Jake Squares", "City", "Julie"),
        ("Country", "Kingdom", "Phone", "0121 496"),
        ("Email", "donna@example.net", "Fax", "0121 497"),
    ]
    for r, row in enumerate(pairs):
        y = 100.0 + 60 * r
        for label_x, field_x, label, value in (
            (100, 260, row[0], row[1]),
            (700, 860, row[2], row[3]),
        ):
            lines.append(line(label_x, y, label))
            cv2.rectangle(
                gray, (field_x - 8, round(y) - 8), (field_x + 300, round(y + H) + 8), 0, 2
            )
            lines.append(line(field_x, y, value))
    assert find_tables(lines, [], 1400, 900) != []  # what the words alone suggest
    assert find_tables(lines, [], 1400, 900, gray=gray) == []
