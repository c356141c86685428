"""Figures on the page: pictures, charts and diagrams, found in the image.

Reading order over line boxes alone sees a chart's axis labels and a picture's caption as a
few short lines floating in white, and a column of text beside them as lines on the same
rows: it reads the labels and the caption between the text's lines. The page shows where the
figure is, so :func:`find_figures` looks for it: ink that is not text (the lines the detector
found are wiped out first) and not a long straight rule, closed into regions, each region at
least a few lines tall and wide (or, drawn in a row like words in frames joined by arrows, a
line and a half tall and six long) with little text inside. Reading order then treats each figure
as one block holding the text inside it (:func:`emulator.engine.layout.natural_order`).

A tinted box holding a paragraph is not a figure: text covers much of it. A ruled table is
not one either: its rules are long and straight, and its cells' text covers the rest. Rules
that lie around a figure with no text between (a chart's axes, a diagram's frame) are part
of it; a rule past a heading or a table's row under a picture is not. Where no rule runs
across a region, the rules that span only part of it (the edges of a diagram's boxes, the
arrows between them) are drawn; a run of edges lying on text (a word up against an arrow) is no
rule across anything.

Ink is told from the paper before a turned page is turned upright: the white corners the turn
adds would pass for the paper of a photographed page, which is greyer, and all of it for ink.

The image is shrunk first (800 px on its long side). With the separators, finding figures
costs 120 CPU ms a page on generated pages (docs/accuracy.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from emulator.engine.separators import turn_upright

__all__ = ["find_figures"]

UInt8Array = npt.NDArray[np.uint8]
#: A quad ``(x0, y0, x1, y1, x2, y2, x3, y3)``, clockwise from the top left.
Quad = tuple[float, float, float, float, float, float, float, float]

# The page is shrunk so its long side is this many pixels before the search.
_WORK_SIDE = 800
# Ink is at least this much darker (0-255) than the paper around it, or this colourful; an
# edge is a step of at least as much across three pixels.
_MIN_INK = 28
_MIN_CHROMA = 40
# The page is cut into this many tiles a side to measure the paper's brightness.
_TILES = 8
# A straight run of edge this many line heights long is a rule (or a tint's edge).
_RULE_LENGTH = 3.0
# Gaps this many line heights long in a rule's edge are bridged.
_RULE_GAP = 0.5
# Text lines are wiped out with this margin (line heights) around them.
_TEXT_MARGIN = 0.3
# Strokes closer than this (line heights) belong to one figure.
_CLOSE = 1.0
# A rule that spans at most this share of its region's width and height is drawn; a piece
# with more than this share of it on text is a line of words.
_PARTIAL_RULE = 0.6
_ON_TEXT = 0.5
# Rules within this many line heights, or this share of its side, around a figure (its axes,
# its frame) are part of it.
_AXIS_REACH = 3.0
_AXIS_SHARE = 0.5
# A figure is at least this many line heights wide and tall; or, drawn in a row (a diagram of
# framed words joined by arrows), this many tall and this many long.
_MIN_SIDE = 2.0
_MIN_ROW_SIDE = 1.5
_MIN_ROW_LENGTH = 6.0
# A figure holds at least this much ink (in square line heights) that is not a rule.
_MIN_DRAWN = 1.0
# A solid area with no text on it of at least this many square line heights, and at least
# this many line heights across, is drawn (a bar; a chart's bars are often narrower than a
# line is tall).
_MIN_FILL = 2.0
_MIN_FILL_SIDE = 0.5
# Or its shades spread by at least this much (standard deviation, 0-255).
_MIN_SPREAD = 8.0
# Text lines cover at most this share of a figure's box; it holds at most this many lines,
# and at most this many of them prose-long (this many heights long, a title or a note).
_MAX_TEXT = 0.35
_MAX_LABELS = 12
_MAX_PROSE = 2
_PROSE_ASPECT = 9.0
# Pages whose text is turned by less than this (degrees) are searched as they are.
_MIN_TURN = 0.5


def find_figures(
    bgr: UInt8Array, lines: Sequence[Sequence[float]], angle: float = 0.0
) -> list[Quad]:
    """The figures on the page ``bgr`` as quads in its own pixels, upright in the text's frame.

    ``lines`` are the text lines' polygons (flat ``x, y`` pairs) and ``angle`` the text's
    angle in degrees clockwise: the search runs on the page turned upright, so that a figure
    on a scan turned by a few degrees is found as the box it is."""
    if not lines:
        return []
    h, w = bgr.shape[:2]
    scale = min(1.0, _WORK_SIDE / max(h, w, 1))
    size = (max(round(w * scale), 1), max(round(h * scale), 1))
    small = np.asarray(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    gray = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    chroma = np.asarray(small.max(axis=2) - small.min(axis=2), dtype=np.uint8)
    to_small = np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]])
    # Ink is told from the paper around it before the page is turned: the white corners a
    # turn adds would be taken for the paper of a photographed page, greyer than white, and
    # all of that page for ink.
    ink = _ink(gray, chroma)
    if abs(angle) >= _MIN_TURN:
        turned, to_small_turned = turn_upright(gray, angle, to_small)
        ink, _ = turn_upright(ink, angle, to_small, border=0)
        gray, to_small = turned, to_small_turned
    polys = [
        _apply(to_small, np.asarray(p, dtype=np.float64).reshape(-1, 2))
        for p in lines
        if len(p) >= 8
    ]
    heights = [_height(p) for p in polys]
    line_height = float(np.median(heights)) if heights else 0.0
    if line_height <= 0:
        return []
    text = np.zeros_like(ink)
    margin = _TEXT_MARGIN * line_height
    for p in polys:
        (cx, cy), (rw, rh), turn = cv2.minAreaRect(p.astype(np.float32))
        grown = cv2.boxPoints(((cx, cy), (rw + 2 * margin, rh + 2 * margin), turn))
        cv2.fillPoly(text, [np.round(grown).astype(np.int32)], 1)
    # Solid areas are measured with the text still on them.
    fills = np.asarray(ink.copy(), dtype=np.uint8)
    ink[text > 0] = 0
    # What is drawn: edges that are neither text nor rules. A region of rules and flat tints
    # alone (a table's grid and shaded header, a box's frame and fill) is no figure, but a
    # chart's axes and a picture's frame belong to the figure they bound.
    square = np.ones((3, 3), dtype=np.uint8)
    edges = np.asarray(
        (cv2.dilate(gray, square).astype(np.int16) - cv2.erode(gray, square)) >= _MIN_INK,
        dtype=np.uint8,
    )
    # Rules are found before the text is wiped out: wiping a cell's text cuts a table's rules
    # into short pieces.
    rules = _rules(edges, line_height)
    drawn = edges.copy()
    drawn[(text > 0) | rules] = 0
    # Solid shapes with no text on them (a chart's bars) are drawn too; a tint behind text
    # (a table's header row, a shaded box) is not.
    drawn[_bare_fills(fills, edges, polys, line_height)] = 1
    close = max(round(_CLOSE * line_height), 1)
    regions = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((close, close), dtype=np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(regions, connectivity=8)
    # A rule that spans only part of its region (a frame's edge among others, an arrow
    # between them: a diagram of boxes) is drawn; one across it (a table's grid, a chart's
    # axis, a box's frame) is not.
    partial = _partial_rules(
        rules, np.asarray(labels, np.int32), np.asarray(stats, np.int32), text > 0
    )
    drawn[partial & (text == 0)] = 1
    drawn_in = np.bincount(labels.reshape(-1), weights=drawn.reshape(-1), minlength=count)
    # A picture's shades vary across it; a tint is one flat shade (measured away from edges:
    # a rule or a letter beside a tint is no shade of it).
    spread = _spread(np.asarray(labels, dtype=np.int32), count, gray, _solid(ink, edges))
    back = np.asarray(cv2.invertAffineTransform(to_small), dtype=np.float64)
    boxes = [cv2.boundingRect(p.astype(np.float32)) for p in polys]
    found: list[tuple[int, int, int, int]] = []
    min_side = _MIN_SIDE * line_height
    for k in range(1, count):
        x, y, bw, bh = (int(v) for v in stats[k, :4])
        short, long = sorted((bw, bh))
        if short < min_side and not (
            short >= _MIN_ROW_SIDE * line_height and long >= _MIN_ROW_LENGTH * line_height
        ):
            continue
        # What runs off the image is the desk or the room around a photographed page.
        if x == 0 or y == 0 or x + bw == gray.shape[1] or y + bh == gray.shape[0]:
            continue
        held = [
            (tw, th)
            for tx, ty, tw, th in boxes
            if x <= tx + tw / 2 <= x + bw and y <= ty + th / 2 <= y + bh
        ]
        # A figure holds a few labels; a form's or a box's frame holds fields and prose.
        prose = sum(1 for tw, th in held if tw >= _PROSE_ASPECT * th)
        if len(held) > _MAX_LABELS or prose > _MAX_PROSE:
            continue
        if sum(tw * th for tw, th in held) > _MAX_TEXT * bw * bh:
            continue
        # Drawn strokes or varying shades make a figure; a box, a tint or a table's grid do
        # not.
        if drawn_in[k] < _MIN_DRAWN * line_height**2 and spread[k] < _MIN_SPREAD:
            continue
        found.append((x, y, x + bw, y + bh))
    # A chart's axes and a diagram's frames (rules alone, no figure of their own) belong to the
    # figure they lie beside, within a few lines (or half its side) of it.
    reach = _AXIS_REACH * line_height
    middles = [(tx + tw / 2, ty + th / 2) for tx, ty, tw, th in boxes]
    extended = list(found)
    for k in range(1, count):
        if drawn_in[k] >= _MIN_DRAWN * line_height**2:
            continue
        x, y, bw, bh = (int(v) for v in stats[k, :4])
        for n, (x0, y0, x1, y1) in enumerate(found):
            rx, ry = max(reach, _AXIS_SHARE * (x1 - x0)), max(reach, _AXIS_SHARE * (y1 - y0))
            if not (x0 - rx <= x and y0 - ry <= y and x + bw <= x1 + rx and y + bh <= y1 + ry):
                continue
            # Text between them (a heading, a table's row under a picture) sets a rule apart
            # from the figure; an axis has its labels outside it.
            g = (min(x0, x), min(y0, y), max(x1, x + bw), max(y1, y + bh))
            if not any(
                g[0] <= cx <= g[2]
                and g[1] <= cy <= g[3]
                and not (x0 <= cx <= x1 and y0 <= cy <= y1)
                for cx, cy in middles
            ):
                extended[n] = (
                    min(extended[n][0], g[0]),
                    min(extended[n][1], g[1]),
                    max(extended[n][2], g[2]),
                    max(extended[n][3], g[3]),
                )
            break
    out: list[Quad] = []
    for x0, y0, x1, y1 in extended:
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
        q = [float(v) for v in _apply(back, corners).reshape(-1)]
        out.append((q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]))
    return out


def _partial_rules(
    rules: npt.NDArray[np.bool_],
    labels: npt.NDArray[np.int32],
    stats: npt.NDArray[np.int32],
    text: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """The pixels of ``rules`` whose straight piece spans at most ``_PARTIAL_RULE`` of the
    region of ``labels`` (with ``stats``) it lies in, both ways, in regions that no rule
    spans. A piece that lies mostly on ``text`` is a line of words (beside an arrow), no
    rule across anything."""
    count, pieces, piece_stats, _ = cv2.connectedComponentsWithStats(
        np.asarray(rules, dtype=np.uint8), connectivity=8
    )
    on_text = np.bincount(pieces.reshape(-1), weights=text.reshape(-1), minlength=count)
    keep = np.zeros(count, dtype=np.bool_)
    region_of = np.zeros(count, dtype=np.int64)
    crossed: set[int] = set()
    for k in range(1, count):
        x, y, w, h, area = (int(v) for v in piece_stats[k])
        if on_text[k] > _ON_TEXT * area:
            continue
        under = labels[y : y + h, x : x + w][pieces[y : y + h, x : x + w] == k]
        under = under[under > 0]
        if not len(under):
            continue
        region = int(np.bincount(under).argmax())
        rw, rh = int(stats[region, 2]), int(stats[region, 3])
        region_of[k] = region
        keep[k] = w <= _PARTIAL_RULE * rw and h <= _PARTIAL_RULE * rh
        if not keep[k]:
            crossed.add(region)
    # A region with a rule across it is a table or a box, whatever pieces it holds besides.
    keep &= ~np.isin(region_of, list(crossed))
    partial: npt.NDArray[np.bool_] = keep[pieces]
    return partial


def _solid(ink: UInt8Array, edges: UInt8Array) -> npt.NDArray[np.bool_]:
    """Ink away from edges, thin strokes left out (a rule softened by turning a scan, too
    faint to count as an edge, is no area of shade)."""
    core = np.asarray((ink > 0) & (edges == 0), dtype=np.uint8)
    eroded = np.asarray(cv2.erode(core, np.ones((3, 3), dtype=np.uint8)))
    return np.asarray(eroded > 0, dtype=np.bool_)


def _bare_fills(
    ink: UInt8Array, edges: UInt8Array, polys: list[npt.NDArray[np.float64]], line_height: float
) -> npt.NDArray[np.bool_]:
    """The pixels of solid areas of ``ink`` (text not wiped out) at least ``_MIN_FILL_SIDE``
    of a line height wide and tall, of ``_MIN_FILL`` square line heights, that no text line's
    middle lies on."""
    fill = np.asarray(_solid(ink, edges), dtype=np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fill, connectivity=8)
    keep = np.zeros(count, dtype=np.bool_)
    middles = [p.mean(axis=0) for p in polys]
    side = _MIN_FILL_SIDE * line_height
    for k in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[k])
        if w < side or h < side or area < _MIN_FILL * line_height**2:
            continue
        keep[k] = not any(x <= mx <= x + w and y <= my <= y + h for mx, my in middles)
    bare: npt.NDArray[np.bool_] = keep[labels]
    return bare


def _spread(
    labels: npt.NDArray[np.int32], count: int, gray: UInt8Array, mask: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """The standard deviation of ``gray`` over the ``mask`` pixels of each labelled region."""
    flat = labels.reshape(-1)
    weight = mask.reshape(-1).astype(np.float64)
    shade = gray.reshape(-1).astype(np.float64)
    n = np.maximum(np.bincount(flat, weights=weight, minlength=count), 1.0)
    mean = np.bincount(flat, weights=weight * shade, minlength=count) / n
    square = np.bincount(flat, weights=weight * shade**2, minlength=count) / n
    spread: npt.NDArray[np.float64] = np.sqrt(np.maximum(square - mean**2, 0.0))
    return spread


def _ink(gray: UInt8Array, chroma: UInt8Array) -> UInt8Array:
    """1 where the page is darker than its paper around it, or coloured; else 0. The paper's
    brightness is measured per tile (its bright end), and a tile covered by a picture takes
    its neighbours' paper instead (a median over the tiles around it)."""
    h, w = gray.shape
    rows = np.linspace(0, h, _TILES + 1).astype(int)
    cols = np.linspace(0, w, _TILES + 1).astype(int)
    paper = np.zeros((_TILES, _TILES), dtype=np.float32)
    for r in range(_TILES):
        for c in range(_TILES):
            tile = gray[rows[r] : rows[r + 1], cols[c] : cols[c + 1]]
            paper[r, c] = np.percentile(tile, 90) if tile.size else 255
    paper = cv2.medianBlur(np.clip(paper, 0, 255).astype(np.uint8), 3).astype(np.float32)
    level = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    dark = (level - gray.astype(np.float32)) >= _MIN_INK
    coloured = chroma >= _MIN_CHROMA
    return np.asarray(dark | coloured, dtype=np.uint8)


def _rules(edges: UInt8Array, line_height: float) -> npt.NDArray[np.bool_]:
    """Long straight horizontal and vertical runs of ``edges`` (rules, a box's frame or a
    tint's edge, a table's grid, a chart's axes)."""
    length = max(round(_RULE_LENGTH * line_height), 3)
    # A noisy scan breaks a rule's edge here and there: short gaps are bridged first.
    gap = max(round(_RULE_GAP * line_height), 1)
    runs = []
    for along in ((1, gap), (gap, 1)):
        bridged = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones(along, dtype=np.uint8))
        kernel = np.ones((1, length) if along[0] == 1 else (length, 1), dtype=np.uint8)
        runs.append(np.asarray(cv2.morphologyEx(bridged, cv2.MORPH_OPEN, kernel)) > 0)
    # A soft rule shows as two edges side by side, and a turned one wanders by a pixel.
    found = np.asarray(runs[0] | runs[1], dtype=np.uint8)
    grown = np.asarray(cv2.dilate(found, np.ones((3, 3), dtype=np.uint8)))
    return np.asarray(grown > 0, dtype=np.bool_)


def _apply(
    matrix: npt.NDArray[np.float64], points: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _height(quad: npt.NDArray[np.float64]) -> float:
    """A text line's height: the shorter side of its rotated rectangle."""
    (_, _), (rw, rh), _ = cv2.minAreaRect(quad.astype(np.float32))
    return float(min(rw, rh))
