"""The page's reading frame: the direction its text runs in, and how its lines bend.

Reading order (:mod:`emulator.engine.layout`) works on axis-aligned boxes in a frame where text
runs left to right and lines follow each other downwards. Turning the page by its text angle
gives that frame for a flat page. A photo of a book's curved page is not flat: its lines bend
(rising towards the spine), so in the turned frame a long line's box is tall, boxes of
neighbouring lines overlap, and lines of one column seem to swap places.

:meth:`ReadingFrame.fit` follows the lines instead. Each line the detector found is a straight
quad along the text; its slope is the mean slope of the page's bend over the stretch it
covers. The bend is modelled as a displacement ``d(u, v)``: a cubic across the page (a page curves
from the spine to the edge) whose tilt and bow may change down the page (a photo taken at a
slant, where lines near the camera run flatter), fitted by least squares to every long
line's rise ``d(u1, v) - d(u0, v) = slope * (u1 - u0)``, weighted by length. Boxes are then
measured with ``v - d(u, v)``. On a flat or merely turned page the fit is a plain tilt and
nothing changes: a bend is applied only when it moves some line by more than a quarter of a
line height beyond the best single tilt.

A photo taken at a slant also shears the page: its lines run level in the turned frame, but
the edges of its columns lean, so a column's lines start further left the lower they are, and
a narrow gutter closes. The shear is the lean under which the lines' left edges line up best
(most pairs of lines start at one place); it is taken out of ``u`` when it lines them up far
better than none does.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ReadingFrame", "along", "down"]

FloatArray = npt.NDArray[np.float64]
Polygon = Sequence[float]
Box = tuple[float, float, float, float]

# Lines at least this many heights long tell the bend (short ones' slopes are noise).
_MIN_ASPECT = 4.0
# A bend is applied when it moves some line by more than this share of a line height.
_MIN_BEND = 0.25
# Long lines' slopes must spread (weighted standard deviation) by more than this for a bend:
# on flat generated pages, scanned or clean, the detector's own spread stays under 0.0063.
_MIN_SPREAD = 0.0065
# The bend's fit must leave at most this share of what one tilt leaves unexplained.
_EXPLAINED = 0.5
# Lines needed to fit a bend.
_MIN_LINES = 12
# Shears tried (``u`` moved by this much per unit of ``v``), and the step between them.
_MAX_SHEAR = 0.08
_SHEAR_STEP = 0.002
# Left edges within this share of a line height start at one place.
_EDGE_TOLERANCE = 0.3
# A shear is applied when it lines up this many times the pairs of edges that none does, and
# is at least this steep (the detector's own spread stays below it).
_SHEAR_GAIN = 1.5
_MIN_SHEAR = 0.006


def along(angle: float) -> FloatArray:
    """Unit vector in the direction text turned by ``angle`` degrees (clockwise) is read."""
    rad = math.radians(angle)
    return np.array([math.cos(rad), math.sin(rad)])


def down(angle: float) -> FloatArray:
    """Unit vector from one such line to the next (the text's "down")."""
    rad = math.radians(angle)
    return np.array([-math.sin(rad), math.cos(rad)])


# The bend's terms in t (across) and s (down), both scaled to [-1, 1]: d = sum c * t**i * s**j.
_TERMS = ((1, 0), (2, 0), (3, 0), (1, 1), (2, 1))


@dataclass(frozen=True, slots=True)
class ReadingFrame:
    """The reading frame of a page turned by ``angle`` degrees (clockwise), with its lines'
    bend ``d(u, v) = sum(c * t**i * s**j)`` over :data:`_TERMS`, where ``t`` and ``s`` are
    ``u`` and ``v`` scaled to [-1, 1] over the page's lines (``origin``, ``scale``)."""

    angle: float
    bend: tuple[float, ...] = ()
    origin: tuple[float, float] = (0.0, 0.0)
    scale: tuple[float, float] = (1.0, 1.0)
    shear: float = 0.0

    @property
    def along(self) -> FloatArray:
        return along(self.angle)

    @property
    def down(self) -> FloatArray:
        return down(self.angle)

    def points(self, polygon: Polygon) -> tuple[FloatArray, FloatArray]:
        """``polygon``'s points in the frame: ``(u, v)``, the bend taken out of ``v``."""
        pts = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        u = pts @ self.along
        v = pts @ self.down
        if self.bend:
            v = v - self.displacement(u, v)
        if self.shear:
            u = u - self.shear * v
        return u, v

    def box(self, polygon: Polygon) -> Box:
        """``polygon``'s axis-aligned box in the frame."""
        u, v = self.points(polygon)
        return (float(u.min()), float(v.min()), float(u.max()), float(v.max()))

    def displacement(self, u: FloatArray, v: FloatArray) -> FloatArray:
        t = (u - self.origin[0]) / self.scale[0]
        s = (v - self.origin[1]) / self.scale[1]
        shift: FloatArray = _terms(t, s) @ np.asarray(self.bend, dtype=np.float64)
        return shift

    @staticmethod
    def fit(polygons: Sequence[Polygon], angle: float) -> ReadingFrame:
        """The frame for lines ``polygons`` (clockwise from their top-left as read) on a page
        turned by ``angle``; with a bend when the lines show one, and a shear when their
        left edges lean."""
        frame = ReadingFrame._fit_bend(polygons, angle)
        shear = _fit_shear(polygons, frame)
        return dataclasses.replace(frame, shear=shear) if shear else frame

    @staticmethod
    def _fit_bend(polygons: Sequence[Polygon], angle: float) -> ReadingFrame:
        flat = ReadingFrame(angle)
        found: list[tuple[float, float, float, float, float]] = []
        for polygon in polygons:
            if len(polygon) != 8:
                continue
            u, v = flat.points(polygon)
            left, right = (u[0] + u[3]) / 2, (u[1] + u[2]) / 2
            length = right - left
            height = ((v[3] - v[0]) + (v[2] - v[1])) / 2
            if height <= 0 or length < _MIN_ASPECT * height:
                continue
            slope = ((v[1] - v[0]) + (v[2] - v[3])) / ((u[1] - u[0]) + (u[2] - u[3]))
            found.append((float(left), float(right), float(v.mean()), float(slope), float(height)))
        if len(found) < _MIN_LINES:
            return flat
        lines = np.asarray(found)
        # The detector's boxes tilt by a few tenths of a degree on any page; a bend shows as
        # slopes that spread much wider.
        slopes, lengths = lines[:, 3], lines[:, 1] - lines[:, 0]
        mean = float(np.average(slopes, weights=lengths))
        if float(np.sqrt(np.average((slopes - mean) ** 2, weights=lengths))) < _MIN_SPREAD:
            return flat
        lo, hi = lines[:, 0].min(), lines[:, 1].max()
        top, bottom = lines[:, 2].min(), lines[:, 2].max()
        origin = ((lo + hi) / 2, (top + bottom) / 2)
        scale = (max((hi - lo) / 2, 1.0), max((bottom - top) / 2, 1.0))
        t0 = (lines[:, 0] - origin[0]) / scale[0]
        t1 = (lines[:, 1] - origin[0]) / scale[0]
        s = (lines[:, 2] - origin[1]) / scale[1]
        a = _terms(t1, s) - _terms(t0, s)
        rises = lines[:, 3] * (lines[:, 1] - lines[:, 0])
        w = np.sqrt(lines[:, 1] - lines[:, 0])
        coef, *_ = np.linalg.lstsq(a * w[:, None], rises * w, rcond=None)
        # Lines the bend does not explain (a label set at a slant, a box the detector drew
        # badly) are left out of a second fit.
        miss = np.abs(a @ coef - rises)
        keep = miss <= 3.0 * float(np.median(miss)) + 1.0
        if int(keep.sum()) < _MIN_LINES:
            return flat
        a, rises, w = a[keep], rises[keep], w[keep]
        coef, *_ = np.linalg.lstsq(a * w[:, None], rises * w, rcond=None)
        # The bend must explain the lines' slopes far better than one tilt of the whole page
        # (on a flat page what it finds is the detector's noise)...
        tilt_only, *_ = np.linalg.lstsq(a[:, :1] * w[:, None], rises * w, rcond=None)
        bent_miss = float(np.sum(((a @ coef - rises) * w) ** 2))
        tilt_miss = float(np.sum(((a[:, :1] @ tilt_only - rises) * w) ** 2))
        if bent_miss > _EXPLAINED * tilt_miss:
            return flat
        # ... and, beyond one tilt (the orientation's business), move a line by a fraction
        # of its height somewhere.
        # Measured where the lines are, not where a cubic runs wild beyond them.
        ends_t = np.concatenate([t0[keep], t1[keep]])
        ends_s = np.concatenate([s[keep], s[keep]])
        shift = _terms(ends_t, ends_s) @ coef
        tilt = float(ends_t @ shift) / max(float(ends_t @ ends_t), 1e-9)
        if float(np.abs(shift - tilt * ends_t).max()) < _MIN_BEND * float(np.median(lines[:, 4])):
            return flat
        return ReadingFrame(
            angle,
            tuple(float(c) for c in coef),
            (float(origin[0]), float(origin[1])),
            (float(scale[0]), float(scale[1])),
        )


def _fit_shear(polygons: Sequence[Polygon], frame: ReadingFrame) -> float:
    """The lean of the columns' edges in ``frame`` (0.0 when they stand upright): the shear
    under which most pairs of lines start within ``_EDGE_TOLERANCE`` of a line height of each
    other, when it lines up ``_SHEAR_GAIN`` times the pairs that no shear does."""
    boxes = [frame.box(p) for p in polygons if len(p) == 8]
    if len(boxes) < _MIN_LINES:
        return 0.0
    lefts = np.array([b[0] for b in boxes])
    middles = np.array([(b[1] + b[3]) / 2 for b in boxes])
    middles -= float(np.median(middles))
    tolerance = _EDGE_TOLERANCE * float(np.median([b[3] - b[1] for b in boxes]))
    shears = np.arange(-_MAX_SHEAR, _MAX_SHEAR + _SHEAR_STEP / 2, _SHEAR_STEP)

    def aligned(shear: float) -> int:
        edges = np.sort(lefts - shear * middles)
        # Pairs within the tolerance: for each edge, the edges after it up to edge + tolerance.
        return int(
            (np.searchsorted(edges, edges + tolerance, side="right") - 1).sum()
            - np.arange(len(edges)).sum()
        )

    scores = np.array([aligned(float(k)) for k in shears])
    best = int(np.argmax(scores))
    upright = aligned(0.0)
    if abs(float(shears[best])) < _MIN_SHEAR or scores[best] < _SHEAR_GAIN * max(upright, 1):
        return 0.0
    return float(shears[best])


def _terms(t: FloatArray, s: FloatArray) -> FloatArray:
    return np.stack([t**i * s**j for i, j in _TERMS], axis=-1)
