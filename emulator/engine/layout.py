"""Reading order over line boxes: pure functions, no engine, no images.

One module of over 1,800 lines, on purpose: :func:`natural_order` is one recursive algorithm
whose steps (the bands, sections and columns of :class:`_Section`, the figures, captions and
sentences mended after) share over fifty thresholds and the same box helpers, so split by
step the pieces would import each other's private helpers both ways; and
``benchmarks/order.py --layout-from REV`` runs this file as it was at a git revision, as one
pure module, to measure what a change to it changes. :func:`basic_order` and
:func:`gutter_cuts` are small and share the row helpers.

Every function takes axis-aligned boxes ``(left, top, right, bottom)`` in the page's *reading
frame* (the page rotated so its text runs left to right, top to bottom) and returns a
permutation of their indices.

* :func:`basic_order` groups lines into rows (vertical overlap; a line never joins a row that
  already holds a line above or below it) and reads rows top to bottom, each row left to
  right: the service's ``readingOrder=basic``.
* :func:`natural_order` is ``readingOrder=natural``, a recursive XY-cut founded on the page's
  whitespace and on the rules drawn on it (:mod:`emulator.engine.separators`):

  1. The region is cut into *bands* at every white row.
  2. Consecutive bands that share a vertical gutter form a *section*. A band ends the section
     when it closes one of the section's gutters with a line wider than half the region or
     than any of its columns (a heading, a paragraph or footnotes across the columns, even
     where another gutter stays open beside it; the next column's first lines beside author
     blocks), when a rule drawn across the whole section runs above it (a box's edge, a
     table's rule) or a rule within one column over a line there while every other column
     ends a few lines above and goes no further (a footnotes' separator over a short note),
     when it lies below a line's height of white under every column (a block of its own, a
     footer) or below a paragraph break in smaller type (footnotes), or when the section's
     rows above are a title in larger type that closes the band's gutter. The row just
     above the first band with gutters joins the columns when it runs on into them at a
     line's distance (it is their first row), unless it crosses one of their gutters and
     starts at none of their left edges (a centred subtitle's last line). A
     few short lines across the gutter, or a band that lies in the gutter itself (a caption,
     a heading centred between author blocks), are set aside and read after the section.
  3. A section with gutters is read either **column by column** (each column ordered the same
     way, recursively) or **row by row** (each band ordered on its own). It is read by rows
     when its pieces are a table's cells or a form's fields: the lines that face each other
     across a gutter are aligned top and bottom (not merely overlapping) with their nearest
     neighbour, and are not two lines of prose (columns of text on a baseline grid align too;
     so do narrow ones, whose lines are shorter than prose but fill a long column); or when the
     pieces are short blocks side by side with at most one of them prose (an invoice's
     addresses; not text wrapped a word to a line beside a float), unless one is a single line
     in larger type (a company's name, read before the address beside it) or a paragraph in
     type a quarter larger (a pull quote beside the text, read whole). Read by rows, a cell
     whose text wraps onto rows where the cells beside it are empty (a footer's address beside
     its bank details) is read whole before the next cell: its line runs up to the next cell,
     or stops short of it by less than the first word of the line under it (where the words
     are known), with no rule drawn between; so is a cell whose text, centred in a taller
     row, starts a line above the row's other cells. Blocks of centred lines with as many
     lines each (a paper's authors) are blocks. Everything else (article columns, a side
     column of notes, an infobox beside the text, a spec sheet's columns of label/value rows)
     is read by columns, except that columns of blocks on a grid (every column starts a block
     at one height, and one of them shows a hole of two lines above it, as article columns
     never do, or every block of every column, two lines or more under twice the white
     between its lines, starts level with one in each other column) are read one row of
     blocks after another. A section with a vertical rule drawn down each of its gutters
     (and no horizontal rule across it: a table's grid) is read by columns, whatever lines
     up across them.

  Figures (pictures, charts, diagrams: :mod:`emulator.engine.figures`) take part as blocks;
  figures that touch are one (the bars of a chart), and the short lines within a line's height
  of a figure are its labels, read with it, top to bottom; the few lines right under a figure
  wider than a logo, within its width and with white under them, are its caption, read after
  them. A float makes a column beside the text it stands in, so the text beside it is read
  whole, and a band of text that runs on under the float, below white under it while the text
  beside it ends at a line's pitch above, ends the columns. A piece that is mostly a figure
  (with at most a caption's few lines of prose) counts as a column as prose does, and is read
  where the text beside it breaks (the paragraph break nearest its top: more white than a
  paragraph's line spacing, or a pitch a quarter larger than the text's usual one), not
  inside a paragraph that began above it or runs on under it (when the paragraph beside it
  runs on under the section, it is read where that paragraph ends); in a section read by
  rows (a logo beside an address) a figure is read before the first line under its top where
  the text breaks there, else at the paragraph break nearest its top.
  A pull quote (a paragraph in display type) beside the text is placed the same way. Where
  the lines' words are known, a line that starts with a small letter goes on with the
  sentence before it, whatever white or float lies between: no float is read before it.
  And once the page is ordered, a block read inside a sentence is moved out of it: where such
  a line is read after a line that ended a sentence, while a line of prose that did not end
  one (read at most a dozen lines before) stands right over it, the lines read between them
  (a box or a quote beside the text, neither a piece of either line nor a line between
  them) are read after the paragraph that the sentence ends.

  Every rule was chosen on generated pages of many kinds (``training/layouts``, measured by
  ``benchmarks/order.py``) together with the real pages of ``../shared/eval``.

  Lines the detector merged across a gutter are cut there first (:func:`gutter_cuts`), where
  lines of their own type run flush on both sides; pieces of one line it cut at a wide word
  space (justified text: the lines around run across the white, none starts or ends in it;
  or white no wider than a word space: a title's words in monospaced type, a lead's last
  line cut over the gutter under it) are one unit; and a list marker the detector found
  apart from its item rides with the item's first line, taking no part in the layout.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from statistics import median
from types import MappingProxyType
from typing import NamedTuple

Box = tuple[float, float, float, float]
#: A horizontal rule in the reading frame: ``(left, right, y)``.
Rule = tuple[float, float, float]
#: A vertical rule in the reading frame: ``(x, top, bottom)``.
Upright = tuple[float, float, float]

__all__ = ["Box", "Rule", "Upright", "basic_order", "group_rows", "gutter_cuts", "natural_order"]

# A gutter must be at least this many median line heights wide to separate columns; word
# spaces inside a detected line never reach it, column gutters in print always do.
_MIN_GUTTER = 0.25
# Lines whose vertical overlap is at least this share of the smaller height sit on one row.
_ROW_OVERLAP = 0.5
# Lines sharing this share of the narrower one's width across the page are stacked, not side
# by side.
_STACK_OVERLAP = 0.1
# Boxes sharing this much of the shorter one's width, with middles further apart than this
# share of a line, are one over the other even when their boxes overlap as a row's do.
_OVER_OVERLAP = 0.5
_MIDDLES_APART = 0.25
# Lines this many heights wide (about 15 characters) are prose; table cells are shorter.
_PROSE_ASPECT = 9.0
# Lines crossing a column gutter that are narrower than this share of the region (and than
# each of the section's columns) are set aside (captions, pull quotes) instead of ending the
# columns.
_ASIDE_WIDTH = 0.5
# At most this many such lines (or this share of the section's lines) are set aside.
_MAX_ASIDE = 3
_ASIDE_SHARE = 0.1
# How far (in line heights) above and below a line to look for the columns of a gutter, and
# how many lines each column must show there.
_GUTTER_REACH = 6.0
_GUTTER_SUPPORT = 2
# How close to a gutter (in line heights) a column's lines end and start.
_FLUSH = 1.0
# The white between two words' boxes (which already include half a character each side) that
# a gutter needs, in line heights.
_MIN_CUT_GAP = 0.15
# Lines whose heights differ by less than this factor are set in a column's type.
_GUTTER_SIZE = 1.25
# How far (in line heights) into the lines around it a rule may be drawn and still run
# between them (a box's edge sits close to its first line).
_RULE_SLACK = 0.3
# A vertical rule at least this many lines long, drawn in a gutter, draws columns apart.
_MIN_UPRIGHT = 3.0
# Such a rule runs down a gutter when it runs beside this share of the section's height.
_RULED_SHARE = 0.8
# A rule ends a section when it spans this share of the section's width; so does one across
# this share of a column over a band in that column, when the other columns end at most this
# many lines above the band (footnotes under the columns' ends).
_RULE_SPAN = 0.85
_FOOTNOTE_RULE = 0.2
_FOOTNOTE_REACH = 3.0
# Share of a box's height (around its middle) that must clear the next line for a cut.
_CORE = 0.6
# Share of the lines facing another piece that are aligned with a line there, above which the
# pieces are cells; and how far tops and bottoms of aligned lines may differ (line heights).
_ALIGNED_SHARE = 0.5
_ALIGN_TOLERANCE = 0.3
# Share of lines that must face another piece for the pieces to be columns at all.
_MIN_FACING = 0.3
# Pieces that are not on a grid are columns when one of them has at least this many lines.
_MIN_COLUMN_LINES = 15
# Lines of a narrow column of text are at least this many heights long.
_NARROW_ASPECT = 6.0
# A block beside such a column, at most this share of its height, is a box set beside it.
_BOX_SPAN = 0.6
# Lines closer than this (line heights) follow each other in one paragraph.
_PARAGRAPH_GAP = 0.8
# Lines further apart than this (times the text's usual line pitch) are in two paragraphs,
# even when the white between them is narrow (paragraphs set with a small space).
_PARAGRAPH_PITCH = 1.25
# White wider than this (line heights) under every column sets a band apart from the section.
_BLOCK_GAP = 1.0
# ... and white wider than this under blocks whose gutters the band does not continue.
_RESHAPED_GAP = 0.85
# A column with white of this many lines above a row where every column starts a block
# (tops aligned) shows blocks set on a grid.
_GRID_HOLE = 2.0
# White of this many lines between blocks of the grid (a paragraph break with little space).
_GRID_BREAK = 0.5
# Type this many times smaller than a section's (footnotes under its columns) is set apart
# under a paragraph break.
_SMALLER = 1.15
# Lines of one paragraph in display type differ in height by at most this factor (a line
# without descenders is shorter, and a detector's box shows it: 40 against 51 px in italic),
# a title and the smaller line under it by more.
_LINE_SPREAD = 1.3
# Pieces of one line split at a wide word space are at most this many line heights apart.
_PIECE_GAP = 2.0
# White at most this many line heights wide is a word space, even in monospaced type (0.6 em
# in a box about 1.1 em high); no gutter between columns is that narrow in the type beside it.
_WORD_SPACE = 0.6
# A list marker found apart from its item: at most this many line heights long, at most this
# many heights left of the item's first line.
_MARKER_ASPECT = 2.5
# A punctuation mark boxed on its own is narrower than its line is high.
_MARK_ASPECT = 1.0
_MARKER_GAP = 3.0
# A line at least this share of its column's widest line fills it (text wrapped there); so
# does one that ends this many line heights or less before the next cell.
_FILLED = 0.8
_WRAP_GAP = 2.0
_MIN_CELLS = 3
# Pieces whose median line heights differ by less than this factor are set in one size.
_SAME_SIZE = 1.4
# A paragraph of lines at least this many times the text's height is in display type.
_DISPLAY_SIZE = 1.25
# Middles of centred lines agree within this many line heights; their left edges (the lines
# being of different widths) differ by more.
_CENTRE_TOLERANCE = 0.25
# A figure's labels: lines at most this many heights long, their middles at most this many
# line heights outside the figure.
_LABEL_ASPECT = 5.0
_LABEL_REACH = 1.0
# Text wrapped beside a float in a strip of a word or two per line runs this many rows.
_MIN_STRIP = 4
# A block read inside a sentence (a box or a quote beside the text) is at most this many
# lines.
_MAX_INTRUDER = 12
# A float's caption is at most this many lines of prose; under a figure, it starts within
# this many line heights of it, and overhangs it by at most this many on either side.
_MAX_CAPTION = 4
_CAPTION_REACH = 1.5
_CAPTION_OVERHANG = 2.0
# A figure with a caption is at least this many line heights wide (a logo is narrower).
_CAPTIONED_WIDTH = 6.0
# Figures closer than this many line heights are one (the bars of a chart).
_FIGURE_TOUCH = 0.5


def _height(box: Box) -> float:
    return max(box[3] - box[1], 1e-6)


def _width(box: Box) -> float:
    return max(box[2] - box[0], 1e-6)


def _aspect(box: Box) -> float:
    return _width(box) / _height(box)


def _same_row(a: Box, b: Box) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap >= _ROW_OVERLAP * min(_height(a), _height(b))


def group_rows(boxes: Sequence[Box], indices: Sequence[int] | None = None) -> list[list[int]]:
    """Group lines into rows, top to bottom; each row's indices ordered left to right.

    A line joins the row whose vertical band it overlaps by at least half the smaller height
    (comparing with the row's last line, so slightly sloping rows of a skewed scan hold),
    unless the row already holds a line above or below it at the same place across the page:
    the second line of a table cell is not on the same row as the first, even when a taller
    neighbour overlaps both.
    """
    order = sorted(indices if indices is not None else range(len(boxes)), key=lambda i: boxes[i][1])
    rows: list[list[int]] = []
    for i in order:
        best = None
        best_overlap = 0.0
        # Only the most recent rows can still overlap a line that starts lower down.
        for r in range(len(rows) - 1, max(len(rows) - 4, -1), -1):
            if any(_stacked(boxes[i], boxes[j]) or _over(boxes[i], boxes[j]) for j in rows[r]):
                continue
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


def _stacked(a: Box, b: Box) -> bool:
    """One line above the other: they share a stretch across the page and not a row."""
    across = min(a[2], b[2]) - max(a[0], b[0]) > _STACK_OVERLAP * min(_width(a), _width(b))
    return across and not _same_row(a, b)


def _over(a: Box, b: Box) -> bool:
    """One line over the other although their boxes share a row: most of the shorter one
    lies under the other, the upper one's top and bottom both above the lower one's, and
    their middles apart by more than ``_MIDDLES_APART`` of a line (a curved page's long line,
    its box left tall by the bend, over a paragraph's short last line). Two boxes of one row
    lie side by side, and a speck within a line's height is on its row."""
    across = min(a[2], b[2]) - max(a[0], b[0]) > _OVER_OVERLAP * min(_width(a), _width(b))
    upper, lower = (a, b) if a[1] + a[3] < b[1] + b[3] else (b, a)
    stepped = upper[1] < lower[1] and upper[3] < lower[3]
    apart = abs(a[1] + a[3] - b[1] - b[3]) / 2 > _MIDDLES_APART * min(_height(a), _height(b))
    return across and stepped and apart


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
            # Two columns' lines merged by the detector are set in the columns' type: a
            # title in larger type over the gutter is not cut where a word space meets it.
            others = [
                j
                for j, b in enumerate(lines)
                if j != i
                and not _same_row(b, line)
                and height / _GUTTER_SIZE <= _height(b) <= height * _GUTTER_SIZE
            ]
            reach = _GUTTER_REACH * height
            above = [j for j in others if line[1] - reach < lines[j][3] <= line[1]]
            below = [j for j in others if line[3] <= lines[j][1] < line[3] + reach]
            # Lines that overlap this one vertically without sharing its row.
            beside = [j for j in others if lines[j][3] > line[1] and lines[j][1] < line[3]]
            for m in range(len(line_words) - 1):
                gap0, gap1 = line_words[m][2], line_words[m + 1][0]
                if gap1 - gap0 < _MIN_CUT_GAP * height:
                    continue
                centre = (gap0 + gap1) / 2
                if _covered(centre, beside, lines, words):
                    continue
                # A column's first lines have its gutter only below them, its last lines
                # only above: either side may show it.
                if any(
                    not _covered(centre, near, lines, words)
                    and _flush_both_sides([lines[j] for j in near], gap0, gap1, height)
                    for near in (above, below)
                ):
                    found.append(m)
        cuts.append(found)
    return cuts


def _covered(
    x: float, idx: list[int], lines: Sequence[Box], words: Sequence[Sequence[Box]]
) -> bool:
    """True when a word of one of the lines ``idx`` covers ``x``. Words, not line boxes: a
    line that was itself merged across the same gutter must not hide it."""
    for j in idx:
        if lines[j][0] < x < lines[j][2]:
            boxes = words[j] or [lines[j]]
            if any(w[0] < x < w[2] for w in boxes):
                return True
    return False


def _flush_both_sides(near: list[Box], gap0: float, gap1: float, height: float) -> bool:
    """At least ``_GUTTER_SUPPORT`` lines end just before the gap and as many start just
    after it, as the lines of two columns do at their gutter; table cells and ragged text
    are not flush with the gap."""
    centre = (gap0 + gap1) / 2
    flush = _FLUSH * height
    left = sum(1 for b in near if gap0 - flush <= b[2] <= centre)
    right = sum(1 for b in near if centre <= b[0] <= gap1 + flush)
    return left >= _GUTTER_SUPPORT and right >= _GUTTER_SUPPORT


def natural_order(
    boxes: Sequence[Box],
    rules: Sequence[Rule] = (),
    figures: Sequence[Box] = (),
    uprights: Sequence[Upright] = (),
    texts: Sequence[str] = (),
) -> list[int]:
    """Columns and blocks in reading order (``readingOrder=natural``), as the module's
    docstring describes. ``rules`` are the horizontal rules drawn on the page, in the same
    frame; a rule across a column section ends it. ``figures`` are the boxes of pictures,
    charts and diagrams (:mod:`emulator.engine.figures`), in the same frame: each holds its
    place in the layout as a block (the column a float makes beside the text). ``uprights``
    are the vertical rules: where one is drawn down each gutter of a section (text beside it
    on both sides, none across it), the section is read column by column, however its lines
    line up across the gutters (narrow justified columns the detector cut into pieces).
    ``texts``, when given, are the lines' words: a line that starts with a small letter goes
    on with a sentence begun before it, so no float is read before it."""
    if not boxes:
        return []
    line_height = median(_height(b) for b in boxes)
    # A marker rides with its item and takes no part in the layout: a column of bullets, or
    # of affiliation numbers hanging in a gutter, is neither a column nor a caption.
    # Pieces of one line that the detector split at a wide word space are one unit too.
    pieces = _pieces_of_lines(boxes)
    joined = [_union([boxes[i] for i in piece]) for piece in pieces]
    marked = _with_markers(joined)
    units = [[i for k in unit for i in pieces[k]] for unit in marked]
    unit_boxes = [joined[unit[-1]] for unit in marked]
    # A figure is a unit that holds its place (the column beside the text it floats in);
    # its labels (tick labels, a diagram's words) are read with it, not as lines of the
    # layout.
    # A row of tick labels the detector read as one line split at wide spaces is short
    # lines all the same.
    short = {
        u for u, unit in enumerate(units) if all(_aspect(boxes[i]) <= _LABEL_ASPECT for i in unit)
    }
    figures, labels = _labels(unit_boxes, figures, line_height, short)
    captions = _captions(unit_boxes, figures, labels, line_height)
    labelled = {u for held in labels + captions for u in held}
    kept = [u for u in range(len(units)) if u not in labelled]
    figure_units = [
        [i for u in basic_order_of(unit_boxes, held) + caption for i in units[u]]
        for held, caption in zip(labels, captions, strict=True)
    ]
    figure_boxes = [
        _union([box, *(unit_boxes[u] for u in held + caption)])
        for box, held, caption in zip(figures, labels, captions, strict=True)
    ]
    units = [units[u] for u in kept] + figure_units
    unit_boxes = [unit_boxes[u] for u in kept] + figure_boxes
    # Each text unit's first line (its leftmost piece), where the words are known.
    firsts = [min(unit, key=lambda i: boxes[i][0]) for unit in units[: len(kept)]] if texts else []
    drawn = _Drawn(
        rules,
        frozenset(range(len(kept), len(units))),
        _column_rules(unit_boxes, uprights, line_height),
        frozenset(u for u, first in enumerate(firsts) if _goes_on(texts[first])),
        {u: _first_word_width(boxes[first], texts[first]) for u, first in enumerate(firsts)},
    )
    order = _order(unit_boxes, list(range(len(units))), line_height * _MIN_GUTTER, drawn)
    if texts:
        open_ends = frozenset(
            u
            for u, unit in enumerate(units[: len(kept)])
            if not _ends_a_sentence(texts[max(unit, key=lambda i: boxes[i][2])])
        )
        order = _mend_sentences(unit_boxes, order, drawn.going_on, open_ends)
    return [i for u in order for i in units[u]]


def _mend_sentences(
    boxes: Sequence[Box], order: list[int], going_on: frozenset[int], open_ends: frozenset[int]
) -> list[int]:
    """``order`` with no sentence broken by a block read inside it: where a line of prose
    that goes on with a sentence (``going_on``) is read after a line that ended one, and an
    open line of prose (in ``open_ends``) read at most ``_MAX_INTRUDER`` lines before it
    stands over it, the lines read between them (a box or a quote beside the text, never a
    piece of either line or a line between the two) are read after the paragraph that the
    sentence ends."""
    out = list(order)
    for x in [u for u in order if u in going_on and _aspect(boxes[u]) >= _PROSE_ASPECT]:
        at = out.index(x)
        if at == 0 or out[at - 1] in open_ends:
            continue
        for k in range(at - 2, max(at - 2 - _MAX_INTRUDER, -1), -1):
            o = out[k]
            if o in open_ends and _aspect(boxes[o]) >= _PROSE_ASPECT and _just_over(boxes, o, x):
                between = out[k + 1 : at]
                if any(_in_the_way(boxes, i, o, x) for i in between):
                    break
                rest = out[at:]
                end = next(
                    (
                        n + 1
                        for n, u in enumerate(rest[:-1])
                        if u not in open_ends and rest[n + 1] not in going_on
                    ),
                    len(rest),
                )
                out = out[: k + 1] + rest[:end] + between + rest[end:]
                break
    return out


def _in_the_way(boxes: Sequence[Box], i: int, upper: int, lower: int) -> bool:
    """True when line ``i`` is no block beside the lines ``upper`` and ``lower`` of one
    sentence: a piece of either line (on its row, a word space away), or a line stacked
    between them."""
    a, u, w = boxes[i], boxes[upper], boxes[lower]
    between = _stacked(a, w) and a[1] < w[1] and a[3] > u[3]
    return between or any(
        _same_row(a, b) and max(a[0] - b[2], b[0] - a[2]) <= _PIECE_GAP * _height(b) for b in (u, w)
    )


def _just_over(boxes: Sequence[Box], upper: int, lower: int) -> bool:
    """True when line ``upper`` stands over line ``lower`` as a paragraph's line over the
    next: stacked, its bottom above ``lower``'s middle, starting at most a line's height
    right of ``lower``'s left edge (not a line beside the end of ``lower``'s row)."""
    a, b = boxes[upper], boxes[lower]
    return (
        _stacked(a, b) and a[3] <= b[1] + _CORE * _height(b) and a[0] <= b[0] + _FLUSH * _height(b)
    )


_SENTENCE_ENDS = ".!?:;\u2026\u3002\uff01\uff1f"
_CLOSERS = "\"'\u201d\u2019\u00bb)]"


def _ends_a_sentence(text: str) -> bool:
    """True when ``text`` ends with a full stop, a question or exclamation mark, a colon or a
    semicolon (behind any closing quote or bracket)."""
    end = text.rstrip().rstrip(_CLOSERS)
    return bool(end) and end[-1] in _SENTENCE_ENDS


def _labels(
    boxes: Sequence[Box], figures: Sequence[Box], line_height: float, short: set[int]
) -> tuple[list[Box], list[list[int]]]:
    """The figures, those that touch merged (the bars of one chart), each with the short lines
    that label it: lines at most ``_LABEL_ASPECT`` heights long (or made of such pieces:
    ``short``) whose middle lies within
    ``_LABEL_REACH`` line heights of the figure (a chart's tick labels beside its axes, the
    words in a diagram's boxes), given to the nearest figure. A paragraph's short last line
    (right under a prose line) labels nothing."""
    merged = list(figures)
    touch = _FIGURE_TOUCH * line_height
    joined = True
    while joined:
        joined = False
        for a, b in itertools.combinations(range(len(merged)), 2):
            if _within(merged[a], merged[b], touch):
                merged[a] = _union([merged[a], merged[b]])
                del merged[b]
                joined = True
                break
    held: list[list[int]] = [[] for _ in merged]
    if not merged:
        return merged, held
    reach = _LABEL_REACH * line_height
    by_top = _ByTop(boxes, range(len(boxes)))
    for i, box in enumerate(boxes):
        if _width(box) > _LABEL_ASPECT * _height(box) and i not in short:
            continue
        x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        near = [
            (max(f[0] - x, x - f[2], f[1] - y, y - f[3]), k)
            for k, f in enumerate(merged)
            if _within(f, (x, y, x, y), reach)
        ]
        if near and not _ends_a_paragraph(boxes, i, by_top):
            held[min(near)[1]].append(i)
    return merged, held


def _captions(
    boxes: Sequence[Box], figures: list[Box], held: list[list[int]], line_height: float
) -> list[list[int]]:
    """Each figure's caption, its lines top to bottom (``held`` are the figures' labels): at
    most ``_MAX_CAPTION`` lines right under a figure at least ``_CAPTIONED_WIDTH`` line
    heights wide, the first within ``_CAPTION_REACH`` of its height, the others at a line's
    pitch, each within the figure's width give or take ``_CAPTION_OVERHANG`` heights, with
    white wider than a paragraph break under the last. Text under a figure that runs on past
    that many lines (a column as wide as the figure), or at a line's pitch into a wider line
    (a paragraph wrapped under it), is no caption."""
    taken = {u for lines in held for u in lines}
    by_top = _ByTop(boxes, range(len(boxes)))
    found: list[list[int]] = []
    for k, figure in enumerate(figures):
        found.append([])
        box = _union([figure, *(boxes[u] for u in held[k])])
        if _width(box) < _CAPTIONED_WIDTH * line_height:
            continue  # a logo over its company's name
        caption: list[int] = []
        bottom, reach, span = box[3], _CAPTION_REACH, box
        while len(caption) <= _MAX_CAPTION:
            under = [
                u
                for u in by_top.overlapping(bottom, bottom + 3 * line_height)
                if u not in taken
                and u not in caption
                and boxes[u][1] >= bottom - _ROW_OVERLAP * _height(boxes[u])
                and boxes[u][0] < span[2]
                and boxes[u][2] > span[0]
            ]
            if not under:
                break
            first = min(under, key=lambda u: boxes[u][1])
            line = boxes[first]
            if line[1] - bottom > reach * _height(line):
                break
            overhang = _CAPTION_OVERHANG * _height(line)
            if line[0] < box[0] - overhang or line[2] > box[2] + overhang:
                caption = []
                break
            caption.append(first)
            bottom, reach = line[3], _PARAGRAPH_GAP
            span = _union([span, line])
        if len(caption) <= _MAX_CAPTION:
            found[k] = caption
            taken.update(caption)
    return found


def _within(a: Box, b: Box, gap: float) -> bool:
    """True when boxes ``a`` and ``b`` overlap or lie at most ``gap`` apart both ways."""
    return a[0] <= b[2] + gap and b[0] <= a[2] + gap and a[1] <= b[3] + gap and b[1] <= a[3] + gap


def _ends_a_paragraph(boxes: Sequence[Box], i: int, by_top: _ByTop) -> bool:
    """True when line ``i`` sits right under a line of prose, flush with its left edge (a
    paragraph's short last line), not a label set further along (a chart's top tick label
    under the text beside the chart)."""
    box = boxes[i]
    height = _height(box)
    return any(
        j != i
        and boxes[j][3] <= box[1] + (1 - _ROW_OVERLAP) * height
        and box[1] - boxes[j][3] <= _PARAGRAPH_GAP * height
        and boxes[j][0] < box[2]
        and boxes[j][2] > box[0]
        and _aspect(boxes[j]) >= _PROSE_ASPECT
        and abs(boxes[j][0] - box[0]) <= _FLUSH * height
        for j in by_top.overlapping(box[1] - 2 * height, box[1])
    )


class _Drawn(NamedTuple):
    """What the page shows besides its lines: rules, which layout units are figures, and
    the vertical rules drawn between columns."""

    rules: Sequence[Rule]
    figures: frozenset[int]
    column_rules: Sequence[Upright] = ()
    #: The units whose text starts with a small letter: they go on with a sentence.
    going_on: frozenset[int] = frozenset()
    #: The width of each unit's first word, where its text is known: a line above it that
    #: stops short of its cell's edge by less than that wrapped there.
    lead: Mapping[int, float] = MappingProxyType({})


def _first_word_width(box: Box, text: str) -> float:
    """The width of ``text``'s first word in its line's ``box``, in proportion to its
    characters (0 for a line without text)."""
    words = text.split()
    if not words:
        return 0.0
    return _width(box) * len(words[0]) / len(" ".join(words))


def _goes_on(text: str) -> bool:
    """True when ``text`` starts with a word of small letters: the rest of a sentence begun on
    a line before it (scripts without case never do). A lone letter counts only before
    another such word: before a capital it is a list's marker (``o``) or a footnote's."""
    words = text.split(maxsplit=2)

    def small(word: str, letters: int) -> bool:
        head = word[:letters]
        return len(head) == letters and head.isalpha() and head.islower()

    if not words:
        return False
    if small(words[0], 2):
        return True
    return len(words[0]) == 1 and small(words[0], 1) and len(words) > 1 and small(words[1], 1)


def _column_rules(
    boxes: Sequence[Box], uprights: Sequence[Upright], line_height: float
) -> list[Upright]:
    """The vertical rules at least ``_MIN_UPRIGHT`` lines long that run in a gutter: at least
    ``_MIN_CELLS`` lines beside them on each side (not the edge of a box holding a note),
    none across them."""
    found: list[Upright] = []
    slack = _RULE_SLACK * line_height
    for x, top, bottom in uprights:
        if bottom - top < _MIN_UPRIGHT * line_height:
            continue
        beside = [b for b in boxes if b[1] < bottom and b[3] > top]
        if any(b[0] < x - slack and b[2] > x + slack for b in beside):
            continue
        left = sum(1 for b in beside if b[2] <= x + slack)
        right = sum(1 for b in beside if b[0] >= x - slack)
        if min(left, right) >= _MIN_CELLS:
            found.append((x, top, bottom))
    return found


def _ruled_columns(
    boxes: Sequence[Box], lines: list[int], gutters: list[tuple[float, float]], drawn: _Drawn
) -> bool:
    """True when a column rule runs down each of ``gutters`` beside most of ``lines``'
    height, and no horizontal rule crosses it there (a table's grid does): the columns are
    drawn apart, whatever lines up across them."""
    if not drawn.column_rules:
        return False
    top = min(boxes[i][1] for i in lines)
    bottom = max(boxes[i][3] for i in lines)
    down = [
        x
        for x, y0, y1 in drawn.column_rules
        if min(y1, bottom) - max(y0, top) >= _RULED_SHARE * (bottom - top)
        and not any(r0 < x < r1 and top < y < bottom for r0, r1, y in drawn.rules)
    ]
    return all(any(g0 <= x <= g1 for x in down) for g0, g1 in gutters)


class _ByTop:
    """Boxes indexed by their tops, to find the ones near a row without looking at all."""

    def __init__(self, boxes: Sequence[Box], idx: Sequence[int]) -> None:
        self._order = sorted(idx, key=lambda i: boxes[i][1])
        self._tops = [boxes[i][1] for i in self._order]
        self._tallest = max((_height(boxes[i]) for i in idx), default=0.0)

    def between(self, y0: float, y1: float) -> list[int]:
        """The boxes whose tops lie from ``y0`` to ``y1``."""
        lo = bisect.bisect_left(self._tops, y0)
        return self._order[lo : bisect.bisect_right(self._tops, y1)]

    def overlapping(self, y0: float, y1: float) -> list[int]:
        """The boxes that may reach into the rows from ``y0`` to ``y1`` (a superset)."""
        return self.between(y0 - self._tallest, y1)


def _union(boxes: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _pieces_of_lines(boxes: Sequence[Box]) -> list[list[int]]:
    """The lines grouped into the lines of text they are pieces of, each group left to right:
    two lines on one row, in one type size, at most ``_PIECE_GAP`` heights apart, are pieces
    of one line when a line right above or below runs across the white between them and
    none there starts or ends in it, or the white is no wider than a word space (justified
    text the detector cut at a wide word space, a title's words in monospaced type, a lead's
    last line cut over the gutter under it; not a table's cells or a gutter between
    columns)."""
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_top = _ByTop(boxes, range(len(boxes)))
    for i, a in enumerate(boxes):
        height = _height(a)
        around = by_top.between(a[1] - 4 * height, a[3] + 2 * height)
        right = [
            j
            for j in around
            if j != i
            and _same_row(a, boxes[j])
            and a[2] <= boxes[j][0] <= a[2] + _PIECE_GAP * height
            and abs(_height(boxes[j]) - height) <= (_SMALLER - 1) * height
        ]
        if right:
            j = min(right, key=lambda j: boxes[j][0])
            if _bridged(boxes, i, j, around):
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(root(i), []).append(i)
    return [sorted(g, key=lambda i: boxes[i][0]) for g in groups.values()]


def _bridged(boxes: Sequence[Box], left: int, right: int, around: Sequence[int]) -> bool:
    """True when a line right above or below ``left`` and ``right`` (among ``around``) runs
    across the white between them and none there starts or ends within a line height of
    it; or the white is at most ``_WORD_SPACE`` heights wide and either a line there runs
    across it (a paragraph's last line cut right over the gutter of the columns under it)
    or none starts or ends by it."""
    a, b = boxes[left], boxes[right]
    height = _height(a)
    gap0, gap1 = a[2], b[0]
    top, bottom = min(a[1], b[1]), max(a[3], b[3])
    # Lines at a line's pitch may touch or overlap a little.
    slack = (1 - _ROW_OVERLAP) * height
    narrow = gap1 - gap0 <= _WORD_SPACE * height
    crossed = edged = False
    for k in around:
        other = boxes[k]
        if k in (left, right) or other[2] <= a[0] or other[0] >= b[2]:
            continue
        above = -slack <= top - other[3] <= _PARAGRAPH_GAP * height
        below = -slack <= other[1] - bottom <= _PARAGRAPH_GAP * height
        if not (above or below):
            continue
        if gap0 - height < other[2] < gap1 + height or gap0 - height < other[0] < gap1 + height:
            edged = True
        crossed = crossed or (other[0] < gap0 and other[2] > gap1)
    return (narrow and crossed) or (not edged and (crossed or narrow))


def _with_markers(boxes: Sequence[Box]) -> list[list[int]]:
    """The lines as units of layout: a list's marker (a bullet, ``1.``, ``iv.``) that the
    detector found apart from its item's first line is one unit with that line, so that a
    column of markers is not read before the items it marks. A marker is a line at most
    ``_MARKER_ASPECT`` heights long with, on its row and at most ``_MARKER_GAP`` heights to
    its right, a line several times longer."""
    partner: dict[int, int] = {}
    by_top = _ByTop(boxes, range(len(boxes)))
    for i, box in enumerate(boxes):
        height = _height(box)
        if _width(box) > _MARKER_ASPECT * height:
            continue
        reach = _MARKER_GAP * height
        around = by_top.overlapping(box[1] - reach, box[3] + reach)
        wide = [j for j in around if j != i and _width(boxes[j]) >= 3 * _width(box)]
        right = [
            j for j in wide if _same_row(box, boxes[j]) and box[2] <= boxes[j][0] <= box[2] + reach
        ]
        # A paragraph's short last line has the paragraph's lines above or below it; a
        # marker has only markers (or nothing) there, its item's lines being indented.
        stacked = any(
            boxes[j][0] < box[2]
            and boxes[j][2] > box[0]
            and boxes[j][3] > box[1] - reach
            and boxes[j][1] < box[3] + reach
            for j in wide
        )
        if right and not stacked:
            partner[i] = min(right, key=lambda j: boxes[j][0])
    # A marker marks one item, and an item has one marker (the nearest); a "marker" that
    # is itself marked is an item.
    marker_of: dict[int, int] = {}
    for m, item in sorted(partner.items(), key=lambda mi: boxes[mi[1]][0] - boxes[mi[0]][2]):
        if item not in partner and item not in marker_of:
            marker_of[item] = m
    marks = set(marker_of.values())
    units: list[list[int]] = []
    for i in range(len(boxes)):
        if i in marks:
            continue
        units.append([marker_of[i], i] if i in marker_of else [i])
    return units


def _order(boxes: Sequence[Box], idx: list[int], min_gutter: float, drawn: _Drawn) -> list[int]:
    if len(idx) <= 1:
        return list(idx)
    bands = _bands(boxes, idx)
    left = min(boxes[i][0] for i in idx)
    right = max(boxes[i][2] for i in idx)
    sections: list[_Section] = []
    for k, band in enumerate(bands):
        if (
            sections
            and not sections[-1].ruled_off(boxes, band, drawn.rules, bands[k + 1 :])
            and sections[-1].absorb(boxes, band, min_gutter, right - left, drawn.figures)
        ):
            continue
        carried = sections[-1].split_off_last(boxes, band, min_gutter) if sections else []
        sections.append(_Section(boxes, carried + band, min_gutter))
    out: list[int] = []
    deferred: list[int] = []
    runs_on = False
    for section in sections:
        before = boxes[out[-1]] if out else None
        lines = section.read(boxes, min_gutter, drawn, before)
        if deferred:
            lines = _after_paragraph(boxes, out[-1], lines, deferred, drawn, runs_on)
        out.extend(lines)
        deferred, runs_on = section.deferred, section.runs_on
    return out + deferred


def _after_paragraph(
    boxes: Sequence[Box],
    previous: int,
    lines: list[int],
    floats: list[int],
    drawn: _Drawn,
    runs_on: bool,
) -> list[int]:
    """``lines`` (read after line ``previous``) with ``floats`` put where the paragraph that
    runs on into them ends: before the first line that does not follow the one before it.
    The first follows ``previous`` when it goes on with a sentence, or when ``previous``
    reached the edge of its text (``runs_on``) and no paragraph break lies between them."""
    if not lines or not (
        lines[0] in drawn.going_on
        or (
            runs_on
            and not _breaks_between(
                boxes[previous], boxes[lines[0]], _line_pitch(boxes, [previous, *lines])
            )
        )
    ):
        return floats + lines
    text = [i for i in lines if i not in drawn.figures]
    right = max((boxes[i][2] for i in text), default=0.0)
    for k in range(1, len(lines)):
        if lines[k] not in drawn.going_on and not _runs_on_from(
            boxes[lines[k - 1]], boxes[lines[k]], right
        ):
            return lines[:k] + floats + lines[k:]
    return lines + floats


class _Section:
    """Consecutive bands read together: either plain rows, or columns split by a gutter."""

    def __init__(self, boxes: Sequence[Box], band: list[int], min_gutter: float) -> None:
        self.bands = [band]
        self.lines = list(band)
        self.aside: list[int] = []
        # Floats read after the paragraph that runs on under the section (set by read).
        self.deferred: list[int] = []
        self.runs_on = False
        self.gutters = _interior_gutters(boxes, self.lines, min_gutter)

    def absorb(
        self,
        boxes: Sequence[Box],
        band: list[int],
        min_gutter: float,
        width: float,
        figures: frozenset[int],
    ) -> bool:
        """Take ``band`` into this section if the section's structure continues through it."""
        if self.gutters and self._below_a_figure(boxes, band, figures):
            return False
        # A band that sits in a gutter, in none of the columns (a heading centred between two
        # author blocks, a caption), is set aside like the short lines that cross one.
        if self.gutters and all(
            any(g[0] <= boxes[i][0] and boxes[i][2] <= g[1] for g in self.gutters) for i in band
        ):
            if len(self.aside) + len(band) > max(_MAX_ASIDE, _ASIDE_SHARE * len(self.lines)):
                return False
            self.aside.extend(band)
            return True
        gutters = _interior_gutters(boxes, self.lines + band, min_gutter)
        if gutters and self._set_apart(boxes, band, gutters):
            return False
        if gutters:
            # A line too wide to be a caption that closes one of the gutters (footnotes under
            # three of four columns) ends the columns, even though another gutter stays open
            # beside it.
            closed = [g for g in self.gutters if not any(_overlap(g, h) for h in gutters)]
            if any(
                _crosses(boxes[i], g) and self._spans_columns(boxes, i, width)
                for i in band
                for g in closed
            ):
                return False
            # A title in larger type over columns closes their gutter: the columns start a
            # section of their own below it.
            if not self.gutters and self._titled(boxes, band, gutters, min_gutter):
                return False
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
        if any(self._spans_columns(boxes, i, width) for i in crossing):
            return False
        # A caption or a pull quote is a few lines; a run of lines across the gutter (a
        # table's column, a block wider than the columns) ends the columns instead.
        if len(self.aside) + len(crossing) > max(_MAX_ASIDE, _ASIDE_SHARE * len(self.lines)):
            return False
        rest = [i for i in band if i not in crossing]
        gutters = _interior_gutters(boxes, self.lines + rest, min_gutter) if rest else self.gutters
        if not gutters:
            return False
        self._take(rest, crossing, gutters)
        return True

    def _below_a_figure(
        self, boxes: Sequence[Box], band: list[int], figures: frozenset[int]
    ) -> bool:
        """True when ``band`` lies under a float's column (a column that is mostly a
        figure), below white wider than ``_BLOCK_GAP`` under every line of the section above
        it: text that runs on under a figure and its caption (while the column beside them
        ends at a line's pitch above), not the figure's column going on. A figure inside a
        column of text is no float: the text under it is that column's."""
        if not any(i in figures for i in self.lines):
            return False  # most sections: every band is asked, and most pages show no figure
        cuts = self._cuts()
        floats = [
            col for col in _split(boxes, self.lines, cuts, 0) if _mostly_figure(boxes, col, figures)
        ]
        if not any(
            any(_overlap((boxes[i][0], boxes[i][2]), (boxes[j][0], boxes[j][2])) for j in band)
            for col in floats
            for i in col
            if i in figures
        ):
            return False
        for i in band:
            box = boxes[i]
            above = [
                boxes[j][3] for j in self.lines if boxes[j][0] < box[2] and boxes[j][2] > box[0]
            ]
            if above and (box[1] - max(above)) <= _BLOCK_GAP * _height(box):
                return False
        return True

    def _titled(
        self,
        boxes: Sequence[Box],
        band: list[int],
        gutters: list[tuple[float, float]],
        min_gutter: float,
    ) -> bool:
        """True when lines of this section in larger type than ``band`` close a gutter of
        ``band`` (a title over the columns that ``band`` starts)."""
        size = median(_height(boxes[i]) for i in band)
        closed = [
            g
            for g in _interior_gutters(boxes, band, min_gutter)
            if not any(_overlap(g, h) for h in gutters)
        ]
        return any(
            _crosses(boxes[i], g) and _height(boxes[i]) > _SAME_SIZE * size
            for i in self.lines
            for g in closed
        )

    def _spans_columns(self, boxes: Sequence[Box], line: int, width: float) -> bool:
        """True when ``line``, which crosses a gutter, is too wide to be set aside: wider
        than half the region, or than any of the section's columns (a line of the next
        column up against author blocks, not a caption)."""
        if _width(boxes[line]) > _ASIDE_WIDTH * width:
            return True
        cuts = self._cuts()
        columns = _split(boxes, self.lines, cuts, 0)
        widest = max(max(boxes[i][2] for i in c) - min(boxes[i][0] for i in c) for c in columns)
        return _width(boxes[line]) > widest

    def ruled_off(
        self,
        boxes: Sequence[Box],
        band: list[int],
        rules: Sequence[Rule],
        later: Sequence[list[int]],
    ) -> bool:
        """True when a rule drawn across the whole section runs between its last band and
        ``band``: the edge of a box or a line under a block ends the columns even when the
        white there is no wider than a paragraph break; so do the rules between a table's rows
        (each part is then read row by row on its own). A rule across part of it (a picture
        set over the gutter, a line under one column's table row) does not, unless it is a
        footnotes' separator (``later`` are the bands under ``band``)."""
        if not self.gutters or not rules:
            return False
        bottom = max(boxes[i][3] for i in self.bands[-1])
        top = min(boxes[i][1] for i in band)
        slack = _RULE_SLACK * median(_height(boxes[i]) for i in band)
        # Most bands have no rule above them: the section's extent is measured only for those
        # that do (this runs for every band of the page).
        between = [(x0, x1) for x0, x1, y in rules if bottom - slack <= y <= top + slack]
        if not between:
            return False
        left = min(boxes[i][0] for i in self.lines + band)
        right = max(boxes[i][2] for i in self.lines + band)
        reach = _RULE_SPAN * (right - left)
        if any(x0 <= right - reach and x1 >= left + reach for x0, x1 in between):
            return True
        return self._footnote_rule(boxes, band, between, top + slack, later)

    def _footnote_rule(
        self,
        boxes: Sequence[Box],
        band: list[int],
        between: list[tuple[float, float]],
        top: float,
        later: Sequence[list[int]],
    ) -> bool:
        """True when ``band`` lies in one column under a rule drawn within that column, and
        every other column ends a few lines above it and does not go on under it: notes under
        the columns' ends (under the first column alone when they are short), not a rule in
        one column while the others run on."""
        columns = _split(boxes, self.lines + band, self._cuts(), 0)
        own = next((c for c in columns if band[0] in c), None)
        if own is None or not all(i in own for i in band):
            return False
        text = [i for i in own if i not in band]
        others = [c for c in columns if c is not own]
        if not text or not others:
            return False
        x0 = min(boxes[i][0] for i in own)
        x1 = max(boxes[i][2] for i in own)
        height = median(_height(boxes[i]) for i in text)
        if any(_height(boxes[i]) > _SAME_SIZE * height for i in band):
            return False  # a figure under its frame's top edge
        if any(len(row) > 1 for row in group_rows(boxes, band)):
            return False  # a table's row of cells under its rule
        if not any(
            r0 >= x0 - height and r1 <= x1 + height and r1 - r0 >= _FOOTNOTE_RULE * (x1 - x0)
            for r0, r1 in between
        ):
            return False
        ends = [max(boxes[i][3] for i in c) for c in others]
        if not all(top - _FOOTNOTE_REACH * height <= end <= top for end in ends):
            return False
        # A column that goes on under it (its next paragraph or heading, flush with its left
        # edge, not a page footer centred under it) has not ended.
        lefts = [min(boxes[i][0] for i in c) for c in others]
        return not any(
            abs(boxes[i][0] - x) <= height and boxes[i][1] - end <= _FOOTNOTE_REACH * height
            for rows in later
            for i in rows
            for x, end in zip(lefts, ends, strict=True)
        )

    def _columns(self, boxes: Sequence[Box], drawn: _Drawn) -> list[list[int]] | None:
        """The section's columns when it is read column by column; ``None`` when it is read
        row by row (no gutter, a table's cells, or a form's fields). Columns with a rule drawn
        down every gutter are columns."""
        if not self.gutters:
            return None
        cuts = self._cuts()
        columns = _split(boxes, self.lines, cuts, 0)
        if _ruled_columns(boxes, self.lines, self.gutters, drawn):
            return columns
        if _looks_like_cells(boxes, columns, drawn.figures):
            return _beside_a_box(boxes, self.lines, cuts)
        return columns

    def _set_apart(
        self, boxes: Sequence[Box], band: list[int], gutters: list[tuple[float, float]]
    ) -> bool:
        """True when ``band`` lies below white wider than a paragraph break under every
        column: a heading or a block of its own under side-by-side blocks (the abstract's
        heading under a paper's author blocks), a page's footer under its columns, not the
        columns running on. Under a paragraph break, a band in smaller type than the
        section (footnotes under the columns) is set apart too."""
        white = _white_between(boxes, self.lines, band)
        if white > _BLOCK_GAP:
            return True
        # Blocks of another shape below (wider columns under side-by-side author blocks) are
        # set apart by less white: a detector's tall boxes narrow the white between them,
        # while columns that run on keep their gutters.
        height = median(_height(boxes[i]) for i in band)
        reshaped = len(gutters) != len(self.gutters) or any(
            abs(g[0] - h[0]) > _FLUSH * height or abs(g[1] - h[1]) > _FLUSH * height
            for g, h in zip(gutters, self.gutters, strict=False)
        )
        if reshaped and white > _RESHAPED_GAP:
            return True
        smaller = height * _SMALLER < median(_height(boxes[i]) for i in self.lines)
        return smaller and white > _PARAGRAPH_GAP

    def split_off_last(self, boxes: Sequence[Box], band: list[int], min_gutter: float) -> list[int]:
        """The last band, removed, when it and ``band`` start columns (with the rows before it
        that lie in a later column); else nothing."""
        if self.gutters or len(self.bands) < 2:
            return []
        gutters = _interior_gutters(boxes, self.bands[-1] + band, min_gutter)
        if not gutters:
            return []
        # Nor does a row across a gutter of the band, or centred over the band, that starts
        # at none of its columns' left edges (a centred subtitle's last line, or a byline,
        # over the columns); a row across the band's cells that starts at a column's edge (a
        # heading beside a table's caption) does.
        height = median(_height(boxes[i]) for i in band)
        middle = (min(boxes[j][0] for j in band) + max(boxes[j][2] for j in band)) / 2
        centred = all(
            abs((boxes[i][0] + boxes[i][2]) / 2 - middle) <= _FLUSH * height for i in self.bands[-1]
        )
        if (len(gutters) < len(_interior_gutters(boxes, band, min_gutter)) or centred) and not any(
            abs(boxes[i][0] - boxes[j][0]) <= _FLUSH * height for i in self.bands[-1] for j in band
        ):
            return []
        # Only a row that runs on into the columns at a line's distance belongs to them; one
        # set apart by white (the end of a heading or an abstract) stays above them.
        if _white_between(boxes, self.bands[-1], band) > _PARAGRAPH_GAP:
            return []
        # Nor does a row in larger type (a title's last line over the columns), nor one in
        # smaller type than every piece of the band (a paragraph's last line over a pull quote
        # and a heading).
        last = median(_height(boxes[i]) for i in self.bands[-1])
        if last > _SAME_SIZE * median(_height(boxes[i]) for i in band):
            return []
        if all(last * _SMALLER < _height(boxes[i]) for i in band):
            return []
        carried = self.bands.pop()
        # Rows before it that lie wholly right of the columns' first gutter run on into a
        # later column too: the text beside a float starts above the float's ink (its box has
        # a margin), while a paragraph's short last line over the columns sits at the left.
        while len(self.bands) >= 2:
            gutters = _interior_gutters(boxes, carried + band, min_gutter)
            above = self.bands[-1]
            if (
                not gutters
                or min(boxes[i][0] for i in above) < gutters[0][1]
                or _white_between(boxes, above, carried) > _PARAGRAPH_GAP
                or median(_height(boxes[i]) for i in above)
                > _SAME_SIZE * median(_height(boxes[i]) for i in carried)
            ):
                break
            carried = self.bands.pop() + carried
        taken = set(carried)
        self.lines = [i for i in self.lines if i not in taken]
        return carried

    def _cuts(self) -> list[float]:
        """Where the section's gutters split it into columns: their middles."""
        return [(g0 + g1) / 2 for g0, g1 in self.gutters]

    def _take(self, band: list[int], aside: list[int], gutters: list[tuple[float, float]]) -> None:
        if band:
            self.bands.append(band)
            self.lines.extend(band)
        self.aside.extend(aside)
        self.gutters = gutters

    def read(
        self, boxes: Sequence[Box], min_gutter: float, drawn: _Drawn, before: Box | None = None
    ) -> list[int]:
        """The section's lines in reading order; ``before`` is the line read just before it
        (a float is not put between it and a line that continues its paragraph)."""
        columns = self._columns(boxes, drawn)
        if columns is None:
            return self._rows(boxes, min_gutter, drawn)
        floats = [c for c in columns if _mostly_figure(boxes, c, drawn.figures)]
        # A paragraph in display type beside prose is a pull quote, a float too (beside a
        # form's fields or a code, such type is the page's title).
        smallest = min(median(_height(boxes[i]) for i in c) for c in columns)
        quotes = [c for c in columns if _display_block(boxes, c, smallest)]
        rest = [c for c in columns if not any(c is f for f in floats + quotes)]
        if rest and all(_is_prose(boxes, c) for c in rest):
            floats += [c for c in quotes if not any(c is f for f in floats)]
        if not floats or len(floats) == len(columns):
            cuts = _grid_cuts(boxes, columns, drawn.figures) if not floats else []
            if cuts:
                # Blocks set on a grid (cards two by two, terms beside their notes) are read
                # row of blocks by row of blocks.
                slabs = _split(boxes, self.lines, cuts, 1)
                out = [i for slab in slabs for i in _order(boxes, slab, min_gutter, drawn)]
            else:
                out = [i for col in columns for i in _order(boxes, col, min_gutter, drawn)]
            return out + basic_order_of(boxes, self.aside)
        # A float (a figure with its caption, a pull quote) is read where the text beside it
        # breaks: at the paragraph break nearest its top, not between the lines of a
        # paragraph that runs on under it or began above it.
        text_columns = [c for c in columns if not any(c is f for f in floats)]
        text = [i for col in text_columns for i in _order(boxes, col, min_gutter, drawn)]
        column_of = {i: k for k, col in enumerate(text_columns) for i in col}
        breaks = _paragraph_breaks(boxes, text, column_of)
        right = max(boxes[i][2] for i in text)
        if before is not None and _runs_on_from(before, boxes[text[0]], right):
            del breaks[0]
        # Nor is a float read before a line that goes on with a sentence.
        for k in [k for k in breaks if k < len(text) and text[k] in drawn.going_on]:
            if k > 0 or before is not None:
                del breaks[k]
        # A float whose break is the text's end waits for the paragraph's end after the
        # section (:func:`_after_paragraph`): where the text's last line runs to its edge, or
        # the section's next line goes on with its sentence, the paragraph runs on there.
        self.runs_on = _reaches(boxes[text[-1]], right)
        placed: dict[int, list[int]] = {}
        for col in floats:
            top = min(boxes[i][1] for i in col)
            at = min(breaks, key=lambda b: abs(breaks[b] - top))
            ordered = _order(boxes, col, min_gutter, drawn)
            if at == len(text):
                self.deferred.extend(ordered)
            else:
                placed.setdefault(at, []).extend(ordered)
        out = []
        for k in range(len(text) + 1):
            out.extend(placed.get(k, []))
            if k < len(text):
                out.append(text[k])
        return out + basic_order_of(boxes, self.aside)

    def _rows(self, boxes: Sequence[Box], min_gutter: float, drawn: _Drawn) -> list[int]:
        """The bands top to bottom, each ordered on its own (a band can hold columns of its
        own, such as the notes beside a table's key under the table). Lines set aside as
        captions go back to their rows: without columns there is nothing to set them aside
        from. A figure takes no part in rows (a logo beside an address is no line of it):
        the lines are ordered without it, and the figure (with its labels) is read before
        the first of them that starts below its top."""
        if any(i in drawn.figures for i in self.lines + self.aside):
            rest = [i for i in self.lines + self.aside if i not in drawn.figures]
            placed = _order(boxes, rest, min_gutter, drawn) if rest else []
            # It is read before the first line that starts below its top, or where the
            # text breaks nearest there when that line goes on with a paragraph above it.
            text = [i for i in placed if i not in drawn.figures]
            pitch = _line_pitch(boxes, text)
            breaks = [0, len(placed)] + [
                k
                for k in range(1, len(placed))
                if placed[k] not in drawn.going_on
                and _breaks_between(boxes[placed[k - 1]], boxes[placed[k]], pitch)
            ]
            for f in sorted(
                (i for i in self.lines + self.aside if i in drawn.figures),
                key=lambda i: -boxes[i][1],
            ):
                top = boxes[f][1]
                at = next((k for k, i in enumerate(placed) if boxes[i][1] > top), len(placed))
                if 0 < at < len(placed) and not _breaks_between(
                    boxes[placed[at - 1]], boxes[placed[at]], pitch
                ):
                    at = min(breaks, key=lambda k: abs(_break_height(boxes, placed, k) - top))
                breaks = [k + (k >= at) for k in breaks] + [at]
                placed.insert(at, f)
            return placed
        bands = _bands(boxes, self.lines + self.aside) if self.aside else self.bands
        if len(bands) == 1:
            return basic_order_of(boxes, bands[0])
        if not self.gutters:
            return [i for band in bands for i in _order(boxes, band, min_gutter, drawn)]
        # A cell whose text wraps runs on into rows where the cells beside it are empty: its
        # lines are read together, then the next cell's.
        cuts = self._cuts()
        out: list[int] = []
        for rows in _wrapped_rows(boxes, bands, cuts, drawn):
            if len(rows) == 1:
                out.extend(_order(boxes, rows[0], min_gutter, drawn))
                continue
            for cell in _split(boxes, [i for row in rows for i in row], cuts, 0):
                out.extend(basic_order_of(boxes, cell))
        return out


def _beside_a_box(
    boxes: Sequence[Box], lines: list[int], cuts: list[float]
) -> list[list[int]] | None:
    """The two sides of the gutter between a long run of prose and a shorter block beside it
    (a box of label and value fields set beside an article's top), when such a gutter splits
    ``lines``; else ``None``. The block's fields line up as cells among themselves, not with
    the article's lines, and each side is read on its own."""
    for cut in cuts:
        left, right = _split(boxes, lines, [cut], 0)
        for text, block in ((left, right), (right, left)):
            if len(text) < _MIN_COLUMN_LINES or not _is_prose(boxes, text):
                continue
            if len(block) < _MIN_CELLS or median(_aspect(boxes[i]) for i in block) < _MARKER_ASPECT:
                continue  # a footer's line, or list markers out of line with their items
            text_span = max(boxes[i][3] for i in text) - min(boxes[i][1] for i in text)
            block_span = max(boxes[i][3] for i in block) - min(boxes[i][1] for i in block)
            if block_span <= _BOX_SPAN * text_span:
                return [left, right]
    return None


def _grid_cuts(
    boxes: Sequence[Box], columns: list[list[int]], figures: frozenset[int]
) -> list[float]:
    """Heights at which columns are rows of blocks on a grid: white runs across every column
    there, every column starts a block of text just under it with their tops aligned, and
    some column shows a hole of at least ``_GRID_HOLE`` lines above it (its block ended
    early). Article columns fill their height (a figure fills its place), so their
    paragraphs never leave such a hole."""
    if len(columns) < 2:
        return []
    height = median(_height(boxes[i]) for c in columns for i in c if i not in figures)
    starts: list[dict[float, float]] = []  # per column: block top -> white above it
    spacing: list[float] = []  # per column: the usual white between its lines
    for col in columns:
        ordered = sorted(col, key=lambda i: boxes[i][1])
        found: dict[float, float] = {}
        whites = []
        bottom = boxes[ordered[0]][3]
        for i in ordered[1:]:
            white = boxes[i][1] - bottom
            whites.append(white)
            if white > _GRID_BREAK * height and i not in figures:
                found[boxes[i][1]] = white
            bottom = max(bottom, boxes[i][3])
        starts.append(found)
        spacing.append(median(whites) if whites else 0.0)
    # Blocks of one size side by side show no hole: there every block of every column
    # starts level with one in each other column (a glossary's terms two by two), and the
    # blocks run two lines or more, set apart by twice the white between their lines (lines
    # on a baseline grid are no blocks).
    full = (
        len({len(found) for found in starts}) == 1
        and all(
            white >= 2 * usual
            for found, usual in zip(starts, spacing, strict=True)
            for white in found.values()
        )
        and all(
            len(col) >= 2 * (len(found) + 1) for col, found in zip(columns, starts, strict=True)
        )
        and all(
            any(abs(t - top) <= _ALIGN_TOLERANCE * height for t in found)
            for top in starts[0]
            for found in starts[1:]
        )
    )
    cuts: list[float] = []
    for top, white in starts[0].items():
        whites = [white]
        for found in starts[1:]:
            near = [t for t in found if abs(t - top) <= _ALIGN_TOLERANCE * height]
            if not near:
                break
            whites.append(found[near[0]])
        else:
            if full or max(whites) >= _GRID_HOLE * height:
                y = top - min(whites) / 2
                if not any(boxes[i][1] < y < boxes[i][3] for c in columns for i in c):
                    cuts.append(y)
    return sorted(cuts)


def _wrapped_rows(
    boxes: Sequence[Box], bands: list[list[int]], cuts: list[float], drawn: _Drawn
) -> list[list[list[int]]]:
    """``bands`` (rows of cells split at ``cuts``) grouped into table rows: a band runs on
    the row above when each of its lines continues a cell there (under a line of that cell,
    at a line's pitch, the line above filling its cell as wrapped text does) and some cell
    of the row above has nothing more (the cells beside a wrapped one are done), with no
    rule drawn between. A table's row with empty cells under a short label is a row."""
    piece = {
        i: sum(1 for c in cuts if (boxes[i][0] + boxes[i][2]) / 2 > c) for b in bands for i in b
    }
    widest: dict[int, float] = {}
    for i, k in piece.items():
        widest[k] = max(widest.get(k, 0.0), _width(boxes[i]))
    groups: list[list[list[int]]] = []
    for band in bands:
        if groups and (
            _runs_on(boxes, groups[-1], band, piece, widest, drawn)
            or (len(groups[-1]) == 1 and _runs_into(boxes, groups[-1][0], band, drawn))
        ):
            groups[-1].append(band)
        else:
            groups.append([band])
    return groups


def _runs_into(boxes: Sequence[Box], upper: list[int], lower: list[int], drawn: _Drawn) -> bool:
    """True when ``upper`` holds the first lines of cells that run on into the table row
    ``lower``: text centred in a taller cell starts above the row's one-line cells. The
    row has at least ``_MIN_CELLS`` cells side by side and more than ``upper`` has lines;
    each line of ``upper`` lies over one of them, fills its cell as wrapped text does, and
    has that cell's next line under it at a line's pitch, with no rule drawn between."""
    if len(lower) < _MIN_CELLS or len(upper) >= len(lower):
        return False
    ordered = sorted(lower, key=lambda i: boxes[i][0])
    if any(boxes[a][2] > boxes[b][0] for a, b in itertools.pairwise(ordered)):
        return False  # lines side by side within one cell: no row of cells
    row = upper + lower
    for i in upper:
        under = [j for j in lower if boxes[j][0] < boxes[i][2] and boxes[i][0] < boxes[j][2]]
        if len(under) != 1:
            return False
        j = under[0]
        if not _wraps_onto(boxes, i, j, row, max(_width(boxes[i]), _width(boxes[j])), drawn):
            return False
    return True


def _runs_on(
    boxes: Sequence[Box],
    rows: list[list[int]],
    band: list[int],
    piece: dict[int, int],
    widest: dict[int, float],
    drawn: _Drawn,
) -> bool:
    """True when ``band`` runs on the table row ``rows`` (its bands so far): see
    :func:`_wrapped_rows`. A cell may wrap over several lines: each is asked of the line
    above it, while the cells that are done are counted on the row's first band."""
    above, first = rows[-1], rows[0]
    # One line per cell on each row: lines side by side within one column are no grid.
    cells_first, cells = {piece[i] for i in first}, {piece[i] for i in band}
    # (The bands after the first were asked as ``band`` when they joined the row.)
    if len(cells_first) < len(first) or len(cells) < len(band) or len(cells) >= len(cells_first):
        return False
    # A line the detector cut at a wide word space is two pieces on one row, not a row of
    # cells: a row has at least three.
    if len(cells_first) < _MIN_CELLS:
        return False
    row = [i for b in rows for i in b]
    for i in band:
        over = [j for j in above if piece[j] == piece[i]]
        if not over:
            return False
        last = max(over, key=lambda j: boxes[j][3])
        if not _wraps_onto(boxes, last, i, row, widest[piece[i]], drawn):
            return False
    return True


def _wraps_onto(
    boxes: Sequence[Box], upper: int, lower: int, row: list[int], widest: float, drawn: _Drawn
) -> bool:
    """True when a cell's text wraps from ``upper`` onto ``lower``: ``lower`` lies under it
    at a line's pitch, ``upper`` fills its cell on ``row`` as wrapped text does (the widest
    of its column's lines being ``widest``), and no rule is drawn between them (a ruled
    table's next row)."""
    height = _height(boxes[lower])
    if boxes[lower][1] - boxes[upper][3] > _PARAGRAPH_GAP * height:
        return False
    # Left-aligned text wraps a word that does not fit to the start of the next line.
    flush = abs(boxes[lower][0] - boxes[upper][0]) <= _FLUSH * height
    word = drawn.lead.get(lower, 0.0) if flush else 0.0
    if not _fills_its_cell(boxes, upper, row, widest, word):
        return False
    slack = _RULE_SLACK * height
    return not any(
        boxes[upper][3] - slack <= y <= boxes[lower][1] + slack
        and x0 < boxes[lower][2]
        and x1 > boxes[lower][0]
        for x0, x1, y in drawn.rules
    )


def _fills_its_cell(
    boxes: Sequence[Box], line: int, row: list[int], widest: float, word: float = 0.0
) -> bool:
    """True when ``line`` is prose-long and runs up to the cell beside it on ``row`` (within
    ``_WRAP_GAP`` of its height, plus ``word``, the width of the first word of the line under
    it, which did not fit there), or, in the last column, is nearly its widest line: text
    that wrapped there, not a short label."""
    box = boxes[line]
    if _aspect(box) < _PROSE_ASPECT:
        return False
    right = [boxes[j][0] for j in row if boxes[j][0] >= box[2]]
    if right:
        return min(right) - box[2] <= _WRAP_GAP * _height(box) + word
    return _width(box) >= _FILLED * widest


def _paragraph_breaks(
    boxes: Sequence[Box], text: list[int], column_of: dict[int, int]
) -> dict[int, float]:
    """Where the lines ``text`` (in reading order) may be interrupted, as ``position ->
    height on the page``: before the first line, after the last, and between two lines in
    different columns or with more white between them than a paragraph's line spacing."""
    breaks = {0: boxes[text[0]][1], len(text): boxes[text[-1]][3]}
    pitch = _line_pitch(boxes, text, column_of)
    for k in range(1, len(text)):
        upper, lower = boxes[text[k - 1]], boxes[text[k]]
        if column_of[text[k - 1]] != column_of[text[k]] or _breaks_between(upper, lower, pitch):
            breaks[k] = lower[1]
    return breaks


def _line_pitch(
    boxes: Sequence[Box], lines: list[int], column_of: dict[int, int] | None = None
) -> float:
    """The usual distance from one line's top to the next's among ``lines`` (in reading
    order; pairs in one column of ``column_of``, when given, that follow at a line's
    spacing)."""
    pitches = [
        boxes[b][1] - boxes[a][1]
        for a, b in itertools.pairwise(lines)
        if (column_of is None or column_of[a] == column_of[b])
        and -_CORE < _white(boxes[a], boxes[b]) <= _PARAGRAPH_GAP
    ]
    return median(pitches) if pitches else math.inf


def _breaks_between(upper: Box, lower: Box, pitch: float) -> bool:
    """True when a paragraph break lies between the lines ``upper`` and ``lower``: more white
    than a paragraph's line spacing, or a pitch ``_PARAGRAPH_PITCH`` times the usual one."""
    white = _white(upper, lower)
    return white > _PARAGRAPH_GAP or (white > 0 and lower[1] - upper[1] > _PARAGRAPH_PITCH * pitch)


def _break_height(boxes: Sequence[Box], lines: list[int], k: int) -> float:
    """The height on the page of the break before ``lines[k]`` (after the last line when
    ``k`` is past it)."""
    return boxes[lines[k]][1] if k < len(lines) else boxes[lines[-1]][3]


def _white(upper: Box, lower: Box) -> float:
    """The white from ``upper``'s bottom to ``lower``'s top, in the smaller one's height."""
    return (lower[1] - upper[3]) / max(min(_height(upper), _height(lower)), 1e-9)


def _runs_on_from(upper: Box, lower: Box, right: float) -> bool:
    """True when ``lower`` follows ``upper`` in one paragraph: under it, at a line's pitch,
    ``upper`` a line of prose that runs to ``right`` (the text's right edge), as a line
    that wraps does (a paragraph's last line stops short)."""
    white = _white(upper, lower)
    stacked = upper[0] < lower[2] and lower[0] < upper[2]
    return stacked and _reaches(upper, right) and -_CORE < white <= _PARAGRAPH_GAP


def _reaches(line: Box, right: float) -> bool:
    """True when ``line`` is prose that runs to ``right`` (its text's right edge), as a line
    that wraps does."""
    return line[2] >= right - _FLUSH * _height(line) and _aspect(line) >= _PROSE_ASPECT


def _bands(boxes: Sequence[Box], idx: list[int]) -> list[list[int]]:
    """``idx`` cut into horizontal bands at every white row, top to bottom."""
    typical = median(_height(boxes[i]) for i in idx)
    cores = [_core_rows(boxes[i], typical) for i in idx]
    return _split(boxes, idx, [c for c, _ in _gaps(cores, 1e-6)], 1)


def _white_between(boxes: Sequence[Box], upper: list[int], lower: list[int]) -> float:
    """The white from the bottom of the lines ``upper`` to the top of ``lower``, in their
    median line height."""
    gap = min(boxes[i][1] for i in lower) - max(boxes[i][3] for i in upper)
    return gap / median(_height(boxes[i]) for i in upper + lower)


def _wrapped_strip(boxes: Sequence[Box], part: list[int]) -> bool:
    """True when ``part`` is a paragraph wrapped in a narrow strip: at least
    ``_MIN_STRIP`` rows of one line each, every one following the one above at a line's
    pitch."""
    rows = group_rows(boxes, part)
    return (
        len(rows) >= _MIN_STRIP
        and all(len(row) == 1 for row in rows)
        and _longest_run(boxes, part) == len(rows)
    )


def _longest_run(boxes: Sequence[Box], part: list[int]) -> int:
    """The most lines of ``part`` that follow each other at a line pitch (a paragraph)."""
    rows = group_rows(boxes, part)
    best = run = 1
    for upper, lower in itertools.pairwise(rows):
        run = run + 1 if _white_between(boxes, upper, lower) <= _PARAGRAPH_GAP else 1
        best = max(best, run)
    return best


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


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


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


def _aligned(a: Box, b: Box) -> bool:
    """Two lines set on one row of a grid: top and bottom both within ``_ALIGN_TOLERANCE`` of
    the smaller height. Independent columns with their own line pitch rarely are."""
    tolerance = _ALIGN_TOLERANCE * min(_height(a), _height(b))
    return abs(a[1] - b[1]) <= tolerance and abs(a[3] - b[3]) <= tolerance


def _is_prose(boxes: Sequence[Box], part: list[int]) -> bool:
    """True when ``part``'s lines are mostly prose-long."""
    return median(_aspect(boxes[i]) for i in part) >= _PROSE_ASPECT


def _narrow_column(boxes: Sequence[Box], part: list[int]) -> bool:
    """True when ``part`` is a narrow column of text: a long run of lines (at least
    ``_MIN_COLUMN_LINES``) that fill its width (the median at least ``_FILLED`` of it), too
    short to be prose-long but longer than ``_NARROW_ASPECT`` heights, as a table's column of
    numbers or dates is not."""
    if len(part) < _MIN_COLUMN_LINES:
        return False
    width = max(boxes[i][2] for i in part) - min(boxes[i][0] for i in part)
    return (
        median(_aspect(boxes[i]) for i in part) >= _NARROW_ASPECT
        and median(_width(boxes[i]) for i in part) >= _FILLED * width
    )


def _centred_block(boxes: Sequence[Box], part: list[int]) -> bool:
    """True when ``part`` is one block of lines set centred: at least two rows following
    each other at a line pitch, their middles on one axis while their left edges are not."""
    rows = group_rows(boxes, part)
    if len(rows) < 2 or any(len(row) != 1 for row in rows) or _longest_run(boxes, part) < len(rows):
        return False
    height = median(_height(boxes[i]) for i in part)
    middles = [(boxes[i][0] + boxes[i][2]) / 2 for i in part]
    lefts = [boxes[i][0] for i in part]
    centred = max(middles) - min(middles) <= _CENTRE_TOLERANCE * height
    return centred and max(lefts) - min(lefts) > _CENTRE_TOLERANCE * height


def _looks_like_cells(
    boxes: Sequence[Box], parts: list[list[int]], figures: frozenset[int] = frozenset()
) -> bool:
    """True when pieces split by gutters are a table's cells (or a form's fields) rather
    than text columns, so they are read row by row.

    Cells are set on shared rows across the gutter: most lines that face another piece (lie
    within its height) are aligned with a line there, top and bottom. Prose columns are made
    of long lines and stay columns even on a common baseline grid; pieces that do not face
    each other at all (stacked blocks that a gutter happens to separate) are read top to
    bottom too. Blocks of centred lines side by side, each with as many lines (a paper's
    authors, each with name, affiliation and address), are blocks, not a table's rows.
    """
    # A piece that is mostly a figure (a float with its caption) is a column, as prose is;
    # so is a paragraph in larger type beside prose (a pull quote).
    smallest = min(median(_height(boxes[i]) for i in p) for p in parts)
    of_prose = [_is_prose(boxes, p) for p in parts]
    columnar = [
        of_prose[k]
        or _narrow_column(boxes, p)
        or _mostly_figure(boxes, p, figures)
        or _display_block(boxes, p, smallest, _SAME_SIZE)
        # Type only a little larger is a pull quote beside prose; beside a form's labels it
        # is the fields' values.
        or (_display_block(boxes, p, smallest) and any(of_prose[:k] + of_prose[k + 1 :]))
        for k, p in enumerate(parts)
    ]
    if all(columnar):
        return False
    if all(_centred_block(boxes, p) for p in parts) and len({len(p) for p in parts}) == 1:
        return False
    spans = [(min(boxes[i][1] for i in p), max(boxes[i][3] for i in p)) for p in parts]
    aligned = facing = total = 0
    for k, part in enumerate(parts):
        others = _ByTop(boxes, [j for m, p in enumerate(parts) if m != k for j in p])
        for i in part:
            total += 1
            middle = (boxes[i][1] + boxes[i][3]) / 2
            if not any(top <= middle <= bottom for m, (top, bottom) in enumerate(spans) if m != k):
                continue
            facing += 1
            # A line's cell partners are its nearest neighbours on its row, left and right
            # (a side note two columns away is no cell of the body's lines); two lines of
            # prose side by side are columns on a baseline grid, not cells.
            prose = _aspect(boxes[i]) >= _PROSE_ASPECT
            around = others.overlapping(boxes[i][1], boxes[i][3])
            row = [j for j in around if _same_row(boxes[i], boxes[j])]
            left = [j for j in row if boxes[j][2] <= boxes[i][0]]
            right = [j for j in row if boxes[j][0] >= boxes[i][2]]
            near = [max(left, key=lambda j: boxes[j][2])] if left else []
            near += [min(right, key=lambda j: boxes[j][0])] if right else []
            if any(
                _aligned(boxes[i], boxes[j]) and not (prose and _aspect(boxes[j]) >= _PROSE_ASPECT)
                for j in near
            ):
                aligned += 1
    if facing < _MIN_FACING * total:
        return True
    if aligned / facing >= _ALIGNED_SHARE:
        return True
    # Not a grid: short blocks side by side (an invoice's address and its number and date,
    # footnotes beside a remittance address) are still read across, as a form is; beside a
    # long run, or beside two columns of prose, a block is a side column. Text wrapped beside
    # a float, in strips of a word or two, is a column too: lines that follow each other at a
    # line's pitch, one to a row, as a form's fields beside a logo are not.
    floats = [p for p in parts if _mostly_figure(boxes, p, figures)]
    if floats and all(_wrapped_strip(boxes, p) for p in parts if not any(p is f for f in floats)):
        return False
    # A single line in larger type beside a block (a company's name beside its address) is
    # read before it, not between its lines.
    sizes = [median(_height(boxes[i]) for i in p) for p in parts]
    return (
        all(len(p) < _MIN_COLUMN_LINES for p in parts)
        and sum(columnar) < 2
        and not any(
            len(p) == 1 and size > _SAME_SIZE * min(sizes)
            for p, size in zip(parts, sizes, strict=True)
        )
    )


def _display_block(
    boxes: Sequence[Box], part: list[int], body: float, size: float = _DISPLAY_SIZE
) -> bool:
    """True when ``part`` is a paragraph (two or more rows of one line each at a line's
    pitch, in one type size) in type at least ``size`` times ``body``: a pull quote,
    not a label or a title. A line in smaller type over it (the end of the paragraph above
    it) is left out, and so is a mark boxed apart from its line."""
    rows = group_rows(boxes, part)
    # A mark the detector boxed apart from its line (a closing quotation mark) is no line.
    rows = [[i for i in row if _aspect(boxes[i]) >= _MARK_ASPECT] or row for row in rows]
    part = [i for row in rows for i in row]
    if len(rows) < 2 or any(len(row) != 1 for row in rows):
        return False
    # A paragraph's last line above the quote, in the text's type, may have come with it.
    if len(rows) > 2 and _height(boxes[rows[0][0]]) * _SAME_SIZE <= _height(boxes[rows[1][0]]):
        part = [row[0] for row in rows[1:]]
        rows = rows[1:]
    heights = [_height(boxes[i]) for i in part]
    if max(heights) > _LINE_SPREAD * min(heights):
        return False  # a title over a line of smaller type is no paragraph
    return median(heights) >= size * body and _longest_run(boxes, part) == len(rows)


def _mostly_figure(boxes: Sequence[Box], part: list[int], figures: frozenset[int]) -> bool:
    """True when ``part`` is mostly a figure: its figures cover at least half as much as its
    lines do (a chart or a diagram with its labels and caption, not a logo over an address)."""
    if not any(i in figures for i in part):
        return False
    drawn = sum(_width(boxes[i]) * _height(boxes[i]) for i in part if i in figures)
    text = sum(_width(boxes[i]) * _height(boxes[i]) for i in part if i not in figures)
    prose = sum(1 for i in part if i not in figures and _aspect(boxes[i]) >= _PROSE_ASPECT)
    return drawn > 0 and drawn >= 0.5 * text and prose <= _MAX_CAPTION


def basic_order_of(boxes: Sequence[Box], idx: Sequence[int]) -> list[int]:
    """:func:`basic_order` restricted to the lines ``idx``."""
    return [i for row in group_rows(boxes, idx) for i in row]


def _core_rows(box: Box, typical: float) -> tuple[float, float]:
    """The rows of ``box`` that must clear another's for a cut between them: the middle
    ``_CORE`` of a line; a figure, many lines tall, gives up only as much as a line does."""
    margin = min(_height(box), typical) * (1 - _CORE) / 2
    return box[1] + margin, box[3] - margin
