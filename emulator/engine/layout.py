"""Reading order over line boxes: pure functions, no engine, no images.

Every function takes axis-aligned boxes ``(left, top, right, bottom)`` in the page's *reading
frame* (the page rotated so its text runs left to right, top to bottom) and returns a
permutation of their indices.

* :func:`basic_order` groups lines into rows (vertical overlap) and reads rows top to bottom,
  each row left to right: the service's ``readingOrder=basic``.
* :func:`natural_order` follows columns and blocks with a recursive XY-cut: a page is split at
  vertical gutters into columns (read left to right, each to its end) unless the pieces look
  like a table's cells, in which case it is split into horizontal bands first, so a table still
  reads row by row. This is ``readingOrder=natural``.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

Box = tuple[float, float, float, float]

__all__ = ["Box", "basic_order", "group_rows", "natural_order"]

# A gutter must be at least this many median line heights wide to separate columns; word
# spaces inside a detected line never reach it, column gutters in print always do.
_MIN_GUTTER = 0.9
# Lines whose vertical overlap is at least this share of the smaller height sit on one row.
_ROW_OVERLAP = 0.5
# Lines this many heights wide (about 15 characters) are prose; table cells are shorter.
_PROSE_ASPECT = 9.0
# Share of lines with a partner on the same row across a gutter above which pieces are cells.
_ALIGNED_SHARE = 0.6


def _height(box: Box) -> float:
    return max(box[3] - box[1], 1e-6)


def _width(box: Box) -> float:
    return max(box[2] - box[0], 1e-6)


def _same_row(a: Box, b: Box) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap >= _ROW_OVERLAP * min(_height(a), _height(b))


def group_rows(boxes: Sequence[Box], indices: Sequence[int] | None = None) -> list[list[int]]:
    """Group lines into rows, top to bottom; each row's indices ordered left to right.

    A line joins the row whose vertical band it overlaps by at least half the smaller height
    (comparing with the row's last line, so slightly sloping rows of a skewed scan hold).
    """
    order = sorted(indices if indices is not None else range(len(boxes)), key=lambda i: boxes[i][1])
    rows: list[list[int]] = []
    for i in order:
        best = None
        best_overlap = 0.0
        # Only the most recent rows can still overlap a line that starts lower down.
        for r in range(len(rows) - 1, max(len(rows) - 4, -1), -1):
            for j in rows[r]:
                if _same_row(boxes[i], boxes[j]):
                    overlap = min(boxes[i][3], boxes[j][3]) - max(boxes[i][1], boxes[j][1])
                    if overlap > best_overlap:
                        best, best_overlap = r, overlap
        if best is None:
            rows.append([i])
        else:
            rows[best].append(i)
    rows.sort(key=lambda row: median((boxes[i][1] + boxes[i][3]) / 2 for i in row))
    return [sorted(row, key=lambda i: boxes[i][0]) for row in rows]


def basic_order(boxes: Sequence[Box]) -> list[int]:
    """Rows top to bottom, each row left to right (``readingOrder=basic``)."""
    return [i for row in group_rows(boxes) for i in row]


def natural_order(boxes: Sequence[Box]) -> list[int]:
    """Columns and blocks in reading order (``readingOrder=natural``), by recursive XY-cut."""
    if not boxes:
        return []
    line_height = median(_height(b) for b in boxes)
    return _xy_cut(boxes, list(range(len(boxes))), line_height)


def _gaps(intervals: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    """``(cut position, gap width)`` for each gap >= ``min_gap`` in the 1-D projection."""
    intervals = sorted(intervals)
    cuts: list[tuple[float, float]] = []
    reach = intervals[0][1]
    for start, end in intervals[1:]:
        if start - reach >= min_gap:
            cuts.append(((start + reach) / 2, start - reach))
        reach = max(reach, end)
    return cuts


def _split(boxes: Sequence[Box], idx: list[int], cuts: list[float], axis: int) -> list[list[int]]:
    parts: list[list[int]] = [[] for _ in range(len(cuts) + 1)]
    for i in idx:
        centre = (boxes[i][axis] + boxes[i][axis + 2]) / 2
        k = sum(1 for c in cuts if centre > c)
        parts[k].append(i)
    return [p for p in parts if p]


def _looks_like_cells(boxes: Sequence[Box], parts: list[list[int]]) -> bool:
    """True when pieces split by gutters are a table's cells rather than text columns.

    Cells line up on shared rows across the gutter and are short; prose columns are made of
    long lines (even when set on a common baseline grid, where they line up too).
    """
    if all(median(_width(boxes[i]) / _height(boxes[i]) for i in p) >= _PROSE_ASPECT for p in parts):
        return False
    aligned = 0
    total = 0
    for k, part in enumerate(parts):
        others = [j for m, p in enumerate(parts) if m != k for j in p]
        for i in part:
            total += 1
            if any(_same_row(boxes[i], boxes[j]) for j in others):
                aligned += 1
    return total > 0 and aligned / total >= _ALIGNED_SHARE


def _xy_cut(boxes: Sequence[Box], idx: list[int], line_height: float) -> list[int]:
    if len(idx) <= 1:
        return list(idx)
    x_cuts = [
        c for c, _ in _gaps([(boxes[i][0], boxes[i][2]) for i in idx], _MIN_GUTTER * line_height)
    ]
    if x_cuts:
        columns = _split(boxes, idx, x_cuts, 0)
        if not _looks_like_cells(boxes, columns):
            return [i for col in columns for i in _xy_cut(boxes, col, line_height)]
    y_cuts = _gaps([(boxes[i][1], boxes[i][3]) for i in idx], 1e-6)
    if y_cuts:
        # The widest band of white space first (ties: the topmost), so a heading or a
        # paragraph break splits before the lines of a column are separated.
        widest = max(y_cuts, key=lambda c: (c[1], -c[0]))[0]
        top, bottom = _split(boxes, idx, [widest], 1)
        return _xy_cut(boxes, top, line_height) + _xy_cut(boxes, bottom, line_height)
    if x_cuts:
        # One band of cells with nothing to cut horizontally: left to right.
        return [i for col in _split(boxes, idx, x_cuts, 0) for i in basic_order_of(boxes, col)]
    return basic_order_of(boxes, idx)


def basic_order_of(boxes: Sequence[Box], idx: Sequence[int]) -> list[int]:
    """:func:`basic_order` restricted to the lines ``idx``."""
    return [i for row in group_rows(boxes, idx) for i in row]
