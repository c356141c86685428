"""Stage 2, orientation: which way the page's text runs, and its lines as upright crops.

Every detected line's axis (mod 180 degrees) is measured from its quad (:func:`line_axes`);
the page axis is their length-weighted circular mean, which also gives the small skew
(:func:`dominant_axis`). :func:`cut_lines` crops each line along the page axis from the
*original* image (full resolution, so small print keeps its detail), cut where it bridges a
blank gap much wider than a word space when asked (:mod:`emulator.engine.gaps`). Whether the
text reads along that axis or upside down is decided once per page by :func:`vote`, from a
sample of the longest lines read both ways (the per-line angle classifier flips long upright
lines, see issue 4). Lines across the page axis (a vertical label) are decided one by one the
same way (:func:`read_across`).

The line crops are read by the recognition stage (:mod:`emulator.engine.recognition`), handed
in as a :data:`~emulator.engine.recognition.Reader`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

import cv2
import numpy as np
import numpy.typing as npt

from emulator.engine import gaps
from emulator.engine.frame import along, down
from emulator.engine.recognition import Reader, RecLine

__all__ = [
    "Across",
    "Orientation",
    "Pieces",
    "Turn",
    "crop_line",
    "cut_lines",
    "dist",
    "dominant_axis",
    "line_axes",
    "normalise_angle",
    "order_quad",
    "read_across",
    "rot180",
    "vote",
]

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]

# Lines at least this elongated have a trustworthy axis; shorter boxes (a digit, a bullet)
# follow the page.
_AXIS_ASPECT = 2.0
# Lines at least this elongated are long enough for their box angle to measure skew.
_SKEW_ASPECT = 4.0
# Lines detected shorter than this share of the page's median line height are cropped with
# that much height (the output polygon stays as detected).
_MIN_CROP_HEIGHT = 0.6
# Width of the piece of each sampled line that is read both ways, in line heights.
_HEAD_ASPECT = 8.0
# How many of the longest lines vote on "upright or upside down".
_FLIP_SAMPLE = 3
# The upside-down reading must beat the upright one by this much mean confidence to flip the
# page, so a page of low-contrast text is not turned over by noise.
_FLIP_MARGIN = 0.05


@dataclass(frozen=True, slots=True)
class Orientation:
    """The page's reading direction: ``angle`` degrees clockwise in [-180, 180)."""

    angle: float

    @property
    def along(self) -> FloatArray:
        """Unit vector in the direction the text is read."""
        return along(self.angle)

    @property
    def down(self) -> FloatArray:
        """Unit vector from a line to the next one (the text's "down")."""
        return down(self.angle)


@dataclass(frozen=True, slots=True)
class Pieces:
    """The page's lines along its axis as upright crops (:func:`cut_lines`), with what the
    rest of the stage needs of the detected quads."""

    #: The page's text axis in degrees, [-90, 90).
    axis: float
    #: Each piece's quad, ``(4, 2)`` clockwise from its text's top-left as read.
    polys: list[FloatArray]
    #: Each piece's upright crop of the original image.
    crops: list[UInt8Array]
    #: Each piece's length along the text, px.
    lengths: list[float]
    #: The detected quads, ``(N, 4, 2)``, and each one's own axis (:func:`line_axes`).
    quads: FloatArray
    axes: FloatArray
    #: The indices of the quads that run across the page axis (read by :func:`read_across`).
    across: npt.NDArray[np.intp]
    seconds: float = 0.0

    def turned(self) -> Pieces:
        """The pieces read the other way round: each crop turned half round and each quad
        starting at its old bottom-right."""
        return Pieces(
            self.axis,
            [_rot_poly180(p) for p in self.polys],
            [rot180(c) for c in self.crops],
            self.lengths,
            self.quads,
            self.axes,
            self.across,
            self.seconds,
        )


@dataclass(frozen=True, slots=True)
class Turn:
    """The vote's outcome (:func:`vote`): the page's orientation, whether that is its axis
    turned half round, and the seconds the vote took (reading the sample upside down)."""

    orientation: Orientation
    upside_down: bool
    seconds: float


@dataclass(frozen=True, slots=True)
class Across:
    """The lines across the page axis as :func:`read_across` keeps them: each one's quad,
    crop and reading in its likelier direction, and the seconds that took."""

    polys: list[FloatArray]
    crops: list[UInt8Array]
    recs: list[RecLine]
    seconds: float


def cut_lines(bgr: UInt8Array, quads: FloatArray, *, split_gaps: bool = False) -> Pieces:
    """The lines of ``bgr`` detected as ``quads`` that run along the page's axis, each
    cropped upright as read along it (a short box follows the page exactly; a line shorter
    than the page's typical height is cropped with more, see :func:`_with_min_height`). With
    ``split_gaps``, a line is cut where it bridges a wide blank gap (:func:`gaps.pieces`)."""
    start = time.perf_counter()
    axes, lengths, aspects = line_axes(quads)
    page_axis = dominant_axis(axes, lengths, aspects)
    # Offset of each line's own axis from the page axis, in [-90, 90).
    offsets = (axes - page_axis + 90.0) % 180.0 - 90.0
    across = (np.abs(offsets) > 45.0) & (aspects >= _AXIS_ASPECT)
    # Short boxes have no reliable axis of their own: they follow the page exactly.
    offsets = np.where(aspects >= _AXIS_ASPECT, offsets, 0.0)

    whole = [order_quad(quads[i], page_axis + offsets[i]) for i in range(len(quads))]
    heights = [_poly_height(whole[i]) for i in range(len(quads)) if not across[i]]
    typical = median(heights) if heights else 0.0
    polys: list[FloatArray] = []
    crops: list[UInt8Array] = []
    piece_lengths: list[float] = []
    for i in range(len(quads)):
        if across[i]:
            continue
        crop = crop_line(bgr, _with_min_height(whole[i], typical))
        cuts = gaps.pieces(crop) if split_gaps else [(0, crop.shape[1])]
        for first, stop in cuts:
            poly = _sub_quad(whole[i], first / crop.shape[1], stop / crop.shape[1])
            # A box that reached into its neighbour's first or last letter leaves that
            # letter as a piece of its own, inside the neighbour's box: dropped.
            if len(cuts) > 1 and _inside_another(poly.mean(axis=0), quads, i):
                continue
            polys.append(poly)
            crops.append(np.ascontiguousarray(crop[:, first:stop]))
            piece_lengths.append(dist(poly[0], poly[1]))
    return Pieces(
        page_axis,
        polys,
        crops,
        piece_lengths,
        quads,
        axes,
        np.flatnonzero(across),
        time.perf_counter() - start,
    )


def vote(pieces: Pieces, upright: Sequence[RecLine], read: Reader) -> Turn:
    """Whether the page reads along its axis or upside down, from ``upright`` (the pieces
    read as cropped).

    The vote reads the longest lines upright (needed anyway) and only the head of each upside
    down: a few words are as telling as the whole line, at a fraction of the cost. When the
    upright reading is so confident that no flipped one could beat it by the margin, the
    heads are not read at all (the same decision, for free)."""
    start = time.perf_counter()
    order = sorted(range(len(pieces.crops)), key=lambda i: -pieces.lengths[i])
    sample = order[:_FLIP_SAMPLE]
    up_score = _mean([upright[i].score for i in sample])
    flip_score = 0.0
    if up_score + _FLIP_MARGIN < 1.0:
        heads = [rot180(_head(pieces.crops[i])) for i in sample]
        flip_score = _mean([r.score for r in read(heads)])
    flip = flip_score > up_score + _FLIP_MARGIN
    angle = normalise_angle(pieces.axis + 180.0) if flip else pieces.axis
    return Turn(Orientation(angle), flip, time.perf_counter() - start)


def read_across(bgr: UInt8Array, pieces: Pieces, read: Reader) -> Across:
    """The lines perpendicular to the page's text: each read both ways, the likelier kept."""
    start = time.perf_counter()
    idx = pieces.across
    if len(idx) == 0:
        return Across([], [], [], time.perf_counter() - start)
    polys = [order_quad(pieces.quads[i], float(pieces.axes[i])) for i in idx]
    crops = [crop_line(bgr, p) for p in polys]
    flipped = [rot180(c) for c in crops]
    recs = read(crops + flipped)
    n = len(polys)
    kept_polys: list[FloatArray] = []
    kept_crops: list[UInt8Array] = []
    kept_recs: list[RecLine] = []
    for k in range(n):
        forward, backward = recs[k], recs[n + k]
        if backward.score > forward.score:
            kept_polys.append(_rot_poly180(polys[k]))
            kept_crops.append(flipped[k])
            kept_recs.append(backward)
        else:
            kept_polys.append(polys[k])
            kept_crops.append(crops[k])
            kept_recs.append(forward)
    return Across(kept_polys, kept_crops, kept_recs, time.perf_counter() - start)


# -- geometry (pure) ------------------------------------------------------------------------


def line_axes(quads: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per quad: the axis angle of its long side in degrees, [-90, 90), clockwise positive;
    the long side's length; and the long/short side ratio."""
    e0 = (quads[:, 1] - quads[:, 0] + quads[:, 2] - quads[:, 3]) / 2
    e1 = (quads[:, 2] - quads[:, 1] + quads[:, 3] - quads[:, 0]) / 2
    l0 = np.hypot(e0[:, 0], e0[:, 1])
    l1 = np.hypot(e1[:, 0], e1[:, 1])
    long_vec = np.where((l0 >= l1)[:, None], e0, e1)
    long_len = np.maximum(l0, l1)
    short_len = np.maximum(np.minimum(l0, l1), 1e-6)
    angles = np.degrees(np.arctan2(long_vec[:, 1], long_vec[:, 0]))
    angles = (angles + 90.0) % 180.0 - 90.0
    return angles, long_len, long_len / short_len


def dominant_axis(axes: FloatArray, lengths: FloatArray, aspects: FloatArray) -> float:
    """The page's text axis in [-90, 90).

    Measured as the length-weighted circular mean (angles doubled, since an axis has no
    direction) of the long lines' axes, which also gives the skew. The angle of a short box
    (a word or two) is too noisy for skew, so a page of only short boxes gets their axis
    snapped to a multiple of 90 degrees; 0 when nothing is elongated at all.
    """
    mask = aspects >= _SKEW_ASPECT
    snap = not mask.any()
    if snap:
        mask = aspects >= _AXIS_ASPECT
        if not mask.any():
            return 0.0
    doubled = np.radians(axes[mask] * 2.0)
    weights = lengths[mask]
    y = float((np.sin(doubled) * weights).sum())
    x = float((np.cos(doubled) * weights).sum())
    angle = math.degrees(math.atan2(y, x)) / 2.0
    if snap:
        angle = 90.0 * round(angle / 90.0)
    return (angle + 90.0) % 180.0 - 90.0


def order_quad(quad: FloatArray, angle: float) -> FloatArray:
    """Reorder a quad's corners to start at the text's top-left for text read at ``angle``
    degrees clockwise, then clockwise (top-right, bottom-right, bottom-left)."""
    o = Orientation(angle)
    u = quad @ o.along
    v = quad @ o.down
    by_u = np.argsort(u, kind="stable")
    left, right = by_u[:2], by_u[2:]
    tl, bl = (left[0], left[1]) if v[left[0]] <= v[left[1]] else (left[1], left[0])
    tr, br = (right[0], right[1]) if v[right[0]] <= v[right[1]] else (right[1], right[0])
    return np.asarray(quad[[tl, tr, br, bl]], dtype=np.float64)


def crop_line(bgr: UInt8Array, poly: FloatArray) -> UInt8Array:
    """The line as an upright image: ``poly``'s top-left maps to the crop's top-left."""
    width = max(round(max(dist(poly[0], poly[1]), dist(poly[3], poly[2]))), 1)
    height = max(round(max(dist(poly[0], poly[3]), dist(poly[1], poly[2]))), 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(poly.astype(np.float32), target)
    crop = cv2.warpPerspective(
        bgr, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    return np.asarray(crop, dtype=np.uint8)


def _poly_height(poly: FloatArray) -> float:
    return max(dist(poly[0], poly[3]), dist(poly[1], poly[2]))


def _with_min_height(poly: FloatArray, typical: float) -> FloatArray:
    """``poly`` grown about its middle line to ``_MIN_CROP_HEIGHT`` of the page's typical line
    height. A lone dash or dot detected tight reaches the recogniser blown up to a blob; with a
    line's height around it, it keeps the proportions the model was trained on. Only the
    crop grows (horizontal positions, hence word boxes, are unchanged)."""
    height = _poly_height(poly)
    target = _MIN_CROP_HEIGHT * typical
    if height <= 0 or height >= target:
        return poly
    grow = (target - height) / 2
    left = (poly[3] - poly[0]) / max(dist(poly[0], poly[3]), 1e-6) * grow
    right = (poly[2] - poly[1]) / max(dist(poly[1], poly[2]), 1e-6) * grow
    return np.stack([poly[0] - left, poly[1] - right, poly[2] + right, poly[3] + left])


def _inside_another(point: FloatArray, quads: FloatArray, own: int) -> bool:
    """Whether ``point`` lies inside any of ``quads`` but the ``own``-th."""
    where = (float(point[0]), float(point[1]))
    return any(
        cv2.pointPolygonTest(quad.astype(np.float32), where, False) > 0
        for j, quad in enumerate(quads)
        if j != own
    )


def _sub_quad(poly: FloatArray, start: float, stop: float) -> FloatArray:
    """The part of the quad ``poly`` (clockwise from its top-left) between the fractions
    ``start`` and ``stop`` of its length."""
    top = poly[0] + np.outer([start, stop], poly[1] - poly[0])
    bottom = poly[3] + np.outer([stop, start], poly[2] - poly[3])
    return np.asarray(np.concatenate([top, bottom]), dtype=np.float64)


def dist(a: FloatArray, b: FloatArray) -> float:
    """The distance between the points ``a`` and ``b``."""
    return float(np.hypot(*(a - b)))


def _head(crop: UInt8Array) -> UInt8Array:
    """The first ``_HEAD_ASPECT`` heights of a line crop (a few words)."""
    width = int(crop.shape[0] * _HEAD_ASPECT)
    return crop if crop.shape[1] <= width else np.ascontiguousarray(crop[:, :width])


def rot180(img: UInt8Array) -> UInt8Array:
    """``img`` turned half round."""
    return np.ascontiguousarray(img[::-1, ::-1])


def _rot_poly180(poly: FloatArray) -> FloatArray:
    # Reading the crop upside down: its top-left is the old bottom-right.
    return np.asarray(poly[[2, 3, 0, 1]], dtype=np.float64)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def normalise_angle(angle: float) -> float:
    """Into the service's range [-180, 180)."""
    return (angle + 180.0) % 360.0 - 180.0
