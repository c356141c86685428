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

__all__ = ["Box", "basic_order", "group_rows", "gutter_cuts", "natural_order"]

# A gutter must be at least this many median line heights wide to separate columns; word
# spaces inside a detected line never reach it, column gutters in print always do.
_MIN_GUTTER = 0.4
# Lines whose vertical overlap is at least this share of the smaller height sit on one row.
_ROW_OVERLAP = 0.5
# Lines this many heights wide (about 15 characters) are prose; table cells are shorter.
_PROSE_ASPECT = 9.0
# Lines crossing a column gutter that are narrower than this share of the region are set aside
# (captions, pull quotes) instead of ending the columns.
_ASIDE_WIDTH = 0.5
# How far (in line heights) above and below a line to look for the columns of a gutter, and
# how many lines each column must show there.
_GUTTER_REACH = 6.0
_GUTTER_SUPPORT = 2
# How close to a gutter (in line heights) a column's lines end and start.
_FLUSH = 1.0
# The white between two words' boxes (which already include half a character each side) that
# a gutter needs, in line heights.
_MIN_CUT_GAP = 0.15
# Share of a section's height a text column's lines must cover (prose covers about 2/3).
_MIN_COLUMN_FILL = 0.35
# Share of a box's height (around its middle) that must clear the next line for a cut.
_CORE = 0.6
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


def gutter_cuts(lines: Sequence[Box], words: Sequence[Sequence[Box]]) -> list[list[int]]:
    """Where a detected line bridges a column gutter and should be two lines.

    A text detector merges the ends of two lines that face each other across a narrow gutter
    into one box. For each line, returns the indices ``m`` of its word gaps (between word ``m``
    and ``m + 1``, words in reading order) through which a gutter runs: within
    ``_GUTTER_REACH`` line heights above and below, no other line crosses the gap's middle,
    and at least ``_GUTTER_SUPPORT`` lines on each side end (left) or start (right) within
    ``_FLUSH`` line heights of it, as the lines of two columns do at their gutter. Spaces
    inside a column never qualify (the lines above and below run through them), nor do the
    gaps of a table row or of ragged text, whose neighbours are not flush with the gap.
    """
    cuts: list[list[int]] = []
    for i, (line, line_words) in enumerate(zip(lines, words, strict=True)):
        found: list[int] = []
        if len(line_words) >= 2:
            height = _height(line)
            top, bottom = line[1] - _GUTTER_REACH * height, line[3] + _GUTTER_REACH * height
            near = [
                b
                for j, b in enumerate(lines)
                if j != i and b[3] > top and b[1] < bottom and not _same_row(b, line)
            ]
            for m in range(len(line_words) - 1):
                gap0, gap1 = line_words[m][2], line_words[m + 1][0]
                if gap1 - gap0 < _MIN_CUT_GAP * height:
                    continue
                centre = (gap0 + gap1) / 2
                if any(b[0] < centre < b[2] for b in near):
                    continue
                # Columns are set flush to their gutter: lines end just before it on the left
                # and start just after it on the right. Table cells and ragged text are not.
                flush = _FLUSH * height
                left = sum(1 for b in near if gap0 - flush <= b[2] <= centre)
                right = sum(1 for b in near if centre <= b[0] <= gap1 + flush)
                if left >= _GUTTER_SUPPORT and right >= _GUTTER_SUPPORT:
                    found.append(m)
        cuts.append(found)
    return cuts


def natural_order(boxes: Sequence[Box]) -> list[int]:
    """Columns and blocks in reading order (``readingOrder=natural``).

    The page is cut into horizontal bands at every white row. Consecutive bands that share a
    vertical gutter form a *column section*; each of its columns is read to the end (and
    ordered the same way inside, recursively) before the next. A band that crosses the gutter
    with a long line (a full-width heading or paragraph) ends the section; short lines that sit
    in the gutter (a caption, a pull quote) are set aside and read after the section. A section
    whose columns look like a table's cells is read band by band, i.e. row by row.
    """
    if not boxes:
        return []
    line_height = median(_height(b) for b in boxes)
    return _order(boxes, list(range(len(boxes))), line_height * _MIN_GUTTER)


def _order(boxes: Sequence[Box], idx: list[int], min_gutter: float) -> list[int]:
    if len(idx) <= 1:
        return list(idx)
    bands = _split(boxes, idx, [c for c, _ in _gaps([_core_rows(boxes[i]) for i in idx], 1e-6)], 1)
    left = min(boxes[i][0] for i in idx)
    right = max(boxes[i][2] for i in idx)
    sections: list[_Section] = []
    for band in bands:
        if sections and sections[-1].absorb(boxes, band, min_gutter, right - left):
            continue
        carried = sections[-1].split_off_last(boxes, band, min_gutter) if sections else []
        sections.append(_Section(boxes, carried + band, min_gutter))
    out: list[int] = []
    for section in sections:
        out.extend(section.read(boxes, min_gutter))
    return out


class _Section:
    """Consecutive bands read together: either plain rows, or columns split by a gutter."""

    def __init__(self, boxes: Sequence[Box], band: list[int], min_gutter: float) -> None:
        self.bands = [band]
        self.lines = list(band)
        self.aside: list[int] = []
        self.gutters = _interior_gutters(boxes, self.lines, min_gutter)

    def absorb(
        self, boxes: Sequence[Box], band: list[int], min_gutter: float, width: float
    ) -> bool:
        """Take ``band`` into this section if the section's structure continues through it."""
        gutters = _interior_gutters(boxes, self.lines + band, min_gutter)
        if gutters:
            self._take(band, [], gutters)
            return True
        if not self.gutters:
            # Plain rows go on, unless the band starts columns with the last row.
            if len(self.bands) > 1 and _interior_gutters(boxes, self.bands[-1] + band, min_gutter):
                return False
            self._take(band, [], [])
            return True
        # The band crosses the gutters: keep the columns if only short lines do.
        crossing = [i for i in band if any(_crosses(boxes[i], g) for g in self.gutters)]
        if any(_width(boxes[i]) > _ASIDE_WIDTH * width for i in crossing):
            return False
        rest = [i for i in band if i not in crossing]
        gutters = _interior_gutters(boxes, self.lines + rest, min_gutter) if rest else self.gutters
        if not gutters:
            return False
        self._take(rest, crossing, gutters)
        return True

    def split_off_last(self, boxes: Sequence[Box], band: list[int], min_gutter: float) -> list[int]:
        """The last band, removed, when it and ``band`` start columns; else nothing."""
        if self.gutters or len(self.bands) < 2:
            return []
        if not _interior_gutters(boxes, self.bands[-1] + band, min_gutter):
            return []
        last = self.bands.pop()
        self.lines = [i for i in self.lines if i not in set(last)]
        return last

    def _take(self, band: list[int], aside: list[int], gutters: list[tuple[float, float]]) -> None:
        if band:
            self.bands.append(band)
            self.lines.extend(band)
        self.aside.extend(aside)
        self.gutters = gutters

    def read(self, boxes: Sequence[Box], min_gutter: float) -> list[int]:
        if not self.gutters:
            out = [i for band in self.bands for i in basic_order_of(boxes, band)]
        else:
            cuts = [(g0 + g1) / 2 for g0, g1 in self.gutters]
            columns = _split(boxes, self.lines, cuts, 0)
            if _looks_like_cells(boxes, columns) or not _all_dense(boxes, columns):
                out = [i for band in self.bands for i in basic_order_of(boxes, band)]
            else:
                out = [i for col in columns for i in _order(boxes, col, min_gutter)]
        return out + basic_order_of(boxes, self.aside)


def _all_dense(boxes: Sequence[Box], columns: list[list[int]]) -> bool:
    """True when every column is filled with lines from its first line to its last.

    Text columns are: their lines follow each other at one line pitch. The two sides of a
    form or an invoice are not: a few labels on the right face long runs on the left, and
    reading those side by side (row by row) is what a person does.
    """
    for col in columns:
        rows = sorted((boxes[i][1], boxes[i][3]) for i in col)
        top = rows[0][0]
        height = max(max(end for _, end in rows) - top, 1e-6)
        covered = 0.0
        reach = top
        for start, end in rows:
            covered += max(0.0, end - max(start, reach))
            reach = max(reach, end)
        if covered / height < _MIN_COLUMN_FILL:
            return False
    return True


def _interior_gutters(
    boxes: Sequence[Box], idx: list[int], min_gutter: float
) -> list[tuple[float, float]]:
    """White vertical strips at least ``min_gutter`` wide with lines on both sides."""
    spans = sorted((boxes[i][0], boxes[i][2]) for i in idx)
    out = []
    reach = spans[0][1]
    for start, end in spans[1:]:
        if start - reach >= min_gutter:
            out.append((reach, start))
        reach = max(reach, end)
    return out


def _crosses(box: Box, gutter: tuple[float, float]) -> bool:
    return box[0] < gutter[1] and box[2] > gutter[0]


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


def basic_order_of(boxes: Sequence[Box], idx: Sequence[int]) -> list[int]:
    """:func:`basic_order` restricted to the lines ``idx``."""
    return [i for row in group_rows(boxes, idx) for i in row]


def _core_rows(box: Box) -> tuple[float, float]:
    centre, half = (box[1] + box[3]) / 2, (box[3] - box[1]) * _CORE / 2
    return centre - half, centre + half
