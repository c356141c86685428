"""Table structure for ``prebuilt-layout``: where the tables on a page are and their grid.

One module of over 1,200 lines, on purpose: the alignment method below is one pipeline
(segments, rows, regions, columns, cells, headers) whose steps share its working types
(``_Word``, ``_Segment``, ``_Row``, ``_Rule``) and its constants in line heights, and nothing
else uses them; its parts are marked by section comments (constants, working types, entry
point, geometry, segments and rows, one table).

A table drawn as a grid is read from its rules (:mod:`.grids`, when the page's pixels are
given). The rest cannot be: most tables on real and generated pages are ruled only across (a
rule under the header, or under every row) or not at all. So for them the grid comes from
the text first and the rules second (the alignment method):

* **segments**: each line's words, cut where the space between two words is wider than a
  cell's padding can explain (the engine sometimes reads ``Item  12  4.50`` across three
  cells as one line) or where a vertical rule runs between them;
* **visual rows**: segments whose vertical centres agree;
* **regions**: runs of consecutive visual rows that hold two or more segments each, and
  stacks of horizontal rules of one width (a ruled table's outline), each a candidate table;
* **columns**: a projection profile of the segments across the region's rows; a column
  boundary is where a gutter of white runs down (nearly) every row; vertical rules, when
  the table has them, are the boundaries instead;
* **rows**: the bands between horizontal rules when rules separate most text rows (a cell
  with two lines and no rule between stays one cell, and a column the rule does not cross
  is a cell spanning rows), else the visual rows;
* a candidate is kept only when it looks like a table and not like prose in columns, a list
  or a form of label/value pairs: at least three columns (or vertical rules), most rows
  filled in more than one column, and a body that does not read as running text (enough
  rows, short cells, few starting in lower case, few cells holding two runs of words side
  by side: :func:`_plausible`).

All lengths are in units of the page's median line height, so the same constants serve a
150 dpi scan and a 300 dpi render.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from emulator.engine.base import TextLine
from emulator.engine.separators import Separator
from emulator.structure.geometry import union
from emulator.structure.grids import find_grids, ruled_around
from emulator.structure.table_model import Box, Cell, CellKind, Table

__all__ = ["Box", "Cell", "CellKind", "Table", "find_tables"]

__all__ = ["Box", "Cell", "CellKind", "Table", "find_tables"]


# -- constants (lengths in median line heights unless said otherwise) --------------------------

# Texts turned by less than this (degrees) are analysed as they lie.
_MIN_TURN = 0.5
# A space between two words of one line wider than this cuts the line into two segments
# (cells): word spaces, even justified ones, stay under it; a cell's padding on both sides
# plus the alignment slack of a column does not.
_SPLIT_GAP = 0.9
# Two segments are on one visual row when their vertical centres differ by less than this.
_ROW_TOLERANCE = 0.5
# Consecutive rows of one table are at most this far apart (white between them), unless a
# rule runs between them.
_MAX_ROW_GAP = 2.2
# A run of rows is cut where the white between two rows exceeds this many times the run's
# median white, and the median by this much more: the margin around a table.
_WIDE_GAP_FACTOR = 2.0
_WIDE_GAP_EXTRA = 0.6
# Inside a segment, a space this wide at a column boundary cuts it (cells read as one line).
_CUT_GAP = 0.6
# A segment's column is the one holding its start (this far in) or its centre, whichever is
# further left.
_SPAN_INSET = 0.3
# A separator is horizontal (vertical) when it climbs less than this over its length.
_STRAIGHT = 0.05
# Horizontal rules belong to one ruled outline when their ends agree within this.
_RULE_END_TOLERANCE = 1.5
# ... and when each is at most this far below the one above it.
_RULE_STACK_GAP = 5.0
# A rule joins a stack when it overlaps the stack's extent by this share of the shorter.
_RULE_OVERLAP = 0.5
# A stack needs at least this many rules to outline a table (top, header rule, bottom).
_MIN_RULES = 3
# A row of two or more cells at most this far above a ruled outline's top rule is its header
# (on a tinted band, whose edge is no rule).
_TINT_HEADER_GAP = 0.8
# A row of one run of text starting this far left of every row of two or more runs, or set
# this many times taller, is a heading or caption between two tables, not a section label.
_OUTDENT = 0.5
_HEADING_HEIGHT = 1.25
# Rules closer than this in y are one rule (both edges of a thick rule, a tint's edge).
_RULE_MERGE = 0.35
# A gutter must be at least this wide to separate columns.
_MIN_GUTTER = 0.25
# Share of a region's multi-segment rows that may run across a gutter (a spanning header or
# a long label) without closing it.
_GUTTER_CROSSING = 0.15
# A rule must cover this share of a column's width to close the cells above it.
_RULE_COVER = 0.5
# Rows are taken from the rules when rules lie between at least this share of text rows.
_RULED_ROWS = 0.6
# Vertical rules must run down this share of the table's height to define its columns.
_VERTICAL_COVER = 0.6
# Tables without vertical rules need this many columns: two aligned columns of text are as
# likely label/value pairs or prose in two columns as a table.
_MIN_UNRULED_COLUMNS = 3
# Table cells are short: the mean words a non-empty cell above this is prose in columns.
_MAX_MEAN_WORDS = 4.5
# ... and at most this share of cells may hold this many words or more.
_LONG_CELL_WORDS = 9
_MAX_LONG_CELLS = 0.2
# A column where this share of cells ends in a colon holds a form's labels.
_MAX_COLON_SHARE = 0.5
# At least this share of a table's rows must hold text in two or more columns.
_MIN_FILLED_ROWS = 0.5
# A table without vertical rules needs this many rows (header and body) when rules separate
# its rows, and this many when nothing does: two or three rows of aligned text side by side
# are author blocks, addresses or a form's fields more often than a table.
_MIN_RULED_ROWS = 3
_MIN_UNRULED_ROWS = 4
# Body cells of a table are short: a mean above this many characters is prose in columns or
# blocks of names and addresses side by side.
_MAX_MEAN_CHARS = 16.0
# Lines of running text continue in lower case; table cells start with a capital, a digit or
# a symbol. Above this share of lower-case body cells the grid is prose.
_MAX_LOWER_SHARE = 0.45
# Above this share of cells holding two runs of words side by side, the grid lumps a form's
# labels with their values (or prose with its neighbour): not a table.
_MAX_JOINED_SHARE = 0.2
# Group headers are looked for in this many top rows of a table.
_GROUP_HEADER_ROWS = 2
# A rule at most this far under a header, shorter than this share of the table's width, is
# the rule under a group header (it spans the header's columns).
_GROUP_RULE_GAP = 1.0
_GROUP_RULE_SHARE = 0.9
# A header is centred over a run of columns when its centre is off their middle by less than
# this share of its offset from its own column's middle (and less than twice this, in line
# heights).
_GROUP_CENTRE = 0.5
# A column must hold text in at least this share of the table's rows or be dropped
# (merged into its neighbour): lists' markers and stray words make thin false columns.
_MIN_COLUMN_FILL = 0.15
# A value is mostly digits: at least this share of its characters.
_NUMERIC_SHARE = 0.5
# A header set on two lines: its lines at most this share of the pitch from its last line to
# the first body row apart.
_HEADER_TIGHTER = 0.8
# A header the table's region left out: a line at most this many line heights above the
# table, over at least this share of its columns (and two), at most this many words a column,
# over a first row at least this share of whose cells are values.
_HEADER_REACH = 2.2
_HEADER_COLUMNS = 0.5
_HEADER_WORDS = 3
_HEADER_VALUES = 0.5
# A form of labels and fields: a column with at least this share of its values in boxes of
# their own beside one with at most the rest.
_FORM_SHARE = 0.6
_FORM_CELLS = 2


# -- working types --------------------------------------------------------------------------


@dataclass(slots=True)
class _Word:
    key: tuple[int, int]
    box: Box
    text: str

    @property
    def cx(self) -> float:
        return (self.box[0] + self.box[2]) / 2

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2


@dataclass(slots=True)
class _Segment:
    words: list[_Word]
    box: Box = (0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        self.box = union([w.box for w in self.words])

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2


@dataclass(slots=True)
class _Row:
    segments: list[_Segment] = field(default_factory=list)

    @property
    def top(self) -> float:
        return min(s.box[1] for s in self.segments)

    @property
    def bottom(self) -> float:
        return max(s.box[3] for s in self.segments)

    @property
    def cy(self) -> float:
        return statistics.median(s.cy for s in self.segments)


@dataclass(frozen=True, slots=True)
class _Rule:
    x0: float
    y0: float
    x1: float
    y1: float


# -- entry point ------------------------------------------------------------------------------


def find_tables(
    lines: Sequence[TextLine],
    separators: Sequence[Separator],
    width: float,
    height: float,
    angle: float = 0.0,
    gray: npt.NDArray[np.uint8] | None = None,
) -> list[Table]:
    """Tables on a page, top to bottom; `lines` are in the engine's reading order and in the
    page image's pixels; `angle` is the text angle in degrees clockwise (rotate coordinates
    upright about the page centre before analysis when |angle| >= 0.5, and give boxes back in
    page pixels as axis-aligned boxes of the rotated-back corners).

    With the page's pixels (``gray``, one channel), the tables ruled as grids are read from
    their rules first (:func:`emulator.structure.grids.find_grids`) and their words leave the
    page before the alignment method reads the rest."""
    grids: list[Table] = []
    fallback: list[Table] = []
    taken: set[tuple[int, int]] = set()
    if gray is not None:
        found = find_grids(lines, separators, gray, angle)
        grids, taken, fallback = found.tables, found.taken, found.fallback
    turn = angle if abs(angle) >= _MIN_TURN else 0.0
    centre = (width / 2, height / 2)
    words: list[_Word] = []
    heights: list[float] = []
    for i, line in enumerate(lines):
        pts = _turn_points(_points(line.polygon), centre, -turn)
        heights.append(_quad_height(pts))
        for j, word in enumerate(line.words):
            if (i, j) in taken:
                continue
            wp = _turn_points(_points(word.polygon), centre, -turn)
            words.append(_Word((i, j), _bounds(wp), word.text))
    if len(words) < 4 or not heights:
        return sorted(grids + fallback, key=lambda t: (t.box[1], t.box[0]))
    unit = max(statistics.median(heights), 1.0)
    hrules, vrules = _rules(separators, centre, -turn, unit)
    segments = _segments(words, vrules, unit)
    rows = _visual_rows(segments, unit)
    tables: list[Table] = []
    used: set[int] = set()
    by_key = {w.key: w for w in words}
    built: list[Table] = []
    for region in _regions(rows, hrules, unit):
        region = [r for r in region if r not in used]
        table = _build([rows[r] for r in region], hrules, vrules, unit)
        if table is None:
            continue
        used.update(region)
        built.append(_joined_header_lines(table, by_key, unit))
    if gray is not None:
        upright = _upright(gray, centre, turn)
        built = [t for t in built if not _a_form(t, by_key, upright, unit)]
    in_tables = {k for t in built for c in t.cells for k in c.words}
    for table in built:
        free = [w for w in words if w.key not in in_tables]
        table = _header_above(table, free, by_key, unit)
        in_tables.update(k for c in table.cells for k in c.words)
        tables.append(_turn_table(table, centre, turn))
    tables = grids + [t for t in tables if not any(_overlaps(t.box, g.box) for g in grids)]
    # A list read from the white under rules stands only where nothing else was read.
    tables += [f for f in fallback if not any(_overlaps(f.box, t.box) for t in tables)]
    tables.sort(key=lambda t: (t.box[1], t.box[0]))
    return tables


def _numeric(text: str) -> bool:
    """Whether ``text`` is mostly digits (a value, a date, an amount)."""
    chars = [ch for ch in text if not ch.isspace()]
    return bool(chars) and sum(ch.isdigit() for ch in chars) >= _NUMERIC_SHARE * len(chars)


def _row_words(table: Table, row: int, by_key: dict[tuple[int, int], _Word]) -> list[_Word]:
    return [by_key[k] for c in table.cells if c.row == row for k in c.words if k in by_key]


def _shifted(cell: Cell, rows: int) -> Cell:
    return Cell(
        cell.row + rows,
        cell.column,
        cell.row_span,
        cell.column_span,
        cell.kind,
        cell.box,
        cell.words,
    )


def _joined_header_lines(table: Table, by_key: dict[tuple[int, int], _Word], unit: float) -> Table:
    """A header of two lines (``Clave`` over ``Entidad``) taken for two rows, as one: the
    first two rows are words only, set closer together than the rows below them, over body
    rows that hold values; each column's two pieces become one cell."""
    if table.rows < 4:
        return table
    first, second, third = (_row_words(table, r, by_key) for r in range(3))
    if not first or not second or not third:
        return table
    if any(_numeric(w.text) for w in first + second):
        return table
    if not any(
        _numeric(w.text) for r in range(2, table.rows) for w in _row_words(table, r, by_key)
    ):
        return table
    # Row pitches from the rows' middle lines: a header's two lines are set a line apart,
    # closer than its last line is to the first body row.
    middle = [statistics.median(w.cy for w in ws) for ws in (first, second, third)]
    if middle[1] - middle[0] > _HEADER_TIGHTER * (middle[2] - middle[1]):
        return table
    top = [c for c in table.cells if c.row < 2]
    if any(c.row_span > 1 or c.row + c.row_span > 2 for c in top):
        return table
    upper = {c.column: c for c in top if c.row == 0}
    lower = {c.column: c for c in top if c.row == 1}
    if set(upper) != set(lower) or any(upper[k].column_span != lower[k].column_span for k in upper):
        return table
    merged = [
        Cell(
            0,
            column,
            1,
            cell.column_span,
            lower[column].kind if not cell.words else cell.kind,
            union([cell.box, lower[column].box]),
            cell.words + lower[column].words,
        )
        for column, cell in sorted(upper.items())
    ]
    rest = [_shifted(c, -1) for c in table.cells if c.row >= 2]
    return Table(table.rows - 1, table.columns, table.box, table.ruled, tuple(merged + rest))


def _header_above(
    table: Table, free: list[_Word], by_key: dict[tuple[int, int], _Word], unit: float
) -> Table:
    """The column headings just above a table whose first row holds values (a header the
    table's region left out, set off by a rule or more white than the rows): words on one
    line within reach above it, under two or more of its columns, none of them a number."""
    top = table.box[1]
    first = [c for c in table.cells if c.row == 0 and c.words]
    if not first or table.columns < 2:
        return table
    above = [
        w
        for w in free
        if top - _HEADER_REACH * unit <= w.cy < top
        and table.box[0] - unit <= w.cx <= table.box[2] + unit
    ]
    if not above:
        return table
    lowest = max(w.cy for w in above)
    line = sorted(
        (w for w in above if lowest - w.cy <= _ROW_TOLERANCE * unit), key=lambda w: w.box[0]
    )
    if any(_numeric(w.text) for w in line) or len(line) > _HEADER_WORDS * table.columns:
        return table
    # The table's own first row must be values, not a header already.
    values = [" ".join(by_key[k].text for k in c.words if k in by_key) for c in first]
    if sum(_numeric(v) for v in values) < _HEADER_VALUES * len(values):
        return table
    bounds: list[tuple[float, float]] = []
    for column in range(table.columns):
        boxes = [c.box for c in table.cells if c.column == column and c.column_span == 1]
        if not boxes:
            return table
        bounds.append((min(b[0] for b in boxes), max(b[2] for b in boxes)))
    columns: dict[int, list[_Word]] = {}
    for w in line:
        k = min(
            range(table.columns),
            key=lambda c: max(bounds[c][0] - w.cx, 0.0, w.cx - bounds[c][1]),
        )
        columns.setdefault(k, []).append(w)
    if len(columns) < max(2, math.ceil(_HEADER_COLUMNS * table.columns)):
        return table
    header = []
    for column in range(table.columns):
        ws = columns.get(column, [])
        box = union([w.box for w in ws]) if ws else (bounds[column][0], top, bounds[column][1], top)
        header.append(Cell(0, column, 1, 1, "columnHeader", box, tuple(w.key for w in ws)))
    body = [
        _shifted(Cell(c.row, c.column, c.row_span, c.column_span, "content", c.box, c.words), 1)
        for c in table.cells
    ]
    box = union([table.box, *(w.box for w in line)])
    return Table(table.rows + 1, table.columns, box, table.ruled, tuple(header + body))


def _upright(
    gray: npt.NDArray[np.uint8], centre: tuple[float, float], turn: float
) -> npt.NDArray[np.uint8]:
    """The page's pixels turned as its words were (upright), for looking around them."""
    if not turn:
        return gray
    matrix = cv2.getRotationMatrix2D(centre, turn, 1.0)
    size = (gray.shape[1], gray.shape[0])
    return np.asarray(cv2.warpAffine(gray, matrix, size, borderValue=255), dtype=np.uint8)


def _a_form(
    table: Table, by_key: dict[tuple[int, int], _Word], gray: npt.NDArray[np.uint8], unit: float
) -> bool:
    """Whether the table is a form's labels and fields: in one column most values are written
    in boxes of their own (ruled close above, below and to the left), in another most stand
    free (nothing ruled above or below: labels). A ruled table's cells all have rules above
    and below, an unruled table's values are in no boxes."""
    around: dict[int, list[tuple[bool, bool, bool]]] = {}
    for cell in table.cells:
        ws = [by_key[k] for k in cell.words if k in by_key]
        if ws and cell.column_span == cell.row_span == 1:
            around.setdefault(cell.column, []).append(
                ruled_around(gray, union([w.box for w in ws]), unit)
            )

    def share(
        found: list[tuple[bool, bool, bool]], test: Callable[[tuple[bool, bool, bool]], bool]
    ) -> bool:
        hits = sum(1 for f in found if test(f))
        return hits >= _FORM_CELLS and hits >= _FORM_SHARE * len(found)

    fields = any(share(v, all) for v in around.values())
    labels = any(share(v, lambda f: not f[0] and not f[1]) for v in around.values())
    return fields and labels


def _overlaps(a: Box, b: Box) -> bool:
    """Whether ``a`` and ``b`` share at least a third of the smaller's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w > 0 and h > 0 and w * h >= smaller / 3


# -- geometry ---------------------------------------------------------------------------------


def _points(polygon: Sequence[float]) -> list[tuple[float, float]]:
    return [(float(polygon[k]), float(polygon[k + 1])) for k in range(0, len(polygon) - 1, 2)]


def _turn_points(
    pts: list[tuple[float, float]], centre: tuple[float, float], degrees: float
) -> list[tuple[float, float]]:
    """``pts`` turned by ``degrees`` clockwise (image y down) about ``centre``."""
    if degrees == 0.0:
        return pts
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    cx, cy = centre
    return [(cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c) for x, y in pts]


def _bounds(pts: list[tuple[float, float]]) -> Box:
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


def _quad_height(pts: list[tuple[float, float]]) -> float:
    if len(pts) >= 4:
        left = math.dist(pts[0], pts[3])
        right = math.dist(pts[1], pts[2])
        return (left + right) / 2
    b = _bounds(pts)
    return b[3] - b[1]


def _rules(
    separators: Sequence[Separator],
    centre: tuple[float, float],
    degrees: float,
    unit: float,
) -> tuple[list[_Rule], list[_Rule]]:
    """The separators turned upright, as horizontal and vertical rules (ordered)."""
    hrules: list[_Rule] = []
    vrules: list[_Rule] = []
    for sep in separators:
        (x0, y0), (x1, y1) = _turn_points([(sep.x0, sep.y0), (sep.x1, sep.y1)], centre, degrees)
        dx, dy = abs(x1 - x0), abs(y1 - y0)
        if dx >= 2 * unit and dy <= _STRAIGHT * dx:
            y = (y0 + y1) / 2
            hrules.append(_Rule(min(x0, x1), y, max(x0, x1), y))
        elif dy >= 2 * unit and dx <= _STRAIGHT * dy:
            x = (x0 + x1) / 2
            vrules.append(_Rule(x, min(y0, y1), x, max(y0, y1)))
    return _join(hrules, unit, across=True), _join(vrules, unit, across=False)


def _join(rules: list[_Rule], unit: float, *, across: bool) -> list[_Rule]:
    """Collinear pieces of one rule joined: a grid's rules are found broken where the rules
    across them cross, and a thick rule is found as its two edges."""

    def key(r: _Rule) -> tuple[float, float, float]:
        # (position across the rule, start, end along it)
        return (r.y0, r.x0, r.x1) if across else (r.x0, r.y0, r.y1)

    out: list[list[float]] = []
    for pos, a, b in sorted((key(r) for r in rules), key=lambda k: (k[1], k[0])):
        for piece in out:
            if abs(piece[0] - pos) <= _RULE_MERGE * unit and a <= piece[2] + unit:
                piece[0] = (piece[0] + pos) / 2
                piece[2] = max(piece[2], b)
                break
        else:
            out.append([pos, a, b])
    out.sort(key=lambda p: (p[0], p[1]))
    if across:
        return [_Rule(a, pos, b, pos) for pos, a, b in out]
    return [_Rule(pos, a, pos, b) for pos, a, b in out]


# -- segments and rows ------------------------------------------------------------------------


def _segments(words: list[_Word], vrules: list[_Rule], unit: float) -> list[_Segment]:
    """Each line's words cut into runs at wide spaces and at vertical rules."""
    out: list[_Segment] = []
    current: list[_Word] = []
    for word in words:
        if current:
            prev = current[-1]
            same_line = prev.key[0] == word.key[0]
            gap = word.box[0] - prev.box[2]
            if (
                not same_line
                or gap > _SPLIT_GAP * unit
                or gap < -unit
                or _rule_between(prev.box[2], word.box[0], (prev.cy + word.cy) / 2, vrules)
            ):
                out.append(_Segment(current))
                current = []
        current.append(word)
    if current:
        out.append(_Segment(current))
    return out


def _rule_between(x0: float, x1: float, y: float, vrules: list[_Rule]) -> bool:
    return any(x0 - 2 <= r.x0 <= x1 + 2 and r.y0 <= y <= r.y1 for r in vrules)


def _visual_rows(segments: list[_Segment], unit: float) -> list[_Row]:
    """Segments grouped into rows by their vertical centres, top to bottom, each row's
    segments left to right."""
    rows: list[_Row] = []
    for seg in sorted(segments, key=lambda s: s.cy):
        if rows and abs(seg.cy - rows[-1].cy) <= _ROW_TOLERANCE * unit:
            rows[-1].segments.append(seg)
        else:
            rows.append(_Row([seg]))
    for row in rows:
        row.segments.sort(key=lambda s: s.box[0])
    return rows


def _rule_in_gap(y0: float, y1: float, x0: float, x1: float, hrules: list[_Rule]) -> bool:
    """Whether a horizontal rule overlapping ``[x0, x1]`` lies between ``y0`` and ``y1``."""
    return any(y0 <= r.y0 <= y1 and min(r.x1, x1) - max(r.x0, x0) > 0.3 * (x1 - x0) for r in hrules)


def _regions(rows: list[_Row], hrules: list[_Rule], unit: float) -> list[list[int]]:
    """Candidate tables as lists of row indices: ruled outlines first, then runs of rows
    with two or more segments."""
    out: list[list[int]] = []
    # Ruled outlines: stacks of horizontal rules, each close below the one above and
    # overlapping the stack's extent (a rule under a row-spanning cell is shorter).
    clusters: list[list[_Rule]] = []
    for rule in hrules:
        for cluster in clusters:
            cx0 = min(r.x0 for r in cluster)
            cx1 = max(r.x1 for r in cluster)
            overlap = min(cx1, rule.x1) - max(cx0, rule.x0)
            if 0 <= rule.y0 - cluster[
                -1
            ].y0 <= _RULE_STACK_GAP * unit and overlap >= _RULE_OVERLAP * min(
                cx1 - cx0, rule.x1 - rule.x0
            ):
                cluster.append(rule)
                break
        else:
            clusters.append([rule])
    for cluster in clusters:
        ys = _merge_values([r.y0 for r in cluster], _RULE_MERGE * unit)
        if len(ys) < _MIN_RULES:
            continue
        cx0 = min(r.x0 for r in cluster) - unit
        cx1 = max(r.x1 for r in cluster) + unit
        inside = [
            i
            for i, row in enumerate(rows)
            if ys[0] < row.cy < ys[-1]
            and any(cx0 <= s.box[0] and s.box[2] <= cx1 for s in row.segments)
        ]
        # A header on a tinted band has no rule above it: the row right on top of the first
        # rule, in two or more cells, is the table's.
        above = [i for i, row in enumerate(rows) if row.bottom <= ys[0]]
        if inside and above:
            head = rows[above[-1]]
            if (
                ys[0] - head.bottom <= _TINT_HEADER_GAP * unit
                and len(head.segments) >= 2
                and all(cx0 <= s.box[0] and s.box[2] <= cx1 for s in head.segments)
            ):
                inside.insert(0, above[-1])
        if len(inside) >= 2:
            out.append(inside)
    # Runs of multi-segment rows.
    run: list[int] = []
    pending: list[int] = []
    for i, row in enumerate(rows):
        if run or pending:
            prev = rows[(pending or run)[-1]]
            gap = row.top - prev.bottom
            x0 = min(s.box[0] for s in row.segments + prev.segments)
            x1 = max(s.box[2] for s in row.segments + prev.segments)
            if gap > _MAX_ROW_GAP * unit and not _rule_in_gap(prev.bottom, row.top, x0, x1, hrules):
                out.append(run)
                run, pending = [], []
        if len(row.segments) >= 2:
            run.extend(pending)
            pending = []
            run.append(i)
        else:
            # Rows of one segment: a section label inside a table, a group header above it
            # (kept while two or fewer come in a row; :func:`_split_at_prose` judges them).
            pending.append(i)
            if len(pending) > 2:
                if run:
                    out.append(run)
                run, pending = [], pending[1:]
    if run:
        out.append(run)
    return [
        part
        for region in out
        for wide in _split_at_wide_gaps(region, rows, unit)
        for part in _split_at_prose(wide, rows, hrules, unit)
    ]


def _split_at_prose(
    region: list[int], rows: list[_Row], hrules: list[_Rule], unit: float
) -> list[list[int]]:
    """``region`` without the title, heading or sentence above it and cut at one inside it:
    a row of one segment that starts in the first column and runs across the first gutter is
    text beside the table, where a section label stays in its column and a group header
    starts right of it."""
    if len(region) < 3:
        return [region]
    x0 = min(s.box[0] for r in region for s in rows[r].segments)
    x1 = max(s.box[2] for r in region for s in rows[r].segments)
    bounds = _gutters([rows[r] for r in region], x0, x1, unit)
    if not bounds:
        return [region]
    first = bounds[0]
    multi = [rows[r] for r in region if len(rows[r].segments) >= 2]
    # How tall the table's text is.
    tall = statistics.median(s.box[3] - s.box[1] for row in multi for s in row.segments)
    out: list[list[int]] = [[]]
    for k, r in enumerate(region):
        segs = rows[r].segments
        if len(segs) == 1 and not _ruled_around(region, k, rows, hrules, x0, x1):
            seg = segs[0]
            across = seg.box[0] < first and seg.box[2] > first + 0.5 * unit
            # A heading or caption starts left of the table's rows, or is set larger.
            outdented = seg.box[0] < _margin(region, k, rows) - _OUTDENT * unit
            larger = seg.box[3] - seg.box[1] > _HEADING_HEIGHT * tall
            cut = across or outdented or larger
        else:
            cut = False
        if cut:
            if out[-1]:
                out.append([])
            continue
        out[-1].append(r)
    # Rows of one segment before the first of two or more must start right of the first
    # gutter (a group header over the value columns); a title or caption does not.
    trimmed = []
    for part in out:
        k = 0
        while k < len(part) and len(rows[part[k]].segments) == 1:
            k += 1
        lead = part[:k]
        while lead and rows[lead[0]].segments[0].box[0] < first:
            lead = lead[1:]
        trimmed.append(lead + part[k:])
    return [part for part in trimmed if part]


def _margin(region: list[int], k: int, rows: list[_Row]) -> float:
    """Where the region's rows start, leaving out the run of one-segment rows holding its
    ``k``-th row (a heading and its subtitle; a table's section and category labels come one
    at a time, between rows of cells, and share the first column's start)."""
    a = b = k
    while a > 0 and len(rows[region[a - 1]].segments) == 1:
        a -= 1
    while b + 1 < len(region) and len(rows[region[b + 1]].segments) == 1:
        b += 1
    starts = [rows[r].segments[0].box[0] for j, r in enumerate(region) if not a <= j <= b]
    return min(starts, default=rows[region[k]].segments[0].box[0])


def _ruled_around(
    region: list[int], k: int, rows: list[_Row], hrules: list[_Rule], x0: float, x1: float
) -> bool:
    """Whether rules across the region run right above and right below its ``k``-th row: a
    section row of a ruled table, boxed like every other row, not text beside the table."""
    row = rows[region[k]]
    above = rows[region[k - 1]].bottom if k > 0 else None
    below = rows[region[k + 1]].top if k + 1 < len(region) else None
    return (
        above is not None
        and below is not None
        and _rule_in_gap(above, row.top, x0, x1, hrules)
        and _rule_in_gap(row.bottom, below, x0, x1, hrules)
    )


def _split_at_wide_gaps(region: list[int], rows: list[_Row], unit: float) -> list[list[int]]:
    """``region`` cut where the white between two rows is much wider than between its other
    rows: a table's rows are evenly spaced, and the address block above an invoice's items
    or the totals under them are set off by a margin."""
    if len(region) < 3:
        return [region]
    gaps = [rows[b].top - rows[a].bottom for a, b in itertools.pairwise(region)]
    typical = statistics.median(gaps)
    limit = max(_WIDE_GAP_FACTOR * typical, typical + _WIDE_GAP_EXTRA * unit)
    out: list[list[int]] = [[region[0]]]
    for k, gap in enumerate(gaps):
        if gap > limit:
            out.append([])
        out[-1].append(region[k + 1])
    return out


def _merge_values(values: list[float], tolerance: float) -> list[float]:
    """Sorted ``values`` with those closer than ``tolerance`` merged (their mean)."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tolerance:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(g) / len(g) for g in out]


# -- one table --------------------------------------------------------------------------------


def _build(
    rows: list[_Row],
    hrules: list[_Rule],
    vrules: list[_Rule],
    unit: float,
) -> Table | None:
    """The table made of ``rows``, or None when they do not look like a table."""
    if len(rows) < 2:
        return None
    segments = [s for r in rows for s in r.segments]
    box = union([s.box for s in segments])
    x0, y0, x1, y1 = box
    # Rules inside the table (a little slack around its text).
    pad = unit
    inner_h = [
        r
        for r in hrules
        if y0 - pad <= r.y0 <= y1 + pad and min(r.x1, x1) - max(r.x0, x0) > 0.2 * unit
    ]
    inner_v = [
        r
        for r in vrules
        if x0 - pad <= r.x0 <= x1 + pad and min(r.y1, y1) - max(r.y0, y0) > 0.2 * unit
    ]
    # Columns.
    grid_v = [r.x0 for r in inner_v if min(r.y1, y1) - max(r.y0, y0) >= _VERTICAL_COVER * (y1 - y0)]
    bounds = _merge_values(grid_v, _MIN_GUTTER * 4 * unit)
    inner_bounds = [b for b in bounds if x0 + unit < b < x1 - unit]
    vertical = len(inner_bounds) >= 1
    if not vertical:
        inner_bounds = _gutters(rows, x0, x1, unit)
    else:
        inner_bounds = _gutters_between_rules(rows, [x0, *inner_bounds, x1], unit)
    edges = [x0 - 1.0, *inner_bounds, x1 + 1.0]
    n_cols = len(edges) - 1
    if n_cols < 2 or (not vertical and n_cols < _MIN_UNRULED_COLUMNS):
        return None
    # Rows: bands between rules, or the visual rows.
    rule_ys = _merge_values([r.y0 for r in inner_h], _RULE_MERGE * unit)
    gaps_ruled = sum(
        1 for a, b in itertools.pairwise(rows) if any(a.cy < y < b.cy for y in rule_ys)
    )
    ruled_rows = len(rows) > 2 and gaps_ruled >= _RULED_ROWS * (len(rows) - 1)
    if ruled_rows:
        cuts = [y for y in rule_ys if rows[0].cy < y < rows[-1].cy]
    else:
        cuts = [(a.bottom + b.top) / 2 for a, b in itertools.pairwise(rows)]
        cuts = [max(c, a.cy + 0.01) for c, a in zip(cuts, rows, strict=False)]
    row_edges = [y0 - 1.0, *cuts, y1 + 1.0]
    # Words into the grid: each word by its centre.
    grid = _place(segments, row_edges, edges, unit)
    original_rows = row_edges
    # Drop bands with no words (between two rules with nothing in them).
    used_rows = sorted({r for r, _ in grid})
    remap = {r: k for k, r in enumerate(used_rows)}
    row_edges = [row_edges[0]] + [row_edges[r + 1] for r in used_rows]
    row_edges[-1] = max(row_edges[-1], y1 + 1.0)
    grid = {(remap[r], c): ws for (r, c), ws in grid.items()}
    n_rows = len(used_rows)
    if n_rows < 2:
        return None
    # Thin columns (a list's markers, a stray word) are merged into their right neighbour.
    fill = [sum(1 for r in range(n_rows) if (r, c) in grid) for c in range(n_cols)]
    if not vertical:
        keep = [c for c in range(n_cols) if fill[c] >= _MIN_COLUMN_FILL * n_rows]
        if len(keep) < n_cols:
            new_edges = [edges[0]] + [edges[c + 1] for c in keep]
            new_edges[-1] = edges[-1]
            edges = new_edges
            n_cols = len(edges) - 1
            if n_cols < _MIN_UNRULED_COLUMNS:
                return None
            grid = {
                (remap[r], c): ws
                for (r, c), ws in _place(segments, original_rows, edges, unit).items()
                if r in remap
            }
    if not _looks_like_table(grid, n_rows, n_cols):
        return None
    cells = _cells(
        grid, n_rows, n_cols, edges, row_edges, inner_h, inner_v, vertical, ruled_rows, unit
    )
    if not _plausible(cells, {w.key: w for s in segments for w in s.words}, vertical, ruled_rows):
        return None
    if _joined_share(cells, segments) > _MAX_JOINED_SHARE:
        return None
    box = (edges[0] + 1.0, row_edges[0] + 1.0, edges[-1] - 1.0, row_edges[-1] - 1.0)
    return Table(n_rows, n_cols, box, ruled_rows or vertical, tuple(cells))


def _place(
    segments: list[_Segment], row_edges: list[float], col_edges: list[float], unit: float
) -> dict[tuple[int, int], list[_Word]]:
    """Words into grid positions. Each word goes by its centre, except that a segment across
    a column boundary with no wide space at it (a spanning header, a label running over an
    empty neighbour) goes whole into the leftmost column it covers; one with a wide space at
    the boundary (cells the engine read as one line) is cut there."""
    grid: dict[tuple[int, int], list[_Word]] = {}
    for seg in segments:
        groups: list[list[_Word]] = [[seg.words[0]]]
        for prev, word in itertools.pairwise(seg.words):
            gap = word.box[0] - prev.box[2]
            boundary = any(prev.box[2] <= x <= word.box[0] for x in col_edges[1:-1])
            if boundary and gap >= _CUT_GAP * unit:
                groups.append([])
            groups[-1].append(word)
        for group in groups:
            x0 = min(w.box[0] for w in group)
            cx = (x0 + max(w.box[2] for w in group)) / 2
            c = min(_index(col_edges, x0 + _SPAN_INSET * unit), _index(col_edges, cx))
            for w in group:
                grid.setdefault((_index(row_edges, w.cy), c), []).append(w)
    return grid


def _index(edges: list[float], v: float) -> int:
    """The interval of ``edges`` holding ``v`` (clamped to the first and last)."""
    return min(max(int(np.searchsorted(np.asarray(edges), v)) - 1, 0), len(edges) - 2)


def _gutters(rows: list[_Row], x0: float, x1: float, unit: float) -> list[float]:
    """Column boundaries from white running down the rows that hold two or more segments."""
    multi = [r for r in rows if len(r.segments) >= 2]
    if len(multi) < 2:
        return []
    width = math.ceil(x1 - x0) + 2
    count = np.zeros(width, dtype=np.int32)
    for row in multi:
        for seg in row.segments:
            a = int(seg.box[0] - x0)
            b = math.ceil(seg.box[2] - x0)
            count[max(a, 0) : max(b, 0) + 1] += 1
    allowed = int(_GUTTER_CROSSING * len(multi)) if len(multi) >= 4 else 0
    free = count <= allowed
    out: list[float] = []
    k = 0
    while k < width:
        if not free[k]:
            k += 1
            continue
        start = k
        while k < width and free[k]:
            k += 1
        end = k
        if start == 0 or end >= width:
            continue
        if end - start < _MIN_GUTTER * unit:
            continue
        # The boundary: the middle of the emptiest part of the gutter.
        part = count[start:end]
        low = np.nonzero(part == part.min())[0]
        out.append(x0 + start + float(low[0] + low[-1]) / 2)
    return out


def _gutters_between_rules(rows: list[_Row], bounds: list[float], unit: float) -> list[float]:
    """``bounds`` (the table's edges and its vertical rules) with the gutters that run down
    the text between two rules added: rules the page lost or never drew."""
    out: list[float] = []
    for a, b in itertools.pairwise(bounds):
        part = [
            _Row([s for s in row.segments if a < (s.box[0] + s.box[2]) / 2 < b]) for row in rows
        ]
        part = [row for row in part if row.segments]
        if part:
            lo = min(s.box[0] for row in part for s in row.segments)
            hi = max(s.box[2] for row in part for s in row.segments)
            out.extend(_gutters(part, lo, hi, unit))
        out.append(b)
    return sorted(out[:-1])


def _looks_like_table(grid: dict[tuple[int, int], list[_Word]], n_rows: int, n_cols: int) -> bool:
    """Short cells, most rows filled in two or more columns: not prose, a list or a form."""
    if not grid:
        return False
    sizes = [len(ws) for ws in grid.values()]
    # A column of labels ending in colons is a form's, not a table's.
    for c in range(n_cols):
        texts = [ws for (r, cc), ws in grid.items() if cc == c]
        colons = sum(1 for ws in texts if _ends_with_colon(ws))
        if texts and colons >= _MAX_COLON_SHARE * len(texts):
            return False
    if sum(sizes) / len(sizes) > _MAX_MEAN_WORDS:
        return False
    if sum(1 for s in sizes if s >= _LONG_CELL_WORDS) > _MAX_LONG_CELLS * len(sizes):
        return False
    per_row = [sum(1 for c in range(n_cols) if (r, c) in grid) for r in range(n_rows)]
    return sum(1 for n in per_row if n >= 2) >= _MIN_FILLED_ROWS * n_rows


def _plausible(
    cells: list[Cell], words: dict[tuple[int, int], _Word], vertical: bool, ruled_rows: bool
) -> bool:
    """Whether the grid's body reads as a table's and not as prose, an author block or a
    form: enough body rows, short cells, and not lines of running text (which start in lower
    case where they continue the line above)."""
    n_rows = max(c.row + c.row_span for c in cells)
    if not vertical and n_rows < (_MIN_RULED_ROWS if ruled_rows else _MIN_UNRULED_ROWS):
        return False
    body = [
        " ".join(words[k].text for k in c.words) for c in cells if c.words and c.kind == "content"
    ]
    if not body:
        return False
    if statistics.mean(len(t) for t in body) > _MAX_MEAN_CHARS:
        return False
    lower = sum(1 for t in body if t[:1].islower())
    return lower <= _MAX_LOWER_SHARE * len(body)


def _joined_share(cells: list[Cell], segments: list[_Segment]) -> float:
    """Share of the non-empty cells that hold two segments side by side on one row: a column
    boundary the grid missed, as between a form's label and its value (a table's cell is one
    run of words a line)."""
    owner = {w.key: k for k, s in enumerate(segments) for w in s.words}
    filled = [c for c in cells if c.words]
    joined = 0
    for cell in filled:
        segs = [segments[k] for k in sorted({owner[key] for key in cell.words})]
        if any(
            min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
            > 0.5 * min(a.box[3] - a.box[1], b.box[3] - b.box[1])
            for a, b in itertools.combinations(segs, 2)
        ):
            joined += 1
    return joined / max(len(filled), 1)


def _ends_with_colon(words: list[_Word]) -> bool:
    return bool(words) and max(words, key=lambda w: (w.key, w.box[0])).text.endswith(":")


def _cells(
    grid: dict[tuple[int, int], list[_Word]],
    n_rows: int,
    n_cols: int,
    col_edges: list[float],
    row_edges: list[float],
    hrules: list[_Rule],
    vrules: list[_Rule],
    vertical: bool,
    ruled_rows: bool,
    unit: float,
) -> list[Cell]:
    """The grid's cells with their spans and kinds, row-major."""
    owner = [[(r, c) for c in range(n_cols)] for r in range(n_rows)]
    grid = dict(grid)
    _group_headers(grid, owner, n_rows, n_cols, col_edges, hrules, unit)
    # Row spans: in a ruled table, a column the rule under a row does not cross continues
    # (unless both sides hold text: then the rule was lost, not left out).
    if ruled_rows:
        for r in range(n_rows - 1):
            y = row_edges[r + 1]
            for c in range(n_cols):
                a, b = col_edges[c], col_edges[c + 1]
                covered = any(
                    abs(h.y0 - y) <= 2 * _RULE_MERGE * unit
                    and min(h.x1, b) - max(h.x0, a) >= _RULE_COVER * (b - a)
                    for h in hrules
                )
                top = owner[r][c]
                if covered or top[1] != c:
                    continue
                above = any(grid.get((k, c)) for k in range(top[0], r + 1))
                if above and grid.get((r + 1, c)):
                    continue
                owner[r + 1][c] = top
    # Column spans: with vertical rules, a boundary the rule does not cross in a row joins
    # the cells; without, a cell whose text runs well across a boundary spans it.
    for r in range(n_rows):
        for c in range(n_cols - 1):
            if owner[r][c] != (r, c) and owner[r][c][0] != r:
                continue
            if owner[r][c + 1] != (r, c + 1):
                continue
            # Cells that span rows keep their own columns (a grid is rectangles).
            below = owner[r + 1] if r + 1 < n_rows else []
            if below and (below[c][0] <= r or below[c + 1][0] <= r):
                continue
            if owner[r][c][0] != r or any(owner[k][c] == owner[r][c] for k in range(r)):
                continue
            x = col_edges[c + 1]
            ya, yb = row_edges[r], row_edges[r + 1]
            if vertical:
                crossed = any(
                    abs(v.x0 - x) <= _MIN_GUTTER * 4 * unit
                    and min(v.y1, yb) - max(v.y0, ya) >= 0.5 * (yb - ya)
                    for v in vrules
                )
                # Text on both sides of a boundary no rule crosses: the rule was lost (a
                # scan's faint stretch), not left out for a spanning cell.
                ws = grid.get(owner[r][c], [])
                right = grid.get((r, c + 1), [])
                join = not crossed and not (ws and right)
            else:
                ws = grid.get(owner[r][c], [])
                right = grid.get((r, c + 1), [])
                join = bool(ws) and not right and max(w.box[2] for w in ws) > x + 0.5 * unit
            if join:
                owner[r][c + 1] = owner[r][c]
    # Header rows: those above a rule near the top of an unruled table, or the first row
    # and any row that the first row's cells span down into (group headers).
    header_rows = 1
    if not ruled_rows:
        for k in range(1, min(4, n_rows)):
            if any(abs(h.y0 - row_edges[k]) <= 0.8 * unit for h in hrules):
                header_rows = k
                break
    while header_rows < n_rows and any(
        owner[header_rows][c][0] < header_rows for c in range(n_cols)
    ):
        header_rows += 1
    cells: list[Cell] = []
    seen: set[tuple[int, int]] = set()
    for r in range(n_rows):
        for c in range(n_cols):
            top = owner[r][c]
            if top in seen:
                continue
            seen.add(top)
            rr, cc = top
            r_end = max(k for k in range(n_rows) if owner[k][cc] == top) + 1
            c_end = max(k for k in range(n_cols) if owner[rr][k] == top) + 1
            words: list[_Word] = []
            for k in range(rr, r_end):
                for m in range(cc, c_end):
                    words.extend(grid.get((k, m), []))
            words.sort(key=lambda w: (round(w.cy / max(unit, 1.0)), w.box[0]))
            words = _reading_order(words, unit)
            box = (col_edges[cc], row_edges[rr], col_edges[c_end], row_edges[r_end])
            if words:
                box = union([w.box for w in words])
            kind: CellKind = "content"
            if rr < header_rows:
                kind = "columnHeader"
            cells.append(
                Cell(
                    row=rr,
                    column=cc,
                    row_span=r_end - rr,
                    column_span=c_end - cc,
                    kind=kind,
                    box=box,
                    words=tuple(w.key for w in words),
                )
            )
    _mark_stub_head(cells, header_rows)
    cells.sort(key=lambda cell: (cell.row, cell.column))
    return cells


def _group_headers(
    grid: dict[tuple[int, int], list[_Word]],
    owner: list[list[tuple[int, int]]],
    n_rows: int,
    n_cols: int,
    col_edges: list[float],
    hrules: list[_Rule],
    unit: float,
) -> None:
    """Group headers in the top rows spread over the columns they head: the columns a rule
    right under the header covers (a ruled table's short rule under a group header), else
    the run of columns the header is centred over. A short centred header lies inside one of
    them, a column right of the first, where placing by position puts it."""
    for r in range(min(_GROUP_HEADER_ROWS, n_rows - 1)):
        for c in range(1, n_cols):
            ws = grid.get((r, c))
            if not ws or owner[r][c] != (r, c):
                continue
            x0 = min(w.box[0] for w in ws)
            x1 = max(w.box[2] for w in ws)
            bottom = max(w.box[3] for w in ws)
            if max(w.cy for w in ws) - min(w.cy for w in ws) > _ROW_TOLERANCE * unit:
                continue
            mid = (x0 + x1) / 2
            span: tuple[int, int] | None = None
            width = col_edges[-1] - col_edges[0]
            under = [
                h
                for h in hrules
                if 0 <= h.y0 - bottom <= _GROUP_RULE_GAP * unit
                and h.x0 <= mid <= h.x1
                and h.x1 - h.x0 < _GROUP_RULE_SHARE * width
            ]
            if under:
                h = min(under, key=lambda h: h.y0)
                cover = [
                    k
                    for k in range(n_cols)
                    if min(h.x1, col_edges[k + 1]) - max(h.x0, col_edges[k])
                    >= 0.5 * (col_edges[k + 1] - col_edges[k])
                ]
                if len(cover) >= 2 and cover[-1] - cover[0] + 1 == len(cover):
                    span = (cover[0], cover[-1])
            else:

                def error(a: int, b: int, mid: float = mid) -> float:
                    return abs(mid - (col_edges[a] + col_edges[b + 1]) / 2)

                best = min(
                    ((a, b) for a in range(1, c + 1) for b in range(c, n_cols) if b > a),
                    key=lambda ab: error(*ab),
                    default=None,
                )
                if (
                    best is not None
                    and error(*best) < _GROUP_CENTRE * error(c, c)
                    and error(*best) < _GROUP_CENTRE * unit * 2
                ):
                    span = best
            if span is None or not span[0] <= c <= span[1]:
                continue
            a, b = span
            if any(grid.get((r, k)) for k in range(a, b + 1) if k != c):
                continue
            if any(owner[r][k] != (r, k) for k in range(a, b + 1)):
                continue
            del grid[(r, c)]
            grid[(r, a)] = ws
            for k in range(a, b + 1):
                owner[r][k] = (r, a)


def _mark_stub_head(cells: list[Cell], header_rows: int) -> None:
    """The top-left header cell is the stub head when the first column holds row labels (a
    word in most of its body cells)."""
    first = [c for c in cells if c.column == 0 and c.row >= header_rows]
    labelled = sum(1 for c in first if c.words)
    if not first or labelled < 0.5 * len(first):
        return
    for k, cell in enumerate(cells):
        if cell.row == 0 and cell.column == 0 and cell.kind == "columnHeader":
            cells[k] = Cell(
                cell.row,
                cell.column,
                cell.row_span,
                cell.column_span,
                "stubHead",
                cell.box,
                cell.words,
            )


def _reading_order(words: list[_Word], unit: float) -> list[_Word]:
    """A cell's words line by line (by the engine's line, then left to right)."""
    lines: dict[int, list[_Word]] = {}
    for w in words:
        lines.setdefault(w.key[0], []).append(w)
    ordered = sorted(lines.values(), key=lambda ws: (min(w.cy for w in ws), ws[0].box[0]))
    out: list[_Word] = []
    for ws in ordered:
        out.extend(sorted(ws, key=lambda w: w.key[1]))
    return out


def _turn_table(table: Table, centre: tuple[float, float], degrees: float) -> Table:
    """``table`` with its boxes turned back onto the page by ``degrees`` clockwise."""
    if degrees == 0.0:
        return table

    def back(box: Box) -> Box:
        x0, y0, x1, y1 = box
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        return _bounds(_turn_points(corners, centre, degrees))

    cells = tuple(
        Cell(c.row, c.column, c.row_span, c.column_span, c.kind, back(c.box), c.words)
        for c in table.cells
    )
    return Table(table.rows, table.columns, back(table.box), table.ruled, cells)
