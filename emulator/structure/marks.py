"""Selection marks (check boxes and radio buttons) on a page image, for ``prebuilt-layout``'s
``pages[].selectionMarks[]``.

A mark is a small closed square (or circle) of about the text's height, drawn in ink on the
paper: empty when unselected, holding a tick, a cross, a dot or a fill when selected. The OCR
engine either misses it or reads it as a glyph ("口", "O", "[]", "☐"), so it is found in the
pixels. :func:`find_selection_marks` binarises a shrunk grey copy of the page (turned upright
when the text is turned) against the paper around each pixel, takes each connected piece of
ink whose box is square and about text-sized, and keeps it when its outline is a box: all four
sides of its bounding box are ink along (nearly) their whole length, with ink in the corners
and a thin border, which no letter has; or, for a circle, the ellipse inscribed in that box is
ink all the way round, thin, with paper in the corners. A piece solid to its border is a
bullet, not a box. The share of ink in the interior tells selected from unselected, and
confidence says how clearly the outline is a box and the fill on one side of that cut.

A table's grid is one connected piece far larger than a line of text, and an underline field
is flat, so neither passes the size and shape test. Letters that are closed and round ("O",
"0", "o") are told apart by the outline (round, not square), by their shape (a "0" is
oval, an "o" small) and by the words the engine read: a candidate lying inside a word of real
text is a letter; one read as a word of its own ("口", "M", "[ ]") is the mark itself, and
that word is handed back (:attr:`SelectionMark.words`) for the results to drop.

Sizes are all relative to the page's text height (the median height of its lines), so the
same constants serve a 100 dpi screenshot and a 300 dpi scan; the page is shrunk by a whole
factor until its lines are 24-48 pixels high, and the pieces are found from their contours;
together that keeps the cost to a few tens of milliseconds on a 300 dpi page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from emulator.engine.base import TextLine
from emulator.engine.separators import turn_upright

__all__ = ["SelectionMark", "find_selection_marks"]

UInt8Array = npt.NDArray[np.uint8]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Polygon = tuple[float, float, float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class SelectionMark:
    """One check box or radio button found on the page."""

    selected: bool
    #: 8 floats, clockwise from the top-left, in the page image's pixels
    polygon: Polygon
    confidence: float
    #: indices (line, word) of words the OCR engine read from the mark itself (a box read
    #: as "口", "O", "[]", "☐", "X"...): the results drop these words
    words: tuple[tuple[int, int], ...]


# -- scale ---------------------------------------------------------------------------------------
# The page is shrunk by a whole factor so that its median text line is at least this many
# pixels high (24-48): a mark (0.6-1 line) is then 15-45 pixels across, enough to see a 1 px
# border, a tick inside it, and the white between the border and a fill on a blurred scan
# (at 16-20 pixels a line, that white is a pixel and the blur closes it).
_WORK_LINE = 24.0
# Without lines the text height is guessed as this share of the page's long side (a 10-11 pt
# line on a letter page).
_GUESS_LINE = 1 / 70
# Pages whose text is turned by less than this (degrees) are searched as they are.
_MIN_TURN = 0.5

# -- ink -----------------------------------------------------------------------------------------
# A pixel is ink when it is darker than the mean of the square around it (this many line
# heights across: wider than a mark, so a filled box's interior still counts as ink) by at least
# _INK_STEP of the page's contrast (paper minus ink), and by at least _MIN_STEP grey levels, so
# paper noise and JPEG ringing do not count.
_BLOCK = 2.0
_INK_STEP = 0.18
_MIN_STEP = 12.0

# -- shape, in line heights ----------------------------------------------------------------------
# A mark's side is between these shares of the line height. The generator's boxes run
# 0.67-1.0 of a DOM line and 0.69-0.9 of the engine's; a lower-case letter (an "n" whose
# serifs close it) is 0.35-0.45.
_MIN_SIDE = 0.5
_MAX_SIDE = 1.7
# A circle (radio button) must be larger than a capital letter: "O" and "Q" are circles too.
_MIN_CIRCLE = 0.58
# Longer side over shorter side; a skewed square's box stays well inside this, a "0" does not.
_MAX_ASPECT = 1.3

# -- outline, in shares of the candidate's side --------------------------------------------------
# Each side of a square is looked for in a strip this deep (at least _MIN_STRIP pixels) along
# the candidate's bounding box: deep enough for a 2 px border and a degree of residual skew,
# shallow enough that the top of an "O" crosses only part of it.
_STRIP = 0.12
_MIN_STRIP = 2
# The ends of each side (this share at either end) are left out: corners may be round.
_SIDE_END = 0.08
# Each of the four sides of a box must be ink along at least this share of its length.
_MIN_SIDE_COVER = 0.85
# Corner cells this deep: a box has ink in (at least three of) them, even with corners rounded
# to a quarter of its side; a circle (and an "O") has none in (at least three of) them.
_CORNER = 0.12
# A box's outline is thin: at its thinnest at most this share of the side (a bold letter's
# strokes, blurred by a scan into a blob, are thicker all round).
_MAX_BORDER = 0.2
# A circle is round whatever the page's skew; an oval is a "0" or an "O".
_MAX_CIRCLE_ASPECT = 1.15
# A circle's outline is at most this thick (a radio button's is thin, a bold "o"'s is not).
_MAX_CIRCLE_STROKE = 0.16
# Points of the inscribed ellipse that must be ink for a circle.
_MIN_RING_COVER = 0.9
_CIRCLE_POINTS = 32
# A square or dot solid to the border is a bullet (or a chart's legend swatch), not a box: the
# inside of a filled box's border keeps some paper (the generator's fill leaves a tenth of the
# side all round, which a scan and shrinking blur to a pixel).
_MAX_SOLID = 0.9
# The interior is measured this far inside the border, clear of its blur.
_MARGIN = 0.1
# Interior ink share above which a mark is selected. An empty box holds almost none (noise,
# a border's blur); a tick covers about a fifth, a cross more, a fill a third or more.
_SELECTED_FILL = 0.07

# -- words ---------------------------------------------------------------------------------------
# A word overlapping this share of a candidate's box was read over it.
_WORD_OVERLAP = 0.3
# White at least this wide (a share of the mark's side) parts a mark from the label the engine
# read with it (forms leave 0.3-0.6 of a side); letters in a word are set closer.
_WORD_GAP = 0.25
# ... and at least this share of a line height: about a space.
_SPACE = 0.15
# A word read from a mark alone is no wider than this many times the mark.
_GLYPH_WIDTH = 2.0
# Texts the engine makes of a mark when it reads one as a word of its own.
_BOX_GLYPHS = frozenset("口□☐☑☒■◻◼▢▣回囗図区⊠⊡○◯●◉◎⦿OoD0QØ°XxVv✓✔✗✘")


@dataclass(frozen=True, slots=True)
class _Candidate:
    # Bounding box in the work image (upright, shrunk): left, top, width, height.
    x: int
    y: int
    w: int
    h: int
    circle: bool
    fill: float
    outline: float


def find_selection_marks(
    bgr: UInt8Array,
    lines: Sequence[TextLine],
    angle: float = 0.0,
) -> list[SelectionMark]:
    """Selection marks on the page, top to bottom then left to right.

    ``bgr`` is the page image, ``lines`` what the engine read on it (their heights give the
    text size the marks are measured against; their words tell a letter from a mark) and
    ``angle`` the text's angle in degrees clockwise, by which the page is turned upright."""
    h, w = bgr.shape[:2]
    if h == 0 or w == 0:
        return []
    line_height = _line_height(lines) or max(h, w) * _GUESS_LINE
    gray = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    # Shrunk by a whole factor, which OpenCV averages several times faster than any other.
    factor = max(1, int(line_height / _WORK_LINE))
    scale = 1.0 / factor
    if factor > 1 and h >= factor and w >= factor:
        cut = gray[: h - h % factor, : w - w % factor]
        size = (cut.shape[1] // factor, cut.shape[0] // factor)
        gray = np.asarray(cv2.resize(cut, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    else:
        scale = 1.0
    to_small = np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]])
    paper = _quantile(gray, 0.9)
    if abs(angle) >= _MIN_TURN:
        # The canvas around the turned page is paper-coloured, so that the page's own edge
        # is no edge of ink.
        gray, to_small = turn_upright(gray, angle, to_small, border=round(paper))
    unit = line_height * scale
    ink = _ink(gray, unit, paper)
    candidates = _candidates(ink, unit)
    if not candidates:
        return []
    back = np.asarray(cv2.invertAffineTransform(to_small), dtype=np.float64)
    words = _word_boxes(lines, to_small)
    marks: list[tuple[float, float, SelectionMark]] = []
    for c in candidates:
        absorbed = _words_of(c, words, ink, unit)
        if absorbed is None:
            continue
        corners = np.array(
            [[c.x, c.y], [c.x + c.w, c.y], [c.x + c.w, c.y + c.h], [c.x, c.y + c.h]],
            dtype=np.float64,
        )
        page = _apply(back, corners)
        poly = tuple(round(float(v), 1) for v in page.reshape(-1))
        selected = c.fill >= _SELECTED_FILL
        mark = SelectionMark(
            selected=selected,
            polygon=(poly[0], poly[1], poly[2], poly[3], poly[4], poly[5], poly[6], poly[7]),
            confidence=_confidence(c),
            words=absorbed,
        )
        marks.append((c.y + c.h / 2, c.x + c.w / 2, mark))
    return _reading_order(marks, unit)


# -- pixels --------------------------------------------------------------------------------------


def _ink(gray: UInt8Array, unit: float, paper: float) -> UInt8Array:
    """1 where ``gray`` is clearly darker than the paper around it."""
    darkest = _quantile(gray, 0.005)
    step = max(_MIN_STEP, _INK_STEP * (paper - darkest))
    block = max(3, int(_BLOCK * unit) | 1)
    ink = cv2.adaptiveThreshold(
        gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, step
    )
    return np.asarray(ink, dtype=np.uint8)


def _quantile(gray: UInt8Array, q: float) -> float:
    """The grey level below which the share ``q`` of (a sample of) ``gray``'s pixels lie."""
    counts = np.bincount(gray[::2, ::2].ravel(), minlength=256)
    return float(np.searchsorted(np.cumsum(counts), q * counts.sum()))


def _candidates(ink: UInt8Array, unit: float) -> list[_Candidate]:
    """Pieces of ink shaped like a mark, largest first, none inside another.

    Most pieces on a page are letters; sums over the ink's integral image throw out, all at
    once, those whose box has not ink along all four sides with ink in its corners (a square)
    or paper in its corners (a circle). The few left are looked at one by one."""
    # The pieces' boxes from their outer contours: several times cheaper than labelling every
    # pixel of the page with its piece's statistics.
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return []
    lengths = np.fromiter((len(c) for c in contours), dtype=np.int64, count=len(contours))
    points = np.concatenate(contours).reshape(-1, 2).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    xs = np.minimum.reduceat(points[:, 0], starts)
    ys = np.minimum.reduceat(points[:, 1], starts)
    ws = np.maximum.reduceat(points[:, 0], starts) + 1 - xs
    hs = np.maximum.reduceat(points[:, 1], starts) + 1 - ys
    long_side = np.maximum(ws, hs)
    short_side = np.minimum(ws, hs)
    keep = (
        (hierarchy[0][:, 3] < 0)  # a piece's outline, not a hole's
        & (long_side >= _MIN_SIDE * unit)
        & (long_side <= _MAX_SIDE * unit)
        & (long_side <= _MAX_ASPECT * short_side)
        & (short_side >= 6)
    )
    k = np.flatnonzero(keep)
    if len(k) == 0:
        return []
    x, y, w, h = xs[k], ys[k], ws[k], hs[k]
    side = (w + h) / 2
    strip = np.maximum(_MIN_STRIP, np.round(_STRIP * side)).astype(np.int64)
    end = np.round(_SIDE_END * side).astype(np.int64)
    corner = np.maximum(1, np.round(_CORNER * side)).astype(np.int64)
    total = np.asarray(cv2.integral(ink), dtype=np.int64)

    def area(
        x0: npt.NDArray[Any], y0: npt.NDArray[Any], x1: npt.NDArray[Any], y1: npt.NDArray[Any]
    ) -> IntArray:
        return np.asarray(
            total[y1, x1] - total[y0, x1] - total[y1, x0] + total[y0, x0], dtype=np.int64
        )

    across, down = w - 2 * end, h - 2 * end
    sides = np.stack(
        [
            area(x + end, y, x + w - end, y + strip) / np.maximum(across, 1),
            area(x + end, y + h - strip, x + w - end, y + h) / np.maximum(across, 1),
            area(x, y + end, x + strip, y + h - end) / np.maximum(down, 1),
            area(x + w - strip, y + end, x + w, y + h - end) / np.maximum(down, 1),
        ]
    ).min(axis=0)
    inked = (
        (area(x, y, x + corner, y + corner) > 0).astype(np.int64)
        + (area(x + w - corner, y, x + w, y + corner) > 0)
        + (area(x, y + h - corner, x + corner, y + h) > 0)
        + (area(x + w - corner, y + h - corner, x + w, y + h) > 0)
    )
    square = (sides >= _MIN_SIDE_COVER) & (inked >= 3)
    circle = (side >= _MIN_CIRCLE * unit) & (inked <= 1) & (sides >= 0.3)
    found: list[_Candidate] = []
    for i in np.flatnonzero(square | circle):
        x0, y0, x1, y1 = int(x[i]), int(y[i]), int(x[i] + w[i]), int(y[i] + h[i])
        # The piece itself, apart from any other ink in its box (a fill, a neighbour's tail).
        _, labels = cv2.connectedComponents(ink[y0:y1, x0:x1], connectivity=8)
        sx, sy = points[starts[k[i]]]
        piece = np.asarray(labels == labels[sy - y0, sx - x0], dtype=np.bool_)
        cand = _judge(piece, ink[y0:y1, x0:x1], x0, y0, bool(square[i]))
        if cand is not None:
            found.append(cand)
    found.sort(key=lambda c: -c.w * c.h)
    kept: list[_Candidate] = []
    for c in found:
        cx, cy = c.x + c.w / 2, c.y + c.h / 2
        if not any(o.x <= cx <= o.x + o.w and o.y <= cy <= o.y + o.h for o in kept):
            kept.append(c)
    return kept


def _judge(piece: BoolArray, ink: UInt8Array, x: int, y: int, square: bool) -> _Candidate | None:
    """``piece`` (one connected piece of ink, cut to its box) as a square (or, when not
    ``square``, circle) mark, or ``None``. ``ink`` is all the ink in that box, for what lies
    inside the outline."""
    h, w = piece.shape
    side = (w + h) / 2
    strip = max(_MIN_STRIP, round(_STRIP * side))
    corner = max(1, round(_CORNER * side))
    corners = sum(
        bool(c.any())
        for c in (
            piece[:corner, :corner],
            piece[:corner, -corner:],
            piece[-corner:, :corner],
            piece[-corner:, -corner:],
        )
    )
    if square:
        cover = _square_cover(piece, strip, round(_SIDE_END * side))
        if cover < _MIN_SIDE_COVER or corners < 3:
            return None
    else:
        cover = _ring_cover(piece, strip)
        if cover < _MIN_RING_COVER or corners > 1:
            return None
        if max(_border_widths(piece)) > _MAX_CIRCLE_STROKE * side:
            return None
        if max(w, h) > _MAX_CIRCLE_ASPECT * min(w, h):
            return None
    top, bottom, left, right = _border_widths(piece)
    if min(top, bottom, left, right) > _MAX_BORDER * side:
        return None
    within = ink[top : h - bottom, left : w - right]
    if within.shape[0] < 3 or within.shape[1] < 3:
        return None
    if float(within[_inside(within.shape, square)].mean()) > _MAX_SOLID:
        return None
    # The interior, whose ink tells selected from unselected, starts a little inside the
    # border, clear of its blur and of specks stuck to it.
    margin = max(1, round(_MARGIN * side))
    inner = within[margin:-margin, margin:-margin]
    if inner.shape[0] < 2 or inner.shape[1] < 2:
        return None
    fill = float(inner[_inside(inner.shape, square)].mean())
    return _Candidate(x, y, w, h, not square, fill, cover)


def _inside(shape: tuple[int, ...], square: bool) -> BoolArray:
    """The part of a box of ``shape`` inside its outline: all of it for a square, the
    inscribed ellipse for a circle."""
    if square:
        return np.ones(shape[:2], dtype=np.bool_)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    ry, rx = shape[0] / 2, shape[1] / 2
    return np.asarray(((xx + 0.5 - rx) / rx) ** 2 + ((yy + 0.5 - ry) / ry) ** 2 <= 1.0)


def _square_cover(piece: BoolArray, strip: int, end: int) -> float:
    """The least share, over the four sides of ``piece``'s box, of that side's length (``end``
    left out at either end) along which the strip beside it holds ink."""
    h, w = piece.shape
    if h <= 2 * max(strip, end) or w <= 2 * max(strip, end):
        return 0.0
    sides = (
        piece[:strip, end : w - end].any(axis=0),
        piece[h - strip :, end : w - end].any(axis=0),
        piece[end : h - end, :strip].any(axis=1),
        piece[end : h - end, w - strip :].any(axis=1),
    )
    return min(float(s.mean()) for s in sides)


def _ring_cover(piece: BoolArray, strip: int) -> float:
    """The share of points on the ellipse inscribed in ``piece``'s box (``strip`` / 2 in from
    it) that have ink beside them."""
    h, w = piece.shape
    t = np.linspace(0, 2 * math.pi, _CIRCLE_POINTS, endpoint=False)
    rx, ry = (w - strip / 2) / 2, (h - strip / 2) / 2
    px = np.clip(np.round(w / 2 + rx * np.cos(t) - 0.5).astype(np.int64), 0, w - 1)
    py = np.clip(np.round(h / 2 + ry * np.sin(t) - 0.5).astype(np.int64), 0, h - 1)
    near = cv2.dilate(piece.astype(np.uint8), np.ones((3, 3), dtype=np.uint8))
    return float(near[py, px].astype(bool).mean())


def _border_widths(piece: BoolArray) -> tuple[int, int, int, int]:
    """The outline's thickness at the top, bottom, left and right: the length of the run of
    ink met first coming in from that edge, over the middle half of the side, at its lower
    quartile (blur and a skew of a pixel make the sides differ; a tick or a cross touching
    the border, or a speck stuck to it, lengthens some runs, not the quartile)."""
    h, w = piece.shape
    qx, qy = slice(w // 4, w - w // 4), slice(h // 4, h - h // 4)
    top, bottom, left, right = (
        _first_run(edge)
        for edge in (
            piece[: h // 2, qx],
            piece[h - h // 2 :, qx][::-1],
            piece[qy, : w // 2].T,
            piece[qy, w - w // 2 :][:, ::-1].T,
        )
    )
    return top, bottom, left, right


def _first_run(cols: BoolArray) -> int:
    """The lower quartile, over the columns of ``cols``, of the length of the first run of
    ink from the top (at least 1)."""
    if cols.size == 0:
        return 1
    start = np.argmax(cols, axis=0)
    rows = np.arange(cols.shape[0])[:, None]
    after = (rows >= start[None, :]) & ~cols
    stop = np.where(after.any(axis=0), np.argmax(after, axis=0), cols.shape[0])
    runs = np.where(cols.any(axis=0), stop - start, 0)
    return max(1, int(np.percentile(runs, 25)))


def _confidence(c: _Candidate) -> float:
    """How clearly the outline is a box and how clearly its fill is on one side of the cut."""
    outline = min(1.0, max(0.0, (c.outline - _MIN_SIDE_COVER) / (1.0 - _MIN_SIDE_COVER)))
    if c.circle:
        outline = min(1.0, max(0.0, (c.outline - _MIN_RING_COVER) / (1.0 - _MIN_RING_COVER)))
    clarity = min(1.0, abs(c.fill - _SELECTED_FILL) / _SELECTED_FILL)
    value = 0.5 + 0.5 * (0.4 + 0.6 * outline) * (0.3 + 0.7 * clarity)
    return round(min(0.995, value), 3)


# -- words ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _WordBox:
    line: int
    word: int
    text: str
    # Axis-aligned box in the work image.
    x0: float
    y0: float
    x1: float
    y1: float


def _word_boxes(lines: Sequence[TextLine], to_small: FloatArray) -> list[_WordBox]:
    """Every word's box in the work image (all transformed at once)."""
    keys = []
    polygons = []
    for i, line in enumerate(lines):
        for j, word in enumerate(line.words):
            if len(word.polygon) >= 8:
                keys.append((i, j, word.text.strip()))
                polygons.append(word.polygon[:8])
    if not polygons:
        return []
    points = _apply(to_small, np.asarray(polygons, dtype=np.float64).reshape(-1, 2))
    quads = points.reshape(-1, 4, 2)
    lo, hi = quads.min(axis=1), quads.max(axis=1)
    return [
        _WordBox(i, j, text, float(a[0]), float(a[1]), float(b[0]), float(b[1]))
        for (i, j, text), a, b in zip(keys, lo, hi, strict=True)
    ]


def _words_of(
    c: _Candidate, words: Sequence[_WordBox], ink: UInt8Array, unit: float
) -> tuple[tuple[int, int], ...] | None:
    """The words read from the mark ``c`` itself, or ``None`` when ``c`` is a letter of a
    word.

    A word of one character (the engine reads a ticked box as "M" or "☑", an empty one as
    "口" or "O") or of a box glyph in brackets ("[ ]"), no wider than the mark, is the mark.
    A longer word over the candidate may hold the mark read with its label ("口By"), or run
    labels together across it ("timePart"): the mark then stands apart from the letters
    beside it, with white as wide as a space between. At the word's start or end it must
    also have been read as a box glyph; a letter at the end of a word set in a wide
    monospace font stands as far apart. Anything else is a letter of the word."""
    area = c.w * c.h
    absorbed = []
    gap = max(2, round(_WORD_GAP * (c.w + c.h) / 2), round(_SPACE * unit))
    rows = ink[c.y : c.y + c.h]
    clear_left = not rows[:, max(0, c.x - gap) : c.x].any()
    clear_right = not rows[:, c.x + c.w : c.x + c.w + gap].any()
    for wb in words:
        ox = min(c.x + c.w, wb.x1) - max(c.x, wb.x0)
        oy = min(c.y + c.h, wb.y1) - max(c.y, wb.y0)
        if ox <= 0 or oy <= 0 or ox * oy < _WORD_OVERLAP * area or not wb.text:
            continue
        if _is_glyph(wb.text) and wb.x1 - wb.x0 <= _GLYPH_WIDTH * c.w:
            absorbed.append((wb.line, wb.word))
            continue
        slot = max(c.w, (wb.x1 - wb.x0) / len(wb.text))
        at_start = c.x + c.w / 2 - wb.x0 <= slot
        at_end = wb.x1 - (c.x + c.w / 2) <= slot
        if at_start and not at_end:
            ok = wb.text[0] in _BOX_GLYPHS and clear_right
        elif at_end and not at_start:
            ok = wb.text[-1] in _BOX_GLYPHS and clear_left
        else:
            ok = clear_left and clear_right
        if not ok:
            return None
    return tuple(absorbed)


def _is_glyph(text: str) -> bool:
    """Whether ``text`` is what the engine makes of a mark read alone: any one character, or
    brackets around at most one ("[]", "[x]", "( )")."""
    squeezed = text.replace(" ", "")
    if len(squeezed) == 1:
        return True
    return (
        len(squeezed) <= 3
        and squeezed[0] in "[(|"
        and squeezed[-1] in "])|"
        and all(ch in _BOX_GLYPHS for ch in squeezed[1:-1])
    )


# -- geometry ------------------------------------------------------------------------------------


def _line_height(lines: Sequence[TextLine]) -> float:
    """The median height of the lines: the mean length of each polygon's left and right
    edges."""
    heights = []
    for line in lines:
        p = line.polygon
        if len(p) < 8:
            continue
        left = math.hypot(p[6] - p[0], p[7] - p[1])
        right = math.hypot(p[4] - p[2], p[5] - p[3])
        heights.append((left + right) / 2)
    return float(np.median(heights)) if heights else 0.0


def _apply(matrix: FloatArray, points: FloatArray) -> FloatArray:
    return np.asarray(points @ matrix[:, :2].T + matrix[:, 2], dtype=np.float64)


def _reading_order(
    marks: list[tuple[float, float, SelectionMark]], unit: float
) -> list[SelectionMark]:
    """Marks in rows (centres within half a line of the row's first), top to bottom, each
    row left to right."""
    marks.sort(key=lambda m: m[0])
    rows: list[list[tuple[float, float, SelectionMark]]] = []
    for m in marks:
        if rows and m[0] - rows[-1][0][0] <= unit / 2:
            rows[-1].append(m)
        else:
            rows.append([m])
    return [m[2] for row in rows for m in sorted(row, key=lambda m: m[1])]
