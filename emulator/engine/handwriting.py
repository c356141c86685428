"""Is a line handwritten? The style the service reports per line (``appearance.style``).

A small classifier over hand-crafted features of the line crop the engine already makes
(upright, original pixels): how even the strokes' width is, how the edges' directions spread
(a font's verticals are all one angle, a hand's are not), how the slant and the baseline
wander along the line, and how regular the letters and the gaps between them are. The crop is
normalised to :data:`HEIGHT` px high first, and the features are computed with OpenCV and
numpy: about 1.5 ms of CPU per line here (mostly numpy's per-call overhead; batching lines
would cut it), against about 130 ms for reading the line.

The model is a one-hidden-layer network whose weights ship beside this file
(``handwriting_model.json``); it was trained by ``training/handwriting/train.py`` on synthetic
pages from ``training/handwriting/make_data.py`` (Debian's handwriting and text fonts), and
its output is calibrated on font families it did not see, so the confidence (the probability
of the class reported) means what it says. Figures: docs/accuracy.md, "Handwriting".

:func:`restyle` is the engine's handwriting stage (stage 5 of :mod:`emulator.engine.rapid`):
each line's style, and the lines called handwriting read once more (the more confident reading
kept).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
import numpy.typing as npt

from emulator.engine import scripts

if TYPE_CHECKING:
    from emulator.engine.recognition import Reader, RecLine

__all__ = [
    "HEIGHT",
    "MIN_CHARS",
    "NOT_CLASSIFIED",
    "REREAD_HEIGHT",
    "Model",
    "Styled",
    "classify",
    "features",
    "is_latin_text",
    "load_model",
    "restyle",
]

StyleName = Literal["handwriting", "other"]
FloatArray = npt.NDArray[np.float64]

#: The height line crops are normalised to before features are measured, px.
HEIGHT = 32
# The longest stretch of a line that is looked at, in heights (a few words tell the style).
_MAX_ASPECT = 24
#: Lines of fewer characters than this (spaces aside) are not classified but reported as
#: ``other`` with confidence 0.5: the model was trained on lines of a few words, and on the real
#: printed pages of ../shared/eval most of its false alarms were table cells of 1-3 characters
#: (docs/accuracy.md, "Handwriting").
MIN_CHARS = 4
_MODEL_PATH = Path(__file__).with_name("handwriting_model.json")
_ORIENT_BINS = 12
_FINE_BINS = 36
_ZONE_BINS = 6
_KERNEL = np.ones((3, 3), np.uint8)


def _normalise(crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """The crop as ink coverage in [0, 1] (1 = ink), :data:`HEIGHT` px high: gray, resized,
    contrast stretched between its 2nd and 98th percentiles, dark-on-light or light-on-dark
    decided by which side is the minority."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape[:2]
    width = max(round(w * HEIGHT / max(h, 1)), 1)
    interpolation = cv2.INTER_AREA if h > HEIGHT else cv2.INTER_LINEAR
    small = cv2.resize(gray, (width, HEIGHT), interpolation=interpolation)
    small = small[:, : HEIGHT * _MAX_ASPECT]
    hist = np.cumsum(cv2.calcHist([small], [0], None, [256], [0, 256]).ravel())
    n = float(hist[-1])
    lo = float(np.searchsorted(hist, 0.02 * n))
    hi = float(np.searchsorted(hist, 0.98 * n))
    g = small.astype(np.float32)
    g -= lo
    g *= 1.0 / max(hi - lo, 1.0)
    np.clip(g, 0.0, 1.0, out=g)
    ink = 1.0 - g
    if float(np.count_nonzero(ink > 0.5)) > 0.5 * ink.size:
        ink = g
    return ink


def _entropy(p: FloatArray) -> float:
    q = p[p > 0]
    return float(-(q * np.log(q)).sum() / math.log(len(p)))


def _residual(values: FloatArray) -> float:
    """RMS distance of ``values`` from their least-squares line (0 for fewer than 3)."""
    n = len(values)
    if n < 3:
        return 0.0
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2
    v = values - values.mean()
    slope = float(x @ v) / float(x @ x)
    return float(np.sqrt(np.mean((v - slope * x) ** 2)))


def features(crop: npt.NDArray[np.uint8]) -> FloatArray:
    """The classifier's feature vector for one line crop (BGR or gray, any size)."""
    ink = _normalise(crop)
    h, w = ink.shape
    mask = np.asarray(cv2.threshold(ink, 0.5, 1.0, cv2.THRESH_BINARY)[1], dtype=np.uint8)
    rows = cv2.reduce(ink, 1, cv2.REDUCE_SUM, dtype=cv2.CV_64F).ravel()
    total = float(rows.sum()) or 1.0
    ink_share = total / ink.size
    cum = np.cumsum(rows) / total
    # The line's core: the rows holding the middle 70 % of its ink (about the x-height).
    top = int(np.searchsorted(cum, 0.15))
    bottom = int(np.searchsorted(cum, 0.85))
    core = float(max(bottom - top + 1, 2))

    # Stroke width along the strokes' middles (local maxima of the distance to background).
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    ridge = (dist >= cv2.dilate(dist, _KERNEL)) & (dist > 0)
    widths = np.sort(dist[ridge]).astype(np.float64) * 2.0
    nw = len(widths)
    if nw >= 5:
        sw_med = float(widths[nw // 2])
        sw_cv = float(widths.std() / max(float(widths.mean()), 1e-6))
        sw_spread = float((widths[(9 * nw) // 10] - widths[nw // 10]) / max(sw_med, 1e-6))
    else:
        sw_med, sw_cv, sw_spread = 0.0, 0.0, 0.0

    # Edge directions, over the pixels with a gradient worth the name: one histogram of
    # direction (mod 180 degrees, _FINE_BINS bins) per zone of the height (above the core,
    # the core, below it), weighted by gradient magnitude; the coarser ones are its sums.
    gx = cv2.Sobel(ink, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(ink, cv2.CV_32F, 0, 1, ksize=3)
    mag, degrees = cv2.cartToPolar(gx, gy, angleInDegrees=True)
    peak = float(mag.max()) or 1.0
    ey, ex = np.nonzero(mag > 0.1 * peak)
    emag = mag[ey, ex]
    turn = degrees[ey, ex] % 180.0
    fine_idx = np.minimum((turn * (_FINE_BINS / 180.0)).astype(np.int64), _FINE_BINS - 1)
    zone = (ey >= top).astype(np.int64) + (ey > bottom)
    # Weighted bincount of no edges at all (a blank crop) is int64: keep it float.
    counts_by_bin = np.bincount(
        zone * _FINE_BINS + fine_idx, weights=emag, minlength=3 * _FINE_BINS
    )
    hist = counts_by_bin.astype(np.float64).reshape(3, _FINE_BINS)
    fine = hist.sum(axis=0)
    fine /= max(float(fine.sum()), 1e-9)
    coarse = fine.reshape(_ORIENT_BINS, -1).sum(axis=1)
    zones = hist.reshape(3, _ZONE_BINS, -1).sum(axis=2)
    zones /= np.maximum(zones.sum(axis=1, keepdims=True), 1e-9)
    strong = emag > 0.5 * peak
    edge_share = float(np.count_nonzero(strong)) / mag.size

    # Slant per stretch of two heights: the mean direction of near-vertical strokes (strong
    # edges whose gradient is within 40 degrees of horizontal), as an angle from vertical.
    signed = (turn + 90.0) % 180.0 - 90.0
    near = strong & (np.abs(signed) < 40.0)
    blocks = ex[near] // (2 * HEIGHT)
    nblocks = w // (2 * HEIGHT) + 1
    counts = np.bincount(blocks, minlength=nblocks)
    sums = np.bincount(blocks, weights=signed[near], minlength=nblocks)
    enough = counts >= 8
    slant_arr = np.radians(sums[enough] / counts[enough]) if enough.any() else np.zeros(1)
    slant_mean = float(slant_arr.mean())
    slant_std = float(slant_arr.std())

    # Baseline and top line along the line: per stretch of one height, the rows under
    # which 10 % and 90 % of its ink lie, and how far they stray from a straight line.
    nblocks = -(-w // HEIGHT)
    padded = np.zeros((h, nblocks * HEIGHT), dtype=np.float32)
    padded[:, :w] = mask
    block_rows = padded.reshape(h, nblocks, HEIGHT).sum(axis=2)
    mass = block_rows.sum(axis=0)
    keep = mass >= 6
    cum_b = np.cumsum(block_rows[:, keep], axis=0) / np.maximum(mass[keep], 1.0)
    tops_arr = np.count_nonzero(cum_b < 0.1, axis=0).astype(np.float64)
    bases_arr = np.count_nonzero(cum_b < 0.9, axis=0).astype(np.float64)
    base_res = _residual(bases_arr) / core
    top_res = _residual(tops_arr) / core
    h_arr = bases_arr - tops_arr
    height_cv = float(h_arr.std() / max(float(h_arr.mean()), 1e-6)) if len(h_arr) > 1 else 0.0

    # Connected pieces of ink (letters, or whole words in joined-up writing).
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    comp = stats[1:]
    comp = comp[comp[:, cv2.CC_STAT_AREA] >= max(3, int(0.01 * core * core))].astype(np.float64)
    cols = np.asarray(padded[:, :w].any(axis=0), dtype=bool)
    filled = np.flatnonzero(cols)
    span = cols[int(filled[0]) : int(filled[-1]) + 1] if len(filled) else cols
    ink_w = float(max(len(span), 1))
    n_comp = len(comp)
    if n_comp >= 2:
        cw = comp[:, cv2.CC_STAT_WIDTH]
        ch = comp[:, cv2.CC_STAT_HEIGHT]
        cb = comp[:, cv2.CC_STAT_TOP] + ch
        comp_w = float(np.sort(cw)[n_comp // 2] / core)
        comp_w_cv = float(cw.std() / max(float(cw.mean()), 1e-6))
        comp_h_cv = float(ch.std() / max(float(ch.mean()), 1e-6))
        tall = cb[ch >= 0.5 * core]
        bottoms = tall if len(tall) >= 2 else cb
        dev = np.abs(bottoms - np.sort(bottoms)[len(bottoms) // 2])
        comp_base = float(np.sort(dev)[len(dev) // 2] / core)
        comp_fill = float((comp[:, cv2.CC_STAT_AREA] / np.maximum(cw * ch, 1.0)).mean())
    else:
        comp_w, comp_w_cv, comp_h_cv, comp_base, comp_fill = 1.0, 0.0, 0.0, 0.0, 0.0
    comp_density = n_comp * core / ink_w

    # Gaps between ink columns: how many, and how regular.
    edges = np.diff(np.concatenate([[1], span.astype(np.int8), [1]]))
    gaps = (np.flatnonzero(edges == 1) - np.flatnonzero(edges == -1)).astype(np.float64)
    n_gaps = len(gaps)
    gap_density = n_gaps * core / ink_w
    gap_share = float(gaps.sum()) / ink_w
    gap_cv = float(gaps.std() / max(float(gaps.mean()), 1e-6)) if n_gaps > 1 else 0.0
    small_gaps = gaps[gaps < 0.5 * core]
    small_gap_cv = (
        float(small_gaps.std() / max(float(small_gaps.mean()), 1e-6))
        if len(small_gaps) > 1
        else 0.0
    )

    # Row profile: a font's core is bounded by sharp steps at x-height and baseline.
    profile = rows / max(float(rows.max()), 1e-6)
    step_peak = float(np.abs(np.diff(profile)).max()) if h > 1 else 0.0

    scalars = np.array(
        [
            ink_share,
            core / h,
            sw_med / core,
            sw_cv,
            sw_spread,
            edge_share,
            _entropy(fine),
            float(fine.max()),
            slant_mean,
            slant_std,
            base_res,
            top_res,
            height_cv,
            comp_w,
            comp_w_cv,
            comp_h_cv,
            comp_base,
            comp_fill,
            comp_density,
            gap_density,
            gap_share,
            gap_cv,
            small_gap_cv,
            step_peak,
            math.log(max(w / h, 1.0)),
        ],
        dtype=np.float64,
    )
    return np.concatenate([scalars, coarse, zones.ravel()])


@dataclass(frozen=True)
class Model:
    """Standardisation, one hidden tanh layer and a logistic output, then temperature
    ``scale`` and ``bias`` on the logit (calibration)."""

    mean: FloatArray
    std: FloatArray
    w1: FloatArray
    b1: FloatArray
    w2: FloatArray
    b2: float
    scale: float = 1.0
    bias: float = 0.0

    def logits(self, x: FloatArray) -> FloatArray:
        z = (x - self.mean) / self.std
        hidden = np.tanh(z @ self.w1 + self.b1)
        return np.asarray((hidden @ self.w2 + self.b2) * self.scale + self.bias)

    def probability(self, x: FloatArray) -> FloatArray:
        """P(handwriting) per row of ``x``."""
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(self.logits(x), -40, 40))))

    def to_json(self) -> dict[str, object]:
        return {
            "features": len(self.mean),
            "height": HEIGHT,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "w1": self.w1.tolist(),
            "b1": self.b1.tolist(),
            "w2": self.w2.tolist(),
            "b2": self.b2,
            "scale": self.scale,
            "bias": self.bias,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Model:
        def arr(key: str) -> FloatArray:
            return np.asarray(data[key], dtype=np.float64)

        if data.get("height") != HEIGHT:
            raise ValueError("the handwriting model was trained for another crop height")
        return cls(
            mean=arr("mean"),
            std=arr("std"),
            w1=arr("w1"),
            b1=arr("b1"),
            w2=arr("w2"),
            b2=float(data["b2"]),  # type: ignore[arg-type]
            scale=float(data.get("scale", 1.0)),  # type: ignore[arg-type]
            bias=float(data.get("bias", 0.0)),  # type: ignore[arg-type]
        )


_lock = threading.Lock()
_model: Model | None = None


def load_model(path: Path = _MODEL_PATH) -> Model:
    """The shipped model, read once per process."""
    global _model
    with _lock:
        if _model is None or path != _MODEL_PATH:
            model = Model.from_json(json.loads(path.read_text()))
            if path != _MODEL_PATH:
                return model
            _model = model
        return _model


def classify(
    crops: Sequence[npt.NDArray[np.uint8]], model: Model | None = None
) -> list[tuple[StyleName, float]]:
    """``(style, confidence)`` per line crop: ``handwriting`` or ``other`` and the model's
    calibrated probability of that class."""
    if not crops:
        return []
    model = model or load_model()
    x = np.stack([features(c) for c in crops])
    p = model.probability(x)
    out: list[tuple[StyleName, float]] = []
    for value in p:
        prob = float(value)
        if prob >= 0.5:
            out.append(("handwriting", prob))
        else:
            out.append(("other", 1.0 - prob))
    return out


#: The height a line classified as handwriting is read again at, px: the recogniser's full
#: input height (PP-OCRv6's rec model was made for 48 px).
REREAD_HEIGHT = 48

#: The style of a line read by a script model: the service classifies Latin text only.
NOT_CLASSIFIED: tuple[StyleName, float] = ("other", 1.0)


@dataclass(frozen=True, slots=True)
class Styled:
    """The handwriting stage's output (:func:`restyle`)."""

    #: ``(style, confidence)`` per line along the page.
    styles: list[tuple[StyleName, float]]
    #: Each of those lines' reading, after the handwritten ones were read again.
    recs: list[RecLine]
    #: ``(style, confidence)`` per line across the page.
    across: list[tuple[StyleName, float]]
    seconds: float


def restyle(
    crops: Sequence[npt.NDArray[np.uint8]],
    recs: Sequence[RecLine],
    *,
    latin: bool,
    strong: Reader | None,
    reread: Reader,
    across: Sequence[npt.NDArray[np.uint8]] = (),
) -> Styled:
    """Each line's style, from the same upright crop the recogniser read (``recs``, one per
    crop). With ``strong`` (a cheap model read the page, and it never saw a hand), the lines
    classified as handwriting are read by ``strong`` instead; then all of them once more by
    ``reread``, and the more confident reading kept. A page read by a script model (not
    ``latin``) is :data:`NOT_CLASSIFIED` throughout, as the service's. The crops of the lines
    ``across`` the page are classified one by one and not read again."""
    start = time.perf_counter()
    styles = classify(crops) if latin else [NOT_CLASSIFIED] * len(crops)
    out = list(recs)
    hand = [i for i, (name, _) in enumerate(styles) if name == "handwriting"]
    if hand and latin and strong is not None:
        for i, rec in zip(hand, strong([crops[i] for i in hand]), strict=True):
            out[i] = rec
    for i, rec in zip(hand, reread([crops[i] for i in hand]), strict=True):
        if rec.score > out[i].score:
            out[i] = rec
    across_styles = [classify([crop])[0] if latin else NOT_CLASSIFIED for crop in across]
    return Styled(styles, out, across_styles, time.perf_counter() - start)


def is_latin_text(text: str) -> bool:
    """True when most of ``text``'s letters are Latin (the service classifies style for
    Latin-script text only); text without letters counts as Latin."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return True
    latin = sum(1 for ch in letters if ord(ch) < 0x250 or 0x1E00 <= ord(ch) <= 0x1EFF)
    return latin * 2 > len(letters)


#: The contract's languages written in another script than Latin (the service classifies style
#: for Latin-script languages only), compared in lower case: those of the five scripts the
#: engine reads with their own models (:data:`emulator.engine.scripts.LANGUAGES`), and these.
NON_LATIN_LANGUAGES = frozenset(scripts.LANGUAGES) | frozenset(
    {
        # CJK
        "ja", "ko", "zh-hans", "zh-hant",
        # Brahmic scripts other than Devanagari (Santali: Ol Chiki)
        "pa", "sat", "bn", "as", "or", "gu", "ta", "te", "kn", "ml", "si",
        # Cyrillic languages without a model of their own
        "kk", "ab", "abq", "ady", "av", "ce", "dar", "inh", "lez", "lbe", "tab",
        # others
        "he", "th", "ka", "hy", "am", "ti", "km", "lo", "my",
    }
)  # fmt: skip


def is_latin_language(code: str | None) -> bool:
    """False for a requested language written in a non-Latin script; True otherwise (and
    when no language was requested)."""
    return code is None or code.lower() not in NON_LATIN_LANGUAGES


def slant(crop: npt.NDArray[np.uint8]) -> float:
    """The mean slant of the crop's near-vertical strokes, as the shear ``dx/dy`` (positive:
    leaning right, tops to the right of bottoms)."""
    ink = _normalise(crop)
    gx = cv2.Sobel(ink, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(ink, cv2.CV_32F, 0, 1, ksize=3)
    mag, degrees = cv2.cartToPolar(gx, gy, angleInDegrees=True)
    strong = mag > 0.5 * (float(mag.max()) or 1.0)
    # Gradient direction folded to (-90, 90]: 0 is a vertical edge.
    turn = (degrees[strong].astype(np.float64) + 90.0) % 180.0 - 90.0
    near = np.abs(turn) < 40.0
    if int(near.sum()) < 20:
        return 0.0
    # A stroke leaning right has its gradient turned from horizontal by its slant.
    angle = math.radians(float(np.average(turn[near], weights=mag[strong][near])))
    return math.tan(angle)


def deslant(crop: npt.NDArray[np.uint8], shear: float | None = None) -> npt.NDArray[np.uint8]:
    """``crop`` sheared upright by ``shear`` (default: its :func:`slant`), same size, about
    its middle row."""
    shear = slant(crop) if shear is None else shear
    if abs(shear) < 0.05:
        return crop
    h = crop.shape[0]
    matrix = np.array([[1.0, shear, -shear * h / 2], [0.0, 1.0, 0.0]], dtype=np.float64)
    out = cv2.warpAffine(
        crop,
        matrix,
        (crop.shape[1], h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(out, dtype=np.uint8)


def stretch(crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """``crop``'s contrast stretched so its 2nd and 98th percentiles span 0..255."""
    lo, hi = np.percentile(crop, (2.0, 98.0))
    if hi - lo < 1:
        return crop
    out = (crop.astype(np.float32) - float(lo)) * (255.0 / float(hi - lo))
    return np.asarray(np.clip(out, 0, 255), dtype=np.uint8)
