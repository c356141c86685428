"""Stage 1, detection: where the page's text lines are, as quads in the page's own pixels.

PP-OCRv6's DB detector runs on its own ONNX Runtime session (:mod:`emulator.engine.sessions`)
on the page shrunk to ``det_max_side`` (the resize is recorded in a :class:`Resize` and the
boxes mapped back to the original pixels), or at the scale that brings the page's small text to
``det_text_height`` (:func:`detection_scale`); rapidocr's DB post-processing turns the
probability map into boxes. :class:`Detector` is the stage's callable, its
:class:`Detection` the output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from emulator.engine import sessions

__all__ = ["Detection", "Detector", "Resize", "detection_scale"]

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]

# The detector's minimum mean probability for a box.
_DET_BOX_THRESH = 0.3
# The longest side of the detection probe, px: cheap (about a tenth of a letter page at
# 2000 px), and enough to see body text.
_PROBE_SIDE = 640
# The probe's lines are kept when the scale wanted is at most this much above the probe's.
_PROBE_ENOUGH = 1.2
# Which percentile of the probe's line heights is the page's "small text".
_DET_TEXT_PERCENTILE = 10.0


@dataclass(frozen=True, slots=True)
class Resize:
    """How the page was shrunk and padded for detection: ``det = original * scale``, then
    ``pad_top`` rows added above. :meth:`to_original` undoes it."""

    scale: float
    pad_top: int

    def to_original(self, quads: FloatArray) -> FloatArray:
        """Map ``(N, 4, 2)`` detector coordinates back to original pixels."""
        out = quads.astype(np.float64, copy=True)
        out[..., 1] -= self.pad_top
        return out / self.scale


@dataclass(frozen=True, slots=True)
class Detection:
    """Detected line quads in original pixels, shape ``(N, 4, 2)``, with their scores, and
    the seconds the detection took."""

    quads: FloatArray
    scores: tuple[float, ...]
    seconds: float = 0.0


class Detector:
    """The detection stage: PP-OCRv6's DB detector on its own session with rapidocr's box
    post-processing. Not thread-safe (the engine calls it under its lock)."""

    def __init__(
        self,
        session: Any,
        postprocess: Any,
        *,
        max_side: int = 2000,
        text_height: float | None = None,
        strip: int = 0,
        overlap: int = 64,
    ) -> None:
        """``session`` runs the detector; ``postprocess`` is rapidocr's ``DBPostProcess``.
        The settings are :class:`~emulator.engine.rapid.RapidOcrEngine`'s ``det_max_side``,
        ``det_text_height``, ``det_strip`` and ``det_overlap``."""
        self.session = session
        self._postprocess = postprocess
        self._max_side = max_side
        self._text_height = text_height
        self._strip = strip
        self._overlap = overlap

    @classmethod
    def load(
        cls, cfg: Any, model: Path, intra_op_threads: int | None, *, arena: bool, **settings: Any
    ) -> Detector:
        """The detector at ``model`` with rapidocr's detection config ``cfg`` (its ``Det``
        part), on a session of its own (``arena``: the CPU memory arena, see
        :func:`sessions._session`); ``settings`` as for the constructor."""
        from rapidocr.ch_ppocr_det import TextDetector

        # Keep the detector's weaker boxes (rapidocr drops those under 0.5 mean probability):
        # a lone digit, such as a transcript's line number, scores under it. Recognition's
        # own score filter (``text_score``) still drops what reads as noise; over
        # ../shared/eval the pooled figures are unchanged (docs/accuracy.md).
        cfg.box_thresh = _DET_BOX_THRESH
        session = sessions._session(model, intra_op_threads, arena=arena)
        stage = TextDetector(sessions.with_session(cfg, session))
        return cls(session, stage.postprocess_op, **settings)

    def __call__(self, bgr: UInt8Array) -> Detection:
        """Find text line quads; coordinates in ``bgr``'s own pixels.

        The detector's cost is proportional to the pixels it is given, and it finds lines as
        well at a modest text height as at a large one. So with ``det_text_height`` set, a
        cheap probe at ``_PROBE_SIDE`` px on the longest side measures the page's small text
        (see :func:`detection_scale`), and the page is detected again only if that text was
        below the target height in the probe; the probe's lines are kept otherwise. Without
        it, the page is shrunk to ``det_max_side`` as before.
        """
        start = time.perf_counter()
        found = self._detect(bgr)
        return Detection(found.quads, found.scores, time.perf_counter() - start)

    def _detect(self, bgr: UInt8Array) -> Detection:
        h, w = bgr.shape[:2]
        cap = self._max_side / max(h, w)
        if self._text_height is None:
            return self._detect_at(bgr, min(1.0, cap))
        probe_scale = min(cap, _PROBE_SIDE / max(h, w))
        probe = self._detect_at(bgr, probe_scale)
        scale = detection_scale(
            probe.quads, self._text_height, floor=probe_scale, cap=max(cap, probe_scale)
        )
        if scale <= probe_scale * _PROBE_ENOUGH:
            return probe
        return self._detect_at(bgr, scale)

    def _detect_at(self, bgr: UInt8Array, scale: float) -> Detection:
        det_img, resize = _prepare_for_detection(bgr, scale)
        ih, iw = det_img.shape[:2]
        # The network needs sides in multiples of 32; the post-processing maps its boxes back
        # to ``det_img``'s own size.
        size = (max(32, round(iw / 32) * 32), max(32, round(ih / 32) * 32))
        net_in = det_img if size == (iw, ih) else cv2.resize(det_img, size)
        preds = self._det_probability(np.asarray(net_in, dtype=np.uint8))
        boxes, scores = self._postprocess(preds, (ih, iw))
        if len(boxes) == 0:
            return Detection(np.zeros((0, 4, 2)), ())
        quads = resize.to_original(np.asarray(boxes, dtype=np.float64))
        h, w = bgr.shape[:2]
        quads[..., 0] = quads[..., 0].clip(0, w)
        quads[..., 1] = quads[..., 1].clip(0, h)
        return Detection(quads, tuple(float(s) for s in scores))

    def _det_probability(self, img: UInt8Array) -> npt.NDArray[np.float32]:
        """The detector's text probability map of ``img`` (sides multiples of 32), run over
        horizontal strips of ``det_strip`` rows, each with ``det_overlap`` rows of context
        above and below that are cut from its output. The detector's working memory grows
        with its input's area (about 500 MB for a letter page at 2000 px in one run); strips
        bound it at the cost of the overlap's extra pixels.

        Off by default (``det_strip=0``): the detector's squeeze-and-excitation blocks weigh
        channels by whole-image means, so a strip is not detected as it is in the page, and
        even with 192 rows of overlap some pages lose lines (a magazine spread's CER 6.5 ->
        10 %, docs/performance.md)."""
        h = img.shape[0]
        strip = self._strip
        if not strip or h <= strip + 2 * self._overlap:
            return np.asarray(sessions._run(self.session, _det_input(img)), dtype=np.float32)
        out = np.empty((1, 1, h, img.shape[1]), dtype=np.float32)
        for top in range(0, h, strip):
            bottom = min(h, top + strip)
            start = max(0, top - self._overlap)
            stop = min(h, bottom + self._overlap)
            pred = sessions._run(self.session, _det_input(img[start:stop]))
            out[:, :, top:bottom] = pred[:, :, top - start : bottom - start]
        return out


def detection_scale(quads: FloatArray, target: float, *, floor: float, cap: float) -> float:
    """The detection scale that brings the page's small text to ``target`` px high.

    The page's small text is the ``_DET_TEXT_PERCENTILE``th percentile of its lines' heights
    (the short side of each quad, in original pixels) as found by the probe: low enough that
    footnotes and small print are read as well as the body, high enough that a few specks do
    not decide. ``floor`` is the probe's own scale (what is known to be cheap), ``cap`` the
    highest scale allowed. A page where the probe found nothing gets ``cap``: its text may be
    too small for the probe.
    """
    if len(quads) == 0:
        return cap
    e0 = np.hypot(*(quads[:, 1] - quads[:, 0]).T)
    e1 = np.hypot(*(quads[:, 2] - quads[:, 1]).T)
    heights = np.minimum(e0, e1)
    small = float(np.percentile(heights, _DET_TEXT_PERCENTILE))
    if small <= 0:
        return cap
    return float(min(max(target / small, floor), cap))


def _det_input(img: UInt8Array) -> npt.NDArray[np.float32]:
    """The detector's input: (1, 3, H, W) in [-1, 1], computed in float32 (rapidocr's own
    preprocessing goes through float64, twice the memory and time on a full page)."""
    chw = np.asarray(img, dtype=np.float32).transpose(2, 0, 1)
    out = np.empty((1, *chw.shape), dtype=np.float32)
    np.multiply(chw, 1.0 / 127.5, out=out[0])
    out -= 1.0
    return out


def _prepare_for_detection(bgr: UInt8Array, scale: float) -> tuple[UInt8Array, Resize]:
    h, w = bgr.shape[:2]
    img = bgr
    if scale != 1.0:
        size = (max(round(w * scale), 1), max(round(h * scale), 1))
        interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
        img = np.asarray(cv2.resize(bgr, size, interpolation=interpolation), dtype=np.uint8)
    # The detector needs some height around a single long line (rapidocr pads beyond 8:1);
    # white continues the page's background.
    ih, iw = img.shape[:2]
    pad = max(0, (iw // 8 - ih) // 2)
    if pad:
        white = (255, 255, 255)
        img = np.asarray(
            cv2.copyMakeBorder(img, pad, pad, 0, 0, cv2.BORDER_CONSTANT, value=white),
            dtype=np.uint8,
        )
    return np.ascontiguousarray(img), Resize(scale=scale, pad_top=pad)
