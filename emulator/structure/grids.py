"""Tables drawn as grids: rules across and down, each cell a box of its own.

One module of about 700 lines, on purpose: one method (rules across, their stacks, rules down
band by band in the pixels, then the cells), called only by :mod:`.tables`, whose steps share
its private rule and word types and its band geometry.

A table ruled both ways says where its cells are, whatever its text does: a cell that wraps
onto three lines, an empty cell, a number set flush right, a heading spanning two columns
(the rule between them stops short). So such a table is read from its rules first, and the
words only fill the cells (:func:`find_grids`); the alignment method of :mod:`.tables` reads
the tables drawn with fewer rules or none.

Rules across come from the engine's separator search (:mod:`emulator.engine.separators`),
which reports each edge of a drawn line (the two edges of one rule, a few pixels apart, are
merged here). A stack of them, one under the other over the same width, is a candidate
table, its rows the bands between them. Rules down are looked for band by band in the page's
pixels, as an edge that runs the band's whole height: a drawn line (its two edges), the white
gap between two tinted cells, the side of a tinted column. Band by band, because the rules
down of a table printed from a web page are often a pixel off from one row to the next
(too crooked for a page-long straight run), and because a rule missing in one band is how a
cell spans columns there. A stack with at least one rule down inside it is a grid; one
without is left to the alignment method.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from emulator.engine.base import TextLine
from emulator.engine.separators import Separator
from emulator.structure.table_model import Box, Cell, CellKind, Table

# Pages turned by less than this (degrees) are read as they are.
_MIN_TURN = 0.5
# Edges closer than this many line heights are one rule (both edges of a thick line, a
# double rule).
_SAME_RULE = 0.45
# Rules across, one under the other over about the same width (this share of the shorter),
# at most this many line heights apart (a row of cells wrapped onto five lines), stack.
_SAME_WIDTH = 0.6
_MAX_ROW = 6.0
# The band between two rules across is searched for rules down this many line heights in
# from each (where a rule across meets a rule down the corner blurs).
_BAND_MARGIN = 0.15
# An edge: a brightness step of at least this much (0-255) over this many pixels...
_MIN_STEP = 24
_STEP = 2
# ... running down at least this share of the band's height.
_DOWN_SHARE = 0.9
# Rules down found in different bands are one when this many line heights apart at most (a
# web page's table is a pixel or two off from row to row), and make a column bound when
# found in at least this share of the bands (a missing one is a cell spanning columns).
_ALIGN = 0.5
_DOWN_BANDS = 0.5
# In a table ruled across only, a gutter is white at least this many line heights wide
# running down the rows, crossed by the words of at most this share of them (a title row, a
# label that runs on, span it).
_GUTTER = 1.0
_CROSSING = 0.25
_CLEAR_GUTTER = 0.6
# ... and at least this share of its rules across run this share of its width.
_FULL_ROWS = 0.7
_FULL_WIDTH = 0.9
# A boxed table ruled across has at least this many rows (a titled box has two: its bar and
# its contents).
_BOXED_MIN_ROWS = 3
# A list of labels and values ruled row by row with no box has at least this many rows.
_OPEN_MIN_ROWS = 3
# ... and no row of more lines than this (an entry wraps; a form's block is several lines).
_OPEN_ROW_LINES = 4
# ... and rows of a line or two: at most this many line heights from rule to rule (median).
_BOXED_ROW = 2.5
# A field's box is drawn within this many line heights of the text written in it.
_FIELD_REACH = 0.9
# ... and its rows are not prose: a row with more than this many words per cell is long, and
# at most this share of the rows may be.
_PROSE_WORDS = 8
_PROSE_ROWS = 0.3
# Collinear pieces of rule this many line heights apart at most are one rule: the search
# on the shrunk page breaks a rule where a rule down crosses it, by a few of its pixels.
_JOIN = 1.5
# A rule separates two cells when it covers this share of their common side.
_COVERS = 0.6
# Bands between rules thinner than this many line heights hold no row or column.
_MIN_BAND = 0.6
# A grid needs at least this many rows and columns of cells.
_MIN_ROWS = 2
_MIN_COLUMNS = 2
# Most of a grid's cells must hold text, or it is a drawing (a chart's grid lines, a form's
# boxes to fill in): at least this share of its rows hold text in two cells or more.
_FILLED_ROWS = 0.5


@dataclass(slots=True)
class Grids:
    """What :func:`find_grids` found: the tables (their words taken from the page), and the
    lists of labels and values read from the white under rules with no box, which only stand
    where the alignment method finds no table."""

    tables: list[Table]
    taken: set[tuple[int, int]]
    fallback: list[Table]


@dataclass(slots=True)
class _Rule:
    """A merged rule: ``at`` is its y (across) or x (down); it runs from ``start`` to ``end``."""

    at: float
    start: float
    end: float
    edges: int = 1


@dataclass(slots=True)
class _Word:
    key: tuple[int, int]
    box: Box

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


def _turn(x: float, y: float, centre: tuple[float, float], degrees: float) -> tuple[float, float]:
    if not degrees:
        return x, y
    a = math.radians(degrees)
    dx, dy = x - centre[0], y - centre[1]
    return (
        centre[0] + dx * math.cos(a) - dy * math.sin(a),
        centre[1] + dx * math.sin(a) + dy * math.cos(a),
    )


def _bounds(points: Sequence[tuple[float, float]]) -> Box:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _merge(rules: list[_Rule], unit: float) -> list[_Rule]:
    """Edges of one rule (close, and overlapping or nearly meeting along their run) as one
    rule."""
    merged: list[_Rule] = []
    for rule in sorted(rules, key=lambda r: r.at):
        for other in merged:
            overlap = min(other.end, rule.end) - max(other.start, rule.start)
            # Collinear pieces a little apart are one rule too (a rule broken where a rule
            # down, a pixel off, meets it).
            if abs(other.at - rule.at) <= _SAME_RULE * unit and overlap > -_JOIN * unit:
                other.at = (other.at * other.edges + rule.at) / (other.edges + 1)
                other.start, other.end = min(other.start, rule.start), max(other.end, rule.end)
                other.edges += 1
                break
        else:
            merged.append(_Rule(rule.at, rule.start, rule.end))
    return merged


def _join_through_pixels(
    rules: list[_Rule], gray: npt.NDArray[np.uint8], unit: float
) -> list[_Rule]:
    """Collinear rules whose gap the page's pixels show ruled, as one rule: the page-wide
    search misses the pieces of a rule between two close rules down (each piece shorter than
    it looks for)."""
    rules = sorted(rules, key=lambda r: (round(r.at / max(_SAME_RULE * unit, 1.0)), r.start))
    joined: list[_Rule] = []
    for rule in rules:
        last = joined[-1] if joined else None
        if (
            last is not None
            and abs(last.at - rule.at) <= _SAME_RULE * unit
            and rule.start > last.end
            and _ruled_across([], gray, (last.at + rule.at) / 2, last.end, rule.start, unit)
        ):
            last.end = max(last.end, rule.end)
            continue
        joined.append(_Rule(rule.at, rule.start, rule.end, rule.edges))
    return joined


def _stacks(across: list[_Rule], unit: float) -> list[list[_Rule]]:
    """Rules across, one under the other over about the same width, in runs: each run is a
    candidate table (at least three rules: two bands)."""
    stacks: list[list[_Rule]] = []
    for rule in sorted(across, key=lambda r: r.at):
        for stack in stacks:
            if rule.at - stack[-1].at > _MAX_ROW * unit:
                continue
            # Against the stack's whole width: a rule under part of a header (a heading
            # over three columns) does not narrow it.
            start, end = min(r.start for r in stack), max(r.end for r in stack)
            overlap = min(end, rule.end) - max(start, rule.start)
            shorter = min(end - start, rule.end - rule.start)
            if overlap >= _SAME_WIDTH * shorter:
                stack.append(rule)
                break
        else:
            stacks.append([rule])
    return [s for s in stacks if len(s) >= _MIN_ROWS + 1]


def _split_at_white(stack: list[_Rule], words: list[_Word], unit: float) -> list[list[_Rule]]:
    """``stack`` cut at every band with no words in it: white between two tables ruled alike
    (a spec sheet's sections), or a blank row before the next block."""
    x0, x1 = min(r.start for r in stack), max(r.end for r in stack)
    parts: list[list[_Rule]] = [[stack[0]]]
    for upper, lower in itertools.pairwise(stack):
        empty = lower.at - upper.at >= _MIN_BAND * unit and not any(
            x0 <= w.centre[0] <= x1 and upper.at <= w.centre[1] <= lower.at for w in words
        )
        if empty:
            parts.append([lower])
        else:
            parts[-1].append(lower)
    return [p for p in parts if len(p) >= _MIN_ROWS + 1]


def _downs(
    gray: npt.NDArray[np.uint8], top: float, bottom: float, x0: float, x1: float, unit: float
) -> list[float]:
    """Where a rule runs down the band ``top``-``bottom`` between ``x0`` and ``x1``: the
    x of each edge that runs (nearly) the band's whole height, close edges merged."""
    margin = max(2, round(_BAND_MARGIN * unit))
    y0, y1 = round(top) + margin, round(bottom) - margin
    left, right = max(round(x0), 0), min(round(x1), gray.shape[1])
    if y1 - y0 < 2 or right - left < 2 * _STEP + 1:
        return []
    band = gray[max(y0, 0) : min(y1, gray.shape[0]), left:right].astype(np.int16)
    if band.shape[0] < 2:
        return []
    steps = np.abs(band[:, _STEP:] - band[:, :-_STEP]) >= _MIN_STEP
    runs = steps.mean(axis=0) >= _DOWN_SHARE
    xs = np.flatnonzero(runs)
    found: list[float] = []
    group: list[int] = []
    for x in xs.tolist():
        if group and x - group[-1] > _SAME_RULE * unit:
            found.append(left + _STEP / 2 + sum(group) / len(group))
            group = []
        group.append(x)
    if group:
        found.append(left + _STEP / 2 + sum(group) / len(group))
    return found


def _bands(positions: list[float], unit: float) -> list[float]:
    """Rule positions with those too close to the previous one dropped (no band between)."""
    kept: list[float] = []
    for at in sorted(positions):
        if not kept or at - kept[-1] >= _MIN_BAND * unit:
            kept.append(at)
    return kept


def _ruled_across(
    across: list[_Rule],
    gray: npt.NDArray[np.uint8],
    at: float,
    start: float,
    end: float,
    unit: float,
) -> bool:
    """Whether a rule runs across ``start``-``end`` near height ``at``: a rule found on the
    page, or, for a cell too narrow for the page-wide search (which breaks a rule where a
    rule down crosses it), an edge along the cell's side in its pixels."""
    if _covered(across, at, start, end, unit):
        return True
    margin = max(2, round(_BAND_MARGIN * unit))
    left, right = round(start) + margin, round(end) - margin
    reach = round(_SAME_RULE * unit)
    top, bottom = max(round(at) - reach, 0), min(round(at) + reach, gray.shape[0])
    if right - left < 2 or bottom - top <= _STEP:
        return False
    strip = gray[top:bottom, max(left, 0) : min(right, gray.shape[1])].astype(np.int16)
    steps = np.abs(strip[_STEP:, :] - strip[:-_STEP, :]) >= _MIN_STEP
    return bool(steps.size) and float(steps.mean(axis=1).max()) >= _DOWN_SHARE


def _covered(
    rules: list[_Rule], at: float, start: float, end: float, unit: float, share: float = 0.0
) -> bool:
    """Whether a rule near ``at`` covers most of ``start``-``end`` (``share`` of it, if
    given)."""
    need = (share or _COVERS) * (end - start)
    return any(
        abs(r.at - at) <= _SAME_RULE * unit and min(r.end, end) - max(r.start, start) >= need
        for r in rules
    )


def _columns(
    per_band: list[list[float]], x0: float, x1: float, unit: float
) -> tuple[list[float], list[list[bool]]] | None:
    """The grid's column bounds (its outer edges included) from the rules found down each
    band, and for each band whether each inner bound has its rule there."""
    near = _ALIGN * unit
    clusters: list[list[tuple[float, int]]] = []
    for band, found in enumerate(per_band):
        for x in found:
            for cluster in clusters:
                if abs(sum(p[0] for p in cluster) / len(cluster) - x) <= near:
                    cluster.append((x, band))
                    break
            else:
                clusters.append([(x, band)])
    need = _DOWN_BANDS * len(per_band)
    found = sorted(
        sum(p[0] for p in cluster) / len(cluster)
        for cluster in clusters
        if len({p[1] for p in cluster}) >= need
    )
    inner = [x for x in found if x0 + near < x < x1 - near]
    if not inner:
        return None
    bounds = _bands([x0, *inner, x1], unit)
    if bounds[-1] < x1 - near:
        bounds[-1] = x1
    present = [
        [any(abs(x - at) <= near for x in found) for at in bounds[1:-1]] for found in per_band
    ]
    return bounds, present


def _boxed(per_band: list[list[float]], x0: float, x1: float, unit: float) -> bool:
    """Whether rules run down both sides of most bands: the rows are boxed."""
    near = _ALIGN * unit

    def side(at: float) -> int:
        return sum(1 for found in per_band if any(abs(x - at) <= 2 * near for x in found))

    need = _DOWN_BANDS * len(per_band)
    return side(x0) >= need and side(x1) >= need


def _rows_with_words(ys: list[float], words: list[_Word], x0: float, x1: float) -> list[float]:
    """``ys`` without the empty bands at the top and bottom."""

    def filled(top: float, bottom: float) -> bool:
        return any(x0 <= w.centre[0] <= x1 and top <= w.centre[1] <= bottom for w in words)

    while len(ys) > 1 and not filled(ys[0], ys[1]):
        ys = ys[1:]
    while len(ys) > 1 and not filled(ys[-2], ys[-1]):
        ys = ys[:-1]
    return ys


def _tall_row(ys: list[float], words: list[_Word], x0: float, x1: float) -> bool:
    """Whether a row holds more lines of text than a list's entry wraps onto (a form's block
    of labels over their fields)."""
    for top, bottom in itertools.pairwise(ys):
        lines = {
            w.key[0] for w in words if x0 <= w.centre[0] <= x1 and top <= w.centre[1] <= bottom
        }
        if len(lines) > _OPEN_ROW_LINES:
            return True
    return False


def _one_cell(top: float, bottom: float, words: list[_Word], bounds: list[float]) -> bool:
    """Whether the words between ``top`` and ``bottom`` lie in one column of ``bounds``."""
    columns = {
        max(k for k in range(len(bounds) - 1) if bounds[k] <= w.centre[0])
        for w in words
        if top <= w.centre[1] <= bottom and bounds[0] <= w.centre[0] <= bounds[-1]
    }
    return len(columns) <= 1


def _white_columns(
    ys: list[float], words: list[_Word], x0: float, x1: float, unit: float
) -> tuple[list[float], list[list[bool]]] | None:
    """Column bounds of a table ruled across only, from the white between its rows' words:
    an x where the words of nearly every row leave a gutter at least a line height wide.
    A row whose words cross a gutter (a title row, a wrapped label) spans it. For each row,
    whether each bound is kept there (False: that row's cell spans it)."""
    rows = len(ys) - 1
    if rows < _MIN_ROWS:
        return None
    inside = [w for w in words if x0 <= w.centre[0] <= x1 and ys[0] <= w.centre[1] <= ys[-1]]
    if not inside:
        return None
    left, right = min(w.box[0] for w in inside), max(w.box[2] for w in inside)
    width = math.ceil(right - left) + 1
    per_row: list[list[_Word]] = [[] for _ in range(rows)]
    for w in inside:
        r = max(i for i in range(rows) if ys[i] <= w.centre[1])
        per_row[r].append(w)
    covered = np.zeros((rows, width), dtype=bool)
    for r, ws in enumerate(per_row):
        for w in ws:
            covered[r, max(math.floor(w.box[0] - left), 0) : math.ceil(w.box[2] - left) + 1] = True
    # A word-space is no gutter: close the gaps inside each row narrower than a gutter.
    crossing = covered.sum(axis=0)
    allowed = math.floor(_CROSSING * rows)
    free = crossing <= allowed
    gutters: list[tuple[int, int]] = []
    start: int | None = None
    clear = crossing == 0
    for x in range(width + 1):
        if x < width and free[x]:
            start = x if start is None else start
        elif start is not None:
            # A narrower gutter counts when no row crosses it at all (a value set right
            # beside a code set left, a padding apart).
            need = _GUTTER if not clear[start:x].all() else _CLEAR_GUTTER
            if x - start >= need * unit and start > 0 and x < width:
                gutters.append((start, x))
            start = None
    if not gutters:
        return None
    bounds = [x0, *(left + (a + b) / 2 for a, b in gutters), x1]
    present = [[not covered[r, round((a + b) / 2)] for a, b in gutters] for r in range(rows)]
    # Cells of prose are no table: most rows' cells are short (labels, values, numbers).
    long_rows = sum(1 for ws in per_row if ws and len(ws) > _PROSE_WORDS * (len(gutters) + 1))
    filled_rows = sum(1 for ws in per_row if ws)
    if long_rows > _PROSE_ROWS * filled_rows:
        return None
    return bounds, present


def _table(
    stack: list[_Rule],
    across: list[_Rule],
    gray: npt.NDArray[np.uint8],
    words: list[_Word],
    unit: float,
    within: tuple[float, float] | None = None,
) -> tuple[Table, set[int], bool] | None:
    """The grid table of ``stack`` (its rules' extent, or ``within`` those x bounds), the
    indices of its words, and whether it is only a fallback (a list read from the white
    under rules across with no box, kept only where the alignment method reads nothing);
    or None."""
    if within is None:
        x0, x1 = min(r.start for r in stack), max(r.end for r in stack)
    else:
        x0, x1 = within
    ys = _bands([r.at for r in stack], unit)
    rows = len(ys) - 1
    if rows < _MIN_ROWS:
        return None
    per_band = [_downs(gray, ys[r], ys[r + 1], x0, x1, unit) for r in range(rows)]
    weak = False
    found = _columns(per_band, x0, x1, unit)
    if found is None:
        # Boxed, with rules across but none down inside: the columns are where white runs
        # down the rows. (Ruled across only, with no box, is the alignment method's.)
        # ... with its rows ruled off from side to side (the boxes of a form's fields side
        # by side are ruled across each field only).
        inner = ys[1:-1]
        across_all = sum(1 for y in inner if _covered(across, y, x0, x1, unit, _FULL_WIDTH))
        if across_all < _FULL_ROWS * len(inner):
            return None
        boxed = _boxed(per_band, x0, x1, unit)
        ys = _rows_with_words(ys, words, x0, x1)
        if len(ys) - 1 < _BOXED_MIN_ROWS:
            return None  # a box with a title bar over its contents
        if statistics.median(b - a for a, b in itertools.pairwise(ys)) > _BOXED_ROW * unit:
            return None  # rows of blocks (a form's labels over their fields), not of lines
        found = _white_columns(ys, words, x0, x1, unit)
        if found is None:
            return None
        # Rows after the last one that keeps every gutter are the next block's (a caption
        # under the rule that closes the table, the next table's heading).
        while len(ys) - 1 > _MIN_ROWS and not all(found[1][-1]):
            ys, found = ys[:-1], (found[0], found[1][:-1])
        if not boxed:
            # Without a box, only labels and values ruled row by row (a spec sheet's list; a
            # table of more columns ruled across only is the alignment method's), and a bar
            # over it with one heading is its heading, not its first row.
            if len(found[0]) != 3:
                return None
            if _one_cell(ys[0], ys[1], words, found[0]):
                ys, found = ys[1:], (found[0], found[1][1:])
            if len(ys) - 1 < _OPEN_MIN_ROWS or _tall_row(ys, words, x0, x1):
                return None
            weak = True
    xs, present = found
    # Bands at the top or bottom with none of the rules down are not the table's (the rule
    # over a heading, a block above the table on the same rules).
    while present and not any(present[0]):
        present, ys = present[1:], ys[1:]
    while present and not any(present[-1]):
        present, ys = present[:-1], ys[:-1]
    rows = len(ys) - 1
    if rows < _MIN_ROWS:
        return None
    columns = len(xs) - 1
    if columns < _MIN_COLUMNS:
        return None
    # Which grid positions are one cell: no rule between them.
    parent = list(range(rows * columns))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in range(rows):
        for c in range(columns):
            if c + 1 < columns and not present[r][c]:
                parent[root(r * columns + c + 1)] = root(r * columns + c)
            if r + 1 < rows and not _ruled_across(across, gray, ys[r + 1], xs[c], xs[c + 1], unit):
                parent[root((r + 1) * columns + c)] = root(r * columns + c)
    spans: dict[int, list[tuple[int, int]]] = {}
    for r in range(rows):
        for c in range(columns):
            spans.setdefault(root(r * columns + c), []).append((r, c))
    regions: list[tuple[int, int, int, int]] = []
    for members in spans.values():
        r0, r1 = min(m[0] for m in members), max(m[0] for m in members)
        c0, c1 = min(m[1] for m in members), max(m[1] for m in members)
        if len(members) != (r1 - r0 + 1) * (c1 - c0 + 1):
            return None  # not rectangles: rules that do not make a table
        regions.append((r0, c0, r1, c1))
    regions.sort()
    # Words by their centres, in reading order within each cell.
    owner: dict[tuple[int, int], list[_Word]] = {}
    used: set[int] = set()
    for index, word in enumerate(words):
        x, y = word.centre
        if not (xs[0] <= x <= xs[-1] and ys[0] <= y <= ys[-1]):
            continue
        r = max(i for i in range(rows) if ys[i] <= y)
        c = max(i for i in range(columns) if xs[i] <= x)
        for r0, c0, r1, c1 in regions:
            if r0 <= r <= r1 and c0 <= c <= c1:
                owner.setdefault((r0, c0), []).append(word)
                used.add(index)
                break
    # An empty column at either side lies between a long rule's end and the table's frame.
    if columns > _MIN_COLUMNS and regions:
        filled = {c0 for (_r0, c0), ws in owner.items() if ws}
        if 0 not in filled and all(c0 != 0 or c1 == 0 for _r0, c0, _r1, c1 in regions):
            return _table(stack, across, gray, words, unit, (xs[1], xs[-1]))
        last = columns - 1
        if last not in filled and all(c1 != last or c0 == last for _r0, c0, _r1, c1 in regions):
            return _table(stack, across, gray, words, unit, (xs[0], xs[-2]))
    filled_rows = sum(
        1 for r in range(rows) if sum(1 for (r0, _c0), ws in owner.items() if r0 == r and ws) >= 2
    )
    if filled_rows < max(_FILLED_ROWS * rows, 1) or not used:
        return None
    cells: list[Cell] = []
    for r0, c0, r1, c1 in regions:
        # The first row is taken for the header here; :func:`_with_header` looks at its text.
        kind: CellKind = "columnHeader" if r0 == 0 else "content"
        cells.append(
            Cell(
                row=r0,
                column=c0,
                row_span=r1 - r0 + 1,
                column_span=c1 - c0 + 1,
                kind=kind,
                box=(xs[c0], ys[r0], xs[c1 + 1], ys[r1 + 1]),
                words=tuple(w.key for w in owner.get((r0, c0), [])),
            )
        )
    box = (xs[0], ys[0], xs[-1], ys[-1])
    return Table(rows, columns, box, True, tuple(cells)), used, weak


def _numeric(text: str) -> bool:
    stripped = [ch for ch in text if not ch.isspace()]
    digits = sum(ch.isdigit() for ch in stripped)
    return bool(stripped) and digits >= 0.5 * len(stripped)


def find_grids(
    lines: Sequence[TextLine],
    separators: Sequence[Separator],
    gray: npt.NDArray[np.uint8],
    angle: float = 0.0,
) -> Grids:
    """The tables ruled as grids on a page (``gray``: its pixels, one channel), top to
    bottom, the words they took (as ``(line, word)``), and the fallback lists; in the page's
    pixels, ``angle`` the text's angle."""
    height, width = gray.shape[:2]
    turn = angle if abs(angle) >= _MIN_TURN else 0.0
    centre = (width / 2, height / 2)
    words: list[_Word] = []
    heights: list[float] = []
    texts: dict[tuple[int, int], str] = {}
    for i, line in enumerate(lines):
        points = [_turn(line.polygon[k], line.polygon[k + 1], centre, -turn) for k in (0, 2, 4, 6)]
        box = _bounds(points)
        heights.append(box[3] - box[1])
        for j, word in enumerate(line.words):
            wp = [_turn(word.polygon[k], word.polygon[k + 1], centre, -turn) for k in (0, 2, 4, 6)]
            words.append(_Word((i, j), _bounds(wp)))
            texts[(i, j)] = word.text
    if not words or not separators:
        return Grids([], set(), [])
    unit = max(statistics.median(heights), 1.0)
    across: list[_Rule] = []
    for s in separators:
        (x0, y0), (x1, y1) = _turn(s.x0, s.y0, centre, -turn), _turn(s.x1, s.y1, centre, -turn)
        if abs(y1 - y0) <= abs(x1 - x0):
            across.append(_Rule((y0 + y1) / 2, min(x0, x1), max(x0, x1)))
    across = _merge(across, unit)
    if turn:
        a = math.radians(-turn)
        cos, sin = math.cos(a), math.sin(a)
        matrix = np.array(
            [
                [cos, -sin, centre[0] - centre[0] * cos + centre[1] * sin],
                [sin, cos, centre[1] - centre[0] * sin - centre[1] * cos],
            ]
        )
        gray = np.asarray(
            cv2.warpAffine(gray, matrix, (width, height), borderValue=255), dtype=np.uint8
        )
    across = _join_through_pixels(across, gray, unit)
    stacks = _stacks(across, unit)
    if not stacks:
        return Grids([], set(), [])
    found = Grids([], set(), [])
    for stack in (part for whole in stacks for part in _split_at_white(whole, words, unit)):
        made = _table(stack, across, gray, words, unit)
        if made is None:
            continue
        table, used, weak = made
        table = _upright_back(_with_header(table, texts), centre, turn)
        if weak:
            found.fallback.append(table)
            continue
        found.tables.append(table)
        found.taken.update(words[i].key for i in used)
    found.tables.sort(key=lambda t: (t.box[1], t.box[0]))
    return found


def _with_header(table: Table, texts: dict[tuple[int, int], str]) -> Table:
    """The first row as column headers only when none of its cells is a number."""
    first = [c for c in table.cells if c.row == 0]
    numeric = any(_numeric(" ".join(texts[w] for w in c.words)) for c in first if c.words)
    if not numeric and table.rows >= 2:
        return table
    cells = tuple(
        Cell(c.row, c.column, c.row_span, c.column_span, "content", c.box, c.words)
        for c in table.cells
    )
    return Table(table.rows, table.columns, table.box, table.ruled, cells)


def _upright_back(table: Table, centre: tuple[float, float], turn: float) -> Table:
    if not turn:
        return table

    def back(box: Box) -> Box:
        corners = [(box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3])]
        return _bounds([_turn(x, y, centre, turn) for x, y in corners])

    cells = tuple(
        Cell(c.row, c.column, c.row_span, c.column_span, c.kind, back(c.box), c.words)
        for c in table.cells
    )
    return Table(table.rows, table.columns, back(table.box), table.ruled, cells)


def ruled_around(gray: npt.NDArray[np.uint8], box: Box, unit: float) -> tuple[bool, bool, bool]:
    """Whether a line is drawn close above, close below and close to the left of the text in
    ``box`` (page pixels, upright). A form's values are written in fields (all three), its
    labels stand free (neither above nor below); a ruled table's cells are ruled above and
    below whatever their alignment: :func:`emulator.structure.tables` tells a form's labels
    and fields from a table by it."""
    height, width = gray.shape[:2]
    x0, y0, x1, y1 = (round(v) for v in box)
    reach = round(_FIELD_REACH * unit)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return False, False, False

    def across(top: int, bottom: int) -> bool:
        top, bottom = max(top, 0), min(bottom, height)
        if bottom - top <= _STEP:
            return False
        strip = gray[top:bottom, max(x0, 0) : min(x1, width)].astype(np.int16)
        steps = np.abs(strip[_STEP:, :] - strip[:-_STEP, :]) >= _MIN_STEP
        return bool(steps.size) and float(steps.mean(axis=1).max()) >= _DOWN_SHARE

    def down(left: int, right: int) -> bool:
        left, right = max(left, 0), min(right, width)
        if right - left <= _STEP:
            return False
        strip = gray[max(y0, 0) : min(y1, height), left:right].astype(np.int16)
        steps = np.abs(strip[:, _STEP:] - strip[:, :-_STEP]) >= _MIN_STEP
        return bool(steps.size) and float(steps.mean(axis=0).max()) >= _DOWN_SHARE

    return across(y0 - reach, y0), across(y1, y1 + reach), down(x0 - reach, x0)
