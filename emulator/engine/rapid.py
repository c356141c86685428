"""RapidOCR (PP-OCRv6 on ONNX Runtime) behind the :class:`~emulator.engine.base.OcrEngine`
interface.

The engine uses RapidOCR's stages (text detector, text recogniser) as callables and runs its
own pipeline around them, because the package's all-in-one ``RapidOCR.__call__`` mutates shared
config per call, turns errors into empty results and decides orientation line by line. The
pipeline, each step a function with typed output:

1. **Detect** text lines on the page shrunk to ``det_max_side`` (the resize is recorded in a
   :class:`Resize` and the boxes mapped back to the original pixels).
2. **Orient** the page: every line's axis (mod 180 degrees) is measured from its box; the
   page axis is their length-weighted circular mean, which also gives the small skew. Whether
   the text reads along that axis or upside down is decided once per page by recognising a
   sample of the longest lines both ways and keeping the more confident reading (the per-line
   angle classifier flips long upright lines, see issue 4). Lines across the page axis (a
   vertical label) are decided one by one the same way.
3. **Recognise** each line from a perspective crop of the *original* image (full resolution,
   so small print keeps its detail), with the engine's per-character CTC positions and
   probabilities (``return_word_box=True``). With ``split_gaps`` (off: it cuts justified
   text at its wide word spaces), a line whose crop shows a blank gap much wider than a word
   space is first cut there (:mod:`emulator.engine.gaps`). Lines are read by the wheel's
   PP-OCRv6 small or, with ``cascade`` (``--recogniser cascade``), by a **cascade**
   (:mod:`emulator.engine.cascade`): a cheap recogniser (PP-OCRv6 tiny, fine-tuned on
   generated document lines) reads every line, and only the lines its calibrated gate doubts
   are read by PP-OCRv6 small. PP-OCRv6 small reads 36 px high (its cost is proportional to
   height times width), batched by width, its own unsure lines again at 48 px (see
   :meth:`RapidOcrEngine.read`).
   Each line's **style** (handwriting or other) is classified from the same crop
   (:mod:`emulator.engine.handwriting`, about a millisecond a line); lines classified
   as handwriting are read once more at 48 px (:meth:`RapidOcrEngine._read_handwriting`),
   and the more confident reading kept.
4. **Words** are cut at the spaces the recogniser emits; each word's box spans its characters'
   CTC columns and is interpolated along the line's polygon, so it lies inside it; its
   confidence is the mean probability of its characters. Text is NFKC-normalised.
5. **Reading order** is computed by :mod:`emulator.engine.layout` over the boxes rotated
   into the page's reading frame.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import itertools
import logging
import math
import os
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from emulator.engine import cascade as cascade_gate
from emulator.engine import gaps, handwriting, layout, scripts
from emulator.engine.base import PageText, Polygon, ReadingOrder, TextLine, TextWord
from emulator.engine.figures import Quad, find_figures
from emulator.engine.frame import ReadingFrame, along, down
from emulator.engine.separators import Separator, find_separators

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["PageAnalysis", "RapidOcrEngine", "Resize", "wheel_model_paths"]

_log = logging.getLogger("emulator.engine")

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]

_DET_MODEL = "PP-OCRv6_det_small.onnx"
_REC_MODEL = "PP-OCRv6_rec_small.onnx"

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
# The detector's minimum mean probability for a box.
_DET_BOX_THRESH = 0.3
# A line is read across the page when its direction is over 45 degrees from the page's.
_ACROSS_COS = math.cos(math.radians(45.0))
# A separator runs along the text when it rises at most this much per unit of length.
_RULE_SLOPE = 0.05
# The longest side of the detection probe, px: cheap (about a tenth of a letter page at
# 2000 px), and enough to see body text.
_PROBE_SIDE = 640
# The probe's lines are kept when the scale wanted is at most this much above the probe's.
_PROBE_ENOUGH = 1.2
# Which percentile of the probe's line heights is the page's "small text".
_DET_TEXT_PERCENTILE = 10.0
# The recogniser's input height (PP-OCRv6's rec model is fixed at 48 px).
_REC_HEIGHT = 48
# Crops whose widths differ by at most this share share a batch (each is padded to the
# batch's widest, and padding costs as much as text).
_REC_MAX_PAD = 0.15
#: With no language given, a page whose lines the default recogniser reads with a mean
#: confidence under this may be in another script: a sample of its longest lines is read by
#: each installed script model (see :meth:`RapidOcrEngine._guess_script`).
_SCRIPT_GATE = 0.93
#: How many of the longest lines the script guess reads.
_SCRIPT_SAMPLE = 3
#: How much more confident than the Latin model a script model must be on the sample.
_SCRIPT_MARGIN = 0.1


def _session(model: Path | bytes, intra_op_threads: int | None, *, arena: bool = True) -> Any:
    """An ONNX Runtime CPU session for ``model`` with the settings measured fastest here
    (``benchmarks/engine_speed.py``, docs/performance.md): together about 0.65x the CPU time
    of rapidocr's own session settings, with identical output.

    * The CPU memory arena on (rapidocr turns it off): recognition batches change shape with
      every batch of lines, and without the arena each run allocates its tensors afresh.
    * Intra-op threads that sleep instead of spinning when idle: a worker alternates ONNX
      runs with Python steps (crops, decoding, layout) and shares the cores with other
      workers, and spinning threads burn the time those need.
    * ``arena=False`` for the detector: it runs once per page on a page-sized input, so the
      arena saves little time there, and it would keep the largest page's working memory
      (hundreds of MB) for the life of the worker.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = arena
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if intra_op_threads:
        options.intra_op_num_threads = intra_op_threads
    source = model if isinstance(model, bytes) else str(model)
    return onnxruntime.InferenceSession(
        source, sess_options=options, providers=["CPUExecutionProvider"]
    )


def _run(session: Any, tensor: npt.NDArray[np.float32], options: Any = None) -> Any:
    """``session``'s first output for ``tensor`` as its one input."""
    name = session.get_inputs()[0].name
    return session.run(None, {name: tensor}, options)[0]


def _malloc_trim() -> None:
    """Give the C heap's free pages back to the system (glibc; a no-op elsewhere). A page's
    big temporaries (the image, crops, the recogniser's outputs) are freed into the heap,
    where glibc would otherwise keep them as resident memory of the worker."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC: Any = None
# glibc's mallopt parameter for the size from which allocations get their own mapping.
_M_MMAP_THRESHOLD = -3


def _map_big_allocations(threshold: int = 1 << 20) -> None:
    """Have glibc give every allocation of ``threshold`` bytes or more its own mapping,
    returned to the system when freed. By default glibc raises that threshold as big blocks
    are freed (up to 32 MB), after which ONNX Runtime's and numpy's page-sized temporaries come
    from the heap and stay resident: a worker's RSS then ratchets up to the sum of the shapes
    it has seen. Fixing it keeps the peak at one page's working set (docs/performance.md)."""
    _malloc_trim()  # loads libc
    if _LIBC:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, threshold)


def free_input_height(model: Path) -> bytes:
    """``model`` (the recogniser) with its input's height declared free instead of 48.

    The network is convolutional up to a pooling that takes any height to 1, so it runs at
    other heights; ONNX Runtime only refuses a shape that contradicts the declared one. The
    recogniser's cost grows with height times width (and the width with the height, at a
    crop's aspect), so a lower input height is the largest saving there is
    (docs/performance.md)."""
    import onnx

    proto = onnx.load(str(model))
    dim = proto.graph.input[0].type.tensor_type.shape.dim[2]
    dim.ClearField("dim_value")
    dim.dim_param = "height"
    return bytes(proto.SerializeToString())


def cache_dir() -> Path:
    """Where derived models are kept: ``$OCR_EMULATOR_CACHE``, else
    ``$XDG_CACHE_HOME/ocr-emulator`` (``~/.cache/ocr-emulator``)."""
    explicit = os.environ.get("OCR_EMULATOR_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ocr-emulator"


def free_height_model(model: Path, cache: Path | None = None) -> Path | bytes:
    """The recogniser with a free input height (:func:`free_input_height`), made once and
    kept in ``cache`` (default :func:`cache_dir`) under the source model's SHA-256, so a
    worker's start does not pay for importing ``onnx`` and rewriting 21 MB each time.

    The file is written under a temporary name and renamed into place (never half-written
    under its final name), and checked by its own SHA-256 (recorded in its name's sidecar)
    before use; a missing or corrupt file is made again. When the cache cannot be written,
    the model is made in memory for this process and a line is logged.
    """
    cache = cache_dir() if cache is None else cache
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:32]
    path = cache / f"rec-free-height-{digest}.onnx"
    check = path.with_suffix(".sha256")
    with contextlib.suppress(OSError):
        if hashlib.sha256(path.read_bytes()).hexdigest() == check.read_text().strip():
            return path
    data = free_input_height(model)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for target, payload in ((path, data), (check, hashlib.sha256(data).hexdigest().encode())):
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(payload)
            os.replace(tmp, target)
    except OSError as error:
        _log.warning("cannot cache the recogniser in %s (%s); made in memory", cache, error)
        return data
    return path


def wheel_model_paths() -> dict[str, Path]:
    """The detector and recogniser ONNX files shipped inside the ``rapidocr`` wheel.

    Raises ``RuntimeError`` when one is missing: the emulator is offline by design and never
    lets rapidocr download a model.
    """
    import rapidocr

    models = Path(rapidocr.__file__).resolve().parent / "models"
    paths = {"det": models / _DET_MODEL, "rec": models / _REC_MODEL}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise RuntimeError(
            "rapidocr's bundled models are missing (" + ", ".join(missing) + "); reinstall "
            "rapidocr>=3.10 from its wheel. The emulator never downloads models."
        )
    return paths


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
    """Detected line quads in original pixels, shape ``(N, 4, 2)``, with their scores."""

    quads: FloatArray
    scores: tuple[float, ...]


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
class PageAnalysis:
    """A page read but not yet ordered (:meth:`RapidOcrEngine.analyse`)."""

    orientation: Orientation
    #: The lines kept, in detection order.
    lines: tuple[TextLine, ...]
    #: Rules and box edges drawn on the page (found only when ``natural`` order may be asked).
    separators: tuple[Separator, ...]
    #: Pictures, charts and diagrams on the page, as quads (found with the separators).
    figures: tuple[Quad, ...] = ()

    def page(self, reading_order: ReadingOrder) -> PageText:
        """The page as :meth:`RapidOcrEngine.recognize` returns it in ``reading_order``."""
        lines = split_at_gutters(list(self.lines), self.orientation)
        ordered = order_lines(lines, self.orientation, reading_order, self.separators, self.figures)
        angle = round(_normalise_angle(self.orientation.angle), 2)
        return PageText(
            angle=angle, lines=ordered, separators=self.separators, figures=self.figures
        )


@dataclass(frozen=True, slots=True)
class RecChar:
    """One recognised character: its CTC column and the engine's probability for it."""

    char: str
    column: int
    prob: float


@dataclass(frozen=True, slots=True)
class RecLine:
    """The recogniser's reading of one crop."""

    text: str
    score: float
    chars: tuple[RecChar, ...]
    #: Crop pixels per CTC column.
    column_px: float
    #: The words with their spans on the crop, from a recogniser that gives them itself (a
    #: script model); ``None`` when they are cut from the CTC columns (:func:`split_words`).
    words: tuple[scripts.WordSpan, ...] | None = None


#: The style of a line read by a script model: the service classifies Latin text only.
_NOT_CLASSIFIED: tuple[handwriting.StyleName, float] = ("other", 1.0)


@dataclass(frozen=True, slots=True)
class _Line:
    polygon: FloatArray  # (4, 2), clockwise from the text's top-left as read
    rec: RecLine
    # The line's style (:mod:`emulator.engine.handwriting`) and its confidence.
    style: handwriting.StyleName = "other"
    style_confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class _Recogniser:
    """A recognition model: its ONNX Runtime session and rapidocr's CTC decoder for its
    characters."""

    session: Any
    decoder: Any

    @classmethod
    def load(cls, path: Path, intra_op_threads: int | None) -> _Recogniser:
        """The model at ``path``, whose characters are in its ``character`` metadata."""
        from rapidocr.ch_ppocr_rec.utils import CTCLabelDecode

        session = _session(path, intra_op_threads)
        meta = session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise RuntimeError(f"{path.name} carries no character table.")
        return cls(session, CTCLabelDecode(character=meta["character"].splitlines()))


class RapidOcrEngine:
    """OCR with RapidOCR's PP-OCRv6 models from its wheel, loaded once per instance.

    Calls on one instance are serialised by a lock (the stage objects keep per-call state);
    give each worker its own instance for parallelism.
    """

    name = "rapidocr"

    def __init__(
        self,
        intra_op_threads: int | None = None,
        *,
        det_max_side: int = 2000,
        text_score: float = 0.5,
        rec_squeeze: float = 1.0,
        rec_min_width: int = 64,
        rec_batch: int = 6,
        rec_height: int = 36,
        det_text_height: float | None = None,
        det_arena: bool = False,
        det_strip: int = 0,
        det_overlap: int = 64,
        rec_batch_columns: int = 2048,
        rec_shrink: bool = True,
        trim: bool = True,
        rec_retry_height: int | None = 48,
        rec_retry_below: float = 0.9,
        cascade: bool = False,
        cheap_height: int | None = None,
        gate_threshold: float | None = None,
        det_model: Path | None = None,
        split_gaps: bool = False,
    ) -> None:
        """Load the models. ``intra_op_threads`` bounds ONNX Runtime's threads per session
        (``None``: one per core). ``det_max_side`` is the longest side the page is shrunk to
        for detection (recognition always reads the original pixels). Lines whose mean
        character probability is under ``text_score`` are dropped as noise. With
        ``cascade``, lines are read by the cheap recogniser and only those its gate doubts by the
        wheel's (:mod:`emulator.engine.cascade`; ``cheap_height`` and ``gate_threshold``
        override the calibrated height and threshold). ``det_model`` replaces the wheel's
        detector (an ONNX file of the same family). With ``split_gaps``, a detected line is
        cut where it bridges a blank gap wider than a word space (:mod:`emulator.engine.gaps`)."""
        from omegaconf import flag_override
        from rapidocr.ch_ppocr_det import TextDetector
        from rapidocr.ch_ppocr_rec import TextRecognizer
        from rapidocr.main import DEFAULT_CFG_PATH
        from rapidocr.utils.parse_parameters import ParseParams

        # rapidocr logs at INFO (model paths, timings); keep it at WARNING. Our own code never
        # logs document text.
        logging.getLogger("RapidOCR").setLevel(logging.WARNING)
        paths = wheel_model_paths()
        if det_model is not None:
            paths["det"] = det_model
        cfg = ParseParams.load(DEFAULT_CFG_PATH)
        ort = cfg.EngineConfig.onnxruntime
        ort.intra_op_num_threads = intra_op_threads if intra_op_threads else -1
        # Explicit model paths: rapidocr only downloads when a stage has no model_path.
        cfg.Det.model_path = str(paths["det"])
        cfg.Rec.model_path = str(paths["rec"])
        for stage in (cfg.Det, cfg.Rec):
            stage.engine_cfg = ort
            stage.model_root_dir = str(paths["det"].parent)
        cfg.Rec.font_path = None
        # Keep the detector's weaker boxes (rapidocr drops those under 0.5 mean probability):
        # a lone digit, such as a transcript's line number, scores under it. Recognition's
        # own score filter (``text_score``) still drops what reads as noise; over
        # ../shared/eval the pooled figures are unchanged (docs/accuracy.md).
        cfg.Det.box_thresh = _DET_BOX_THRESH
        # Our own ONNX Runtime sessions, handed in through rapidocr's ``session`` hook, for
        # settings its config does not reach (see :func:`_session`).
        with flag_override(cfg, "allow_objects", True):
            self._det_session = _session(paths["det"], intra_op_threads, arena=det_arena)
            self._rec_session = _session(free_height_model(paths["rec"]), intra_op_threads)
            cfg.Det.session = self._det_session
            cfg.Rec.session = self._rec_session
        self._det: Any = TextDetector(cfg.Det)
        self._rec: Any = TextRecognizer(cfg.Rec)
        if not self._rec.session.have_key():
            raise RuntimeError("The bundled recognition model carries no character table.")
        self._strong = _Recogniser(self._rec_session, self._rec.postprocess_op)
        self._cheap: _Recogniser | None = None
        self._gate: cascade_gate.Gate | None = None
        if cascade:
            self._cheap = _Recogniser.load(cascade_gate.CHEAP_MODEL, intra_op_threads)
            self._gate = cascade_gate.Gate.load()
        self._cheap_height = cheap_height
        self._split_gaps = split_gaps
        self._gate_threshold = gate_threshold
        self._det_max_side = det_max_side
        self._text_score = text_score
        self._rec_squeeze = rec_squeeze
        self._rec_min_width = rec_min_width
        self._rec_batch = rec_batch
        self._rec_height = rec_height
        self._det_text_height = det_text_height
        self._rec_batch_columns = rec_batch_columns
        self._det_strip = det_strip
        self._det_overlap = det_overlap
        self._rec_retry_height = rec_retry_height
        self._rec_retry_below = rec_retry_below
        self._trim = trim
        if trim:
            _map_big_allocations()
        import onnxruntime

        self._run_plain = onnxruntime.RunOptions()
        self._run_shrink = onnxruntime.RunOptions()
        if rec_shrink:
            self._run_shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self._lock = threading.Lock()
        # Off while a page in a language the cheap model cannot read is read (under the lock).
        self._cascade_on = True
        self._script_readers: dict[str, scripts.TesseractLines] = {}

    # -- public -----------------------------------------------------------------------------

    def recognize(
        self,
        image: Image.Image,
        *,
        reading_order: ReadingOrder = "basic",
        language: str | None = None,
    ) -> PageText:
        """Read ``image`` (RGB). PP-OCRv6's recogniser reads Latin and CJK; a ``language`` in
        another script is read by that script's model (:mod:`emulator.engine.scripts`) when
        installed, and with no ``language`` the script is guessed when the page reads poorly."""
        with self._page(language):
            return self._recognize(
                image, reading_order, scripts.model_for(language), guess=language is None
            )

    @contextlib.contextmanager
    def _page(self, language: str | None) -> Iterator[None]:
        """One page at a time on this instance: the lock held, the cascade off for a
        ``language`` the cheap model cannot read, and the C heap trimmed afterwards."""
        with self._lock:
            self._cascade_on = not cascade_gate.needs_strong(language)
            try:
                yield
            finally:
                self._cascade_on = True
                if self._trim:
                    _malloc_trim()

    def _recognize(
        self, image: Image.Image, reading_order: ReadingOrder, model: str | None, *, guess: bool
    ) -> PageText:
        return self._analyse(image, model, guess=guess, separators=reading_order == "natural").page(
            reading_order
        )

    def analyse(self, image: Image.Image, *, language: str | None = None) -> PageAnalysis:
        """Everything :meth:`recognize` finds on ``image`` before it orders the lines: the
        lines in detection order, the page's orientation and the separators drawn on it.
        :meth:`PageAnalysis.page` orders them as :meth:`recognize` does, so a benchmark can
        read a page once and order it many times."""
        with self._page(language):
            return self._analyse(
                image, scripts.model_for(language), guess=language is None, separators=True
            )

    def _analyse(
        self, image: Image.Image, model: str | None, *, guess: bool, separators: bool
    ) -> PageAnalysis:
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        detection = self.detect(bgr)
        if len(detection.quads) == 0:
            return PageAnalysis(Orientation(0.0), (), ())
        read = self.read if model is None else self._script_reader(model)
        orientation, lines = self._orient_and_read(bgr, detection.quads, read)
        if model is None and guess and (model := self._guess_script(bgr, lines)) is not None:
            # Read again, orientation vote included, by the model of the page's script.
            orientation, lines = self._orient_and_read(
                bgr, detection.quads, self._script_reader(model)
            )
        kept = [ln for ln in lines if ln.rec.score >= self._text_score and ln.rec.text.strip()]
        text_lines = [line for line in (_to_text_line(ln) for ln in kept) if line is not None]
        if not separators:
            return PageAnalysis(orientation, tuple(text_lines), ())
        found = find_separators(bgr, orientation.angle)
        figures = find_figures(bgr, [line.polygon for line in text_lines], orientation.angle)
        return PageAnalysis(orientation, tuple(text_lines), tuple(found), tuple(figures))

    # -- stages -----------------------------------------------------------------------------

    def detect(self, bgr: UInt8Array) -> Detection:
        """Find text line quads; coordinates in ``bgr``'s own pixels.

        The detector's cost is proportional to the pixels it is given, and it finds lines as
        well at a modest text height as at a large one. So with ``det_text_height`` set, a
        cheap probe at ``_PROBE_SIDE`` px on the longest side measures the page's small text
        (see :func:`detection_scale`), and the page is detected again only if that text was
        below the target height in the probe; the probe's lines are kept otherwise. Without
        it, the page is shrunk to ``det_max_side`` as before.
        """
        h, w = bgr.shape[:2]
        cap = self._det_max_side / max(h, w)
        if self._det_text_height is None:
            return self._detect_at(bgr, min(1.0, cap))
        probe_scale = min(cap, _PROBE_SIDE / max(h, w))
        probe = self._detect_at(bgr, probe_scale)
        scale = detection_scale(
            probe.quads, self._det_text_height, floor=probe_scale, cap=max(cap, probe_scale)
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
        boxes, scores = self._det.postprocess_op(preds, (ih, iw))
        if len(boxes) == 0:
            return Detection(np.zeros((0, 4, 2)), ())
        quads = resize.to_original(np.asarray(boxes, dtype=np.float64))
        h, w = bgr.shape[:2]
        quads[..., 0] = quads[..., 0].clip(0, w)
        quads[..., 1] = quads[..., 1].clip(0, h)
        return Detection(quads, tuple(float(s) for s in scores))

    def _det_probability(self, img: UInt8Array) -> npt.NDArray[np.float32]:
        """The detector's text probability map of ``img`` (sides multiples of 32), run over
        horizontal strips of ``det_strip`` rows, each with ``self._det_overlap`` rows of
        context above and below that are cut from its output. The detector's working memory
        grows with its input's area (about 500 MB for a letter page at 2000 px in one run);
        strips bound it at the cost of the overlap's extra pixels.

        Off by default (``det_strip=0``): the detector's squeeze-and-excitation blocks weigh
        channels by whole-image means, so a strip is not detected as it is in the page, and
        even with 192 rows of overlap some pages lose lines (a magazine spread's CER 6.5 ->
        10 %, docs/performance.md)."""
        h = img.shape[0]
        strip = self._det_strip
        if not strip or h <= strip + 2 * self._det_overlap:
            return np.asarray(_run(self._det_session, _det_input(img)), dtype=np.float32)
        out = np.empty((1, 1, h, img.shape[1]), dtype=np.float32)
        for top in range(0, h, strip):
            bottom = min(h, top + strip)
            start = max(0, top - self._det_overlap)
            stop = min(h, bottom + self._det_overlap)
            pred = _run(self._det_session, _det_input(img[start:stop]))
            out[:, :, top:bottom] = pred[:, :, top - start : bottom - start]
        return out

    def read(self, crops: list[UInt8Array]) -> list[RecLine]:
        """Recognise upright line crops, keeping each character's CTC column and probability.

        The recogniser's cost is proportional to the width of what it is fed (about 0.1 ms of
        CPU per column of pixels at 48 px high here), so the crops are read ``rec_height`` px
        high, batched by :func:`rec_batches` (similar widths together, so little padding),
        each resized to that height and ``rec_squeeze`` of its proportional width; lines read
        with a confidence under ``rec_retry_below`` are read again ``rec_retry_height`` high.
        """
        if self._cheap is not None and self._gate is not None and self._cascade_on:
            return self._read_cascade(crops, self._cheap, self._gate)
        return self._read_strong(crops)

    def _read_cascade(
        self, crops: list[UInt8Array], cheap: _Recogniser, gate: cascade_gate.Gate
    ) -> list[RecLine]:
        """:meth:`read` by the cascade: every line by the cheap model, then the lines its gate
        doubts by the strong one (:meth:`_read_strong`), whose reading replaces the cheap."""
        results = self._read_at(crops, self._cheap_height or gate.height, cheap)
        rows = gate_features(results, crops)
        unsure = gate.unsure(rows, self._gate_threshold)
        for i, rec in zip(unsure, self._read_strong([crops[i] for i in unsure]), strict=True):
            results[i] = rec
        return results

    def _read_strong(self, crops: list[UInt8Array]) -> list[RecLine]:
        """The wheel's recogniser ``rec_height`` px high, the lines it is unsure of again at
        ``rec_retry_height``."""
        results = self._read_at(crops, self._rec_height)
        if self._rec_retry_height:
            # Lines the first, lower reading is unsure of are read again at a larger height, and
            # the more confident reading kept: most lines of most pages are read once, cheaply.
            unsure = [i for i, r in enumerate(results) if r.score < self._rec_retry_below]
            again = self._read_at([crops[i] for i in unsure], self._rec_retry_height)
            for i, rec in zip(unsure, again, strict=True):
                if rec.score > results[i].score:
                    results[i] = rec
        return results

    def _read_at(
        self, crops: list[UInt8Array], height: int, model: _Recogniser | None = None
    ) -> list[RecLine]:
        """``crops`` read by ``model`` (default: the wheel's) with its input ``height`` px
        high."""
        model = self._strong if model is None else model
        if not crops:
            return []
        widths = [
            max(round(c.shape[1] * height / max(c.shape[0], 1) * self._rec_squeeze), 1)
            for c in crops
        ]
        results: list[RecLine | None] = [None] * len(crops)
        batches = rec_batches(
            [max(w, self._rec_min_width) for w in widths],
            self._rec_batch,
            _REC_MAX_PAD,
            self._rec_batch_columns,
        )
        for number, batch in enumerate(batches, start=1):
            width = max(max(widths[i] for i in batch), self._rec_min_width)
            tensor = np.zeros((len(batch), 3, height, width), dtype=np.float32)
            for row, i in enumerate(batch):
                _rec_input(crops[i], widths[i], tensor[row])
            # The last run of a call hands the arena's unused chunks back, so a worker keeps
            # no more than one batch's working memory between pages.
            last = number == len(batches)
            preds = _run(model.session, tensor, self._run_shrink if last else None)
            lines, infos = model.decoder(
                preds,
                True,
                wh_ratio_list=[widths[i] / height for i in batch],
                max_wh_ratio=width / height,
            )
            for i, (text, score), info in zip(batch, lines, infos, strict=True):
                results[i] = _rec_line(crops[i], str(text), float(score), info)
        return [r for r in results if r is not None]

    def _script_reader(self, model: str) -> Callable[[list[UInt8Array]], list[RecLine]]:
        """Reading line crops with the Tesseract ``model``, loaded on first use."""
        reader = self._script_readers.get(model)
        if reader is None:
            reader = self._script_readers[model] = scripts.TesseractLines(model)

        def read(crops: list[UInt8Array]) -> list[RecLine]:
            return [
                RecLine(text=r.text, score=r.score, chars=(), column_px=1.0, words=r.words)
                for r in reader.read(crops)
            ]

        return read

    def _guess_script(self, bgr: UInt8Array, lines: list[_Line]) -> str | None:
        """The script model that reads this page, when it is not Latin or CJK.

        Most pages read confidently and pay nothing. For one that does not, the longest
        lines are read by Tesseract's Latin model and by each installed script model, as
        oriented and turned half round (the default recogniser's orientation vote means
        little on a script it cannot read); a script model clearly more confident than the
        Latin one names the script.
        """
        # Lines weigh by their length, so a speck read as noise does not make a page of text
        # look unread; a line read as nothing but spaces (as Cyrillic in a serif face can be,
        # confidently) counts as unread.
        widths = [_dist(line.polygon[0], line.polygon[1]) for line in lines]
        scores = [ln.rec.score if ln.rec.text.strip() else 0.0 for ln in lines]
        confidence = _weighted_mean(scores, widths)
        if not lines or confidence >= _SCRIPT_GATE:
            return None
        models = scripts.installed_models()
        candidates = [m for m in scripts.SCRIPT_MODELS.values() if m in models]
        if not candidates or scripts.LATIN_MODEL not in models:
            return None
        longest = sorted(range(len(lines)), key=lambda i: -widths[i])[:_SCRIPT_SAMPLE]
        crops = [crop_line(bgr, lines[i].polygon) for i in longest]
        weights = [widths[i] for i in longest]
        for sample in (crops, [_rot180(crop) for crop in crops]):
            best_model: str | None = None
            latin = self._script_reader(scripts.LATIN_MODEL)(sample)
            best = _weighted_mean([r.score for r in latin], weights) + _SCRIPT_MARGIN
            for model in candidates:
                read = self._script_reader(model)(sample)
                score = _weighted_mean([r.score for r in read], weights)
                if score > best:
                    best_model, best = model, score
            if best_model is not None:
                _log.debug("page confidence %.2f: script model %s reads it", confidence, best_model)
                return best_model
        _log.debug("page confidence %.2f: no script model reads it better", confidence)
        return None

    def _orient_and_read(
        self,
        bgr: UInt8Array,
        quads: FloatArray,
        read: Callable[[list[UInt8Array]], list[RecLine]],
    ) -> tuple[Orientation, list[_Line]]:
        axes, lengths, aspects = line_axes(quads)
        page_axis = dominant_axis(axes, lengths, aspects)
        # Offset of each line's own axis from the page axis, in [-90, 90).
        offsets = (axes - page_axis + 90.0) % 180.0 - 90.0
        across = (np.abs(offsets) > 45.0) & (aspects >= _AXIS_ASPECT)
        # Short boxes have no reliable axis of their own: they follow the page exactly.
        offsets = np.where(aspects >= _AXIS_ASPECT, offsets, 0.0)

        upright = Orientation(page_axis)
        whole = [order_quad(quads[i], page_axis + offsets[i]) for i in range(len(quads))]
        heights = [_poly_height(whole[i]) for i in range(len(quads)) if not across[i]]
        typical = median(heights) if heights else 0.0
        # Lines along the page, each cut where it bridges a wide blank gap (:mod:`gaps`).
        polys: dict[int, FloatArray] = {}
        crops: dict[int, UInt8Array] = {}
        piece_lengths: list[float] = []
        for i in range(len(quads)):
            if across[i]:
                continue
            crop = crop_line(bgr, _with_min_height(whole[i], typical))
            cuts = gaps.pieces(crop) if self._split_gaps else [(0, crop.shape[1])]
            for start, stop in cuts:
                poly = _sub_quad(whole[i], start / crop.shape[1], stop / crop.shape[1])
                # A box that reached into its neighbour's first or last letter leaves that
                # letter as a piece of its own, inside the neighbour's box: dropped.
                if len(cuts) > 1 and _inside_another(poly.mean(axis=0), quads, i):
                    continue
                k = len(piece_lengths)
                polys[k] = poly
                crops[k] = np.ascontiguousarray(crop[:, start:stop])
                piece_lengths.append(_dist(polys[k][0], polys[k][1]))
        along_idx = list(polys)
        # The vote reads the longest lines upright (needed anyway) and only the head of each
        # upside down: a few words are as telling as the whole line, at a fraction of the cost.
        # When the upright reading is so confident that no flipped one could beat it by the
        # margin, the heads are not read at all (the same decision, for free).
        sample = sorted(along_idx, key=lambda i: -piece_lengths[i])[:_FLIP_SAMPLE]
        upright_recs = dict(zip(along_idx, read([crops[i] for i in along_idx]), strict=True))
        up_score = _mean([upright_recs[i].score for i in sample])
        flip_score = 0.0
        if up_score + _FLIP_MARGIN < 1.0:
            flip_score = _mean([r.score for r in read([_rot180(_head(crops[i])) for i in sample])])

        if flip_score > up_score + _FLIP_MARGIN:
            orientation = Orientation(_normalise_angle(page_axis + 180.0))
            polys = {i: _rot_poly180(p) for i, p in polys.items()}
            crops = {i: _rot180(c) for i, c in crops.items()}
            recs_by_idx = dict(zip(along_idx, read([crops[i] for i in along_idx]), strict=True))
        else:
            orientation = upright
            recs_by_idx = upright_recs

        # Each line's style, from the same upright crop the recogniser read; handwritten lines
        # are read once more (:meth:`_read_handwriting`) and the more confident reading kept.
        # A page read by a script model (not Latin) is "other" throughout, as the service's.
        latin = read == self.read
        styles = (
            handwriting.classify([crops[i] for i in along_idx])
            if latin
            else [_NOT_CLASSIFIED] * len(along_idx)
        )
        hand = [i for i, (name, _) in zip(along_idx, styles, strict=True) if name == "handwriting"]
        if hand and latin and self._cheap is not None and self._cascade_on:
            # The cheap model never saw a hand: handwritten lines are the strong model's.
            strong = self._read_strong([crops[i] for i in hand])
            recs_by_idx.update(zip(hand, strong, strict=True))
        for i, rec in zip(hand, self._read_handwriting([crops[i] for i in hand]), strict=True):
            if rec.score > recs_by_idx[i].score:
                recs_by_idx[i] = rec
        lines = [
            _Line(polys[i], recs_by_idx[i], *style)
            for i, style in zip(along_idx, styles, strict=True)
        ]
        lines.extend(self._read_across(bgr, quads, axes, np.flatnonzero(across), read))
        return orientation, lines

    def _read_handwriting(self, crops: list[UInt8Array]) -> list[RecLine]:
        """Another reading of lines classified as handwriting: at the recogniser's full
        height (48 px), where a hand's uneven strokes keep more of their detail. Of the cheap
        preprocessing tried (``benchmarks/handwriting.py --reread``), the only one that
        lowered the CER of held-out handwritten lines (docs/accuracy.md, "Handwriting")."""
        return self._read_at(crops, _REC_HEIGHT)

    def _read_across(
        self,
        bgr: UInt8Array,
        quads: FloatArray,
        axes: FloatArray,
        idx: npt.NDArray[np.intp],
        read: Callable[[list[UInt8Array]], list[RecLine]],
    ) -> list[_Line]:
        """Lines perpendicular to the page's text: each read both ways, the likelier kept."""
        if len(idx) == 0:
            return []
        polys = [order_quad(quads[i], float(axes[i])) for i in idx]
        crops = [crop_line(bgr, p) for p in polys]
        flipped = [_rot180(c) for c in crops]
        recs = read(crops + flipped)
        latin = read == self.read  # a script model's lines are not classified
        n = len(polys)
        lines = []
        for k in range(n):
            forward, backward = recs[k], recs[n + k]
            if backward.score > forward.score:
                style = handwriting.classify([flipped[k]])[0] if latin else _NOT_CLASSIFIED
                lines.append(_Line(_rot_poly180(polys[k]), backward, *style))
            else:
                style = handwriting.classify([crops[k]])[0] if latin else _NOT_CLASSIFIED
                lines.append(_Line(polys[k], forward, *style))
        return lines


# -- geometry (pure) ------------------------------------------------------------------------


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


def _poly_height(poly: FloatArray) -> float:
    return max(_dist(poly[0], poly[3]), _dist(poly[1], poly[2]))


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
    left = (poly[3] - poly[0]) / max(_dist(poly[0], poly[3]), 1e-6) * grow
    right = (poly[2] - poly[1]) / max(_dist(poly[1], poly[2]), 1e-6) * grow
    return np.stack([poly[0] - left, poly[1] - right, poly[2] + right, poly[3] + left])


def crop_line(bgr: UInt8Array, poly: FloatArray) -> UInt8Array:
    """The line as an upright image: ``poly``'s top-left maps to the crop's top-left."""
    width = max(round(max(_dist(poly[0], poly[1]), _dist(poly[3], poly[2]))), 1)
    height = max(round(max(_dist(poly[0], poly[3]), _dist(poly[1], poly[2]))), 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(poly.astype(np.float32), target)
    crop = cv2.warpPerspective(
        bgr, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    return np.asarray(crop, dtype=np.uint8)


def gate_features(readings: Sequence[RecLine], crops: Sequence[UInt8Array]) -> list[list[float]]:
    """The cascade gate's features (:func:`cascade.line_features`) of each reading of a crop."""
    return [
        cascade_gate.line_features(r.text, [c.prob for c in r.chars], *crop.shape[:2])
        for r, crop in zip(readings, crops, strict=True)
    ]


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


def _dist(a: FloatArray, b: FloatArray) -> float:
    return float(np.hypot(*(a - b)))


def _head(crop: UInt8Array) -> UInt8Array:
    """The first ``_HEAD_ASPECT`` heights of a line crop (a few words)."""
    width = int(crop.shape[0] * _HEAD_ASPECT)
    return crop if crop.shape[1] <= width else np.ascontiguousarray(crop[:, :width])


def _rot180(img: UInt8Array) -> UInt8Array:
    return np.ascontiguousarray(img[::-1, ::-1])


def _rot_poly180(poly: FloatArray) -> FloatArray:
    # Reading the crop upside down: its top-left is the old bottom-right.
    return np.asarray(poly[[2, 3, 0, 1]], dtype=np.float64)


def _weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    total = sum(weights)
    if total <= 0:
        return _mean(list(values))
    return sum(v * w for v, w in zip(values, weights, strict=True)) / total


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _normalise_angle(angle: float) -> float:
    """Into the service's range [-180, 180)."""
    return (angle + 180.0) % 360.0 - 180.0


# -- recognition input (pure) ---------------------------------------------------------------


def rec_batches(
    widths: list[int], max_batch: int, max_pad: float, max_columns: int = 1 << 30
) -> list[list[int]]:
    """Indices of ``widths`` grouped into recognition batches: sorted by width, a batch takes
    the next crop while it has fewer than ``max_batch``, the crop is at most ``max_pad``
    wider than the batch's first, and the batch's padded width (crops times the widest)
    stays within ``max_columns``. Batching saves ONNX Runtime's per-run overhead (a few ms);
    padding a short crop to a long one's width costs a full run of the model over blanks;
    and the run's memory (its output alone is 9 KB per column) grows with the columns."""
    order = sorted(range(len(widths)), key=lambda i: widths[i])
    batches: list[list[int]] = []
    for i in order:
        last = batches[-1] if batches else None
        if (
            last is not None
            and len(last) < max_batch
            and widths[i] <= (1.0 + max_pad) * widths[last[0]]
            and (len(last) + 1) * widths[i] <= max_columns
        ):
            last.append(i)
        else:
            batches.append([i])
    return batches


def _rec_input(crop: UInt8Array, width: int, out: npt.NDArray[np.float32]) -> None:
    """Write ``crop`` resized to ``width`` x the model's height, scaled to [-1, 1] as the
    recogniser was trained, into the left of ``out`` (C, H, W); the rest stays 0 (padding)."""
    resized = cv2.resize(crop, (width, out.shape[1]))
    chw = np.asarray(resized, dtype=np.float32).transpose(2, 0, 1)
    np.multiply(chw, 1.0 / 127.5, out=out[:, :, :width])
    out[:, :, :width] -= 1.0


# -- recognition output (pure) --------------------------------------------------------------


def _rec_line(crop: UInt8Array, text: str, score: float, info: Any) -> RecLine:
    """Pair each character of ``text`` with its CTC column and probability from rapidocr's
    word info (``confs`` has one entry per emitted token, spaces included; ``word_cols`` one
    column per non-space character)."""
    if not text or info is None or not info.line_txt_len:
        return RecLine(text="", score=score, chars=(), column_px=1.0)
    columns = [c for cols in info.word_cols for c in cols]
    probs = list(info.confs)
    non_space = [ch for ch in text if not ch.isspace()]
    if len(columns) != len(non_space) or len(probs) != len(text):
        raise RuntimeError("rapidocr's character positions do not match its text")
    chars = []
    col_iter = iter(columns)
    last_col = 0
    for ch, prob in zip(text, probs, strict=True):
        col = last_col if ch.isspace() else next(col_iter)
        last_col = col
        chars.append(RecChar(ch, int(col), min(max(float(prob), 0.0), 1.0)))
    column_px = crop.shape[1] / float(info.line_txt_len)
    return RecLine(text=text, score=score, chars=tuple(chars), column_px=column_px)


def split_words(rec: RecLine, crop_width: float) -> list[tuple[str, float, float, float]]:
    """``(text, x0, x1, confidence)`` per word, x in crop pixels, cut at the recogniser's
    spaces. A word spans its first to last character's CTC column, widened by half the line's
    character pitch on each side; neighbours never overlap."""
    words: list[list[RecChar]] = []
    current: list[RecChar] = []
    for rc in rec.chars:
        if rc.char.isspace():
            if current:
                words.append(current)
            current = []
        else:
            current.append(rc)
    if current:
        words.append(current)
    if not words:
        return []
    steps = [
        b.column - a.column for w in words for a, b in itertools.pairwise(w) if b.column > a.column
    ]
    pitch = (median(steps) if steps else 3.0) * rec.column_px
    spans = []
    for w in words:
        x0 = (w[0].column + 0.5) * rec.column_px - pitch / 2
        x1 = (w[-1].column + 0.5) * rec.column_px + pitch / 2
        spans.append([max(0.0, x0), min(crop_width, x1)])
    for a, b in itertools.pairwise(spans):
        if a[1] > b[0]:
            mid = (a[1] + b[0]) / 2
            a[1], b[0] = mid, mid
    out = []
    for w, (x0, x1) in zip(words, spans, strict=True):
        text = unicodedata.normalize("NFKC", "".join(rc.char for rc in w)).strip()
        if text:
            conf = sum(rc.prob for rc in w) / len(w)
            out.append((text, x0, max(x1, x0), conf))
    return out


def _to_text_line(line: _Line) -> TextLine | None:
    poly = line.polygon
    width = max(_dist(poly[0], poly[1]), _dist(poly[3], poly[2]), 1e-6)
    words = []
    spans = line.rec.words if line.rec.words is not None else split_words(line.rec, width)
    for text, x0, x1, conf in spans:
        t0, t1 = x0 / width, x1 / width
        top0 = poly[0] + t0 * (poly[1] - poly[0])
        top1 = poly[0] + t1 * (poly[1] - poly[0])
        bot1 = poly[3] + t1 * (poly[2] - poly[3])
        bot0 = poly[3] + t0 * (poly[2] - poly[3])
        words.append(
            TextWord(
                text=text,
                polygon=_polygon(np.stack([top0, top1, bot1, bot0])),
                confidence=round(conf, 4),
            )
        )
    if not words:
        return None
    text = " ".join(w.text for w in words)
    # The service tells handwriting from print in Latin-script text only; and a line of a
    # character or three (a table cell's "01", a bullet) shows too little of its strokes to
    # tell: it is "other", no more likely than not (see handwriting.MIN_CHARS).
    style: handwriting.StyleName
    if not handwriting.is_latin_text(text):
        style, confidence = "other", 1.0
    elif len(text.replace(" ", "")) < handwriting.MIN_CHARS:
        style, confidence = "other", 0.5
    else:
        style, confidence = line.style, line.style_confidence
    return TextLine(
        text=text,
        polygon=_polygon(poly),
        words=tuple(words),
        style=style,
        style_confidence=confidence,
    )


def _polygon(points: FloatArray) -> Polygon:
    flat = [round(float(v), 1) for v in points.reshape(-1)]
    return (flat[0], flat[1], flat[2], flat[3], flat[4], flat[5], flat[6], flat[7])


def _frame_box(polygon: Polygon, orientation: Orientation | ReadingFrame) -> layout.Box:
    return _as_frame(orientation).box(polygon)


def _as_frame(frame: Orientation | ReadingFrame) -> ReadingFrame:
    return frame if isinstance(frame, ReadingFrame) else ReadingFrame(frame.angle)


def _layout_box(line: TextLine, orientation: Orientation | ReadingFrame) -> layout.Box:
    """The line's box for layout: its polygon's height, and its words' extent along the line.

    The detector pads a line's box, at times by a character or more past its last word, which
    can close a narrow column gutter; the words span the characters the recogniser read."""
    frame = _as_frame(orientation)
    left, top, right, bottom = frame.box(line.polygon)
    if line.words:
        first = frame.box(line.words[0].polygon)
        last = frame.box(line.words[-1].polygon)
        left, right = max(left, first[0]), min(right, max(last[2], first[0] + 1.0))
    return (left, top, max(right, left + 1.0), bottom)


def reading_frame(lines: Sequence[TextLine], orientation: Orientation) -> ReadingFrame:
    """The frame ``lines`` are ordered in: the page turned by ``orientation``, with the bend
    of a curved page's lines taken out (:class:`emulator.engine.frame.ReadingFrame`)."""
    along = [line.polygon for line in lines if not _runs_across(line, orientation)]
    return ReadingFrame.fit(along, orientation.angle)


def _frame_separators(
    separators: Sequence[Separator], frame: ReadingFrame
) -> tuple[list[layout.Rule], list[layout.Upright]]:
    """The separators in the reading frame: those that run along the text as layout rules,
    and those that run across it (down the page) as uprights."""
    rules: list[layout.Rule] = []
    uprights: list[layout.Upright] = []
    for sep in separators:
        u, v = frame.points((sep.x0, sep.y0, sep.x1, sep.y1))
        across, down = abs(float(u[1] - u[0])), abs(float(v[1] - v[0]))
        if across > 0 and down <= _RULE_SLOPE * across:
            rules.append((float(u.min()), float(u.max()), float(v.mean())))
        elif down > 0 and across <= _RULE_SLOPE * down:
            uprights.append((float(u.mean()), float(v.min()), float(v.max())))
    return rules, uprights


def split_at_gutters(lines: list[TextLine], orientation: Orientation) -> list[TextLine]:
    """Cut lines the detector merged across a column gutter (see :func:`layout.gutter_cuts`).

    Each piece keeps its words; its polygon runs from its first word's left edge to its last
    word's right edge, so it stays inside the original line's polygon.
    """
    frame = reading_frame(lines, orientation)
    boxes = [_layout_box(line, frame) for line in lines]
    words = [[frame.box(w.polygon) for w in line.words] for line in lines]
    out: list[TextLine] = []
    for line, cuts in zip(lines, layout.gutter_cuts(boxes, words), strict=True):
        if not cuts:
            out.append(line)
            continue
        bounds = [0, *(m + 1 for m in cuts), len(line.words)]
        for start, end in itertools.pairwise(bounds):
            piece = line.words[start:end]
            first, last = piece[0].polygon, piece[-1].polygon
            polygon: Polygon = (
                first[0],
                first[1],
                last[2],
                last[3],
                last[4],
                last[5],
                first[6],
                first[7],
            )
            out.append(
                TextLine(
                    text=" ".join(w.text for w in piece),
                    polygon=polygon,
                    words=piece,
                    style=line.style,
                    style_confidence=line.style_confidence,
                )
            )
    return out


def order_lines(
    lines: list[TextLine],
    orientation: Orientation,
    reading_order: ReadingOrder,
    separators: Sequence[Separator] = (),
    figures: Sequence[Quad] = (),
) -> tuple[TextLine, ...]:
    """Put ``lines`` in ``reading_order``, judged in the page's reading frame (rotated by
    ``orientation`` so text runs left to right). ``separators`` (rules and box edges found on
    the page, see :mod:`emulator.engine.separators`) bound the regions of ``natural``.

    Lines that run across the page's text (a label printed up the margin of a landscape
    table) take no part in the layout: in the reading frame each is a tall narrow box that
    would tie every row beside it into one block. They follow the page's other lines, in
    the order of where they start."""
    along: list[TextLine] = []
    across: list[TextLine] = []
    for line in lines:
        (across if _runs_across(line, orientation) else along).append(line)
    frame = reading_frame(along, orientation)
    boxes = [_layout_box(line, frame) for line in along]
    if reading_order == "natural":
        figure_boxes = [frame.box(figure) for figure in figures]
        rules, uprights = _frame_separators(separators, frame)
        texts = [line.text for line in along]
        order = layout.natural_order(boxes, rules, figure_boxes, uprights, texts)
    else:
        order = layout.basic_order(boxes)
    across.sort(key=lambda line: _frame_box(line.polygon, orientation)[1::-1])
    return tuple(along[i] for i in order) + tuple(across)


def _runs_across(line: TextLine, orientation: Orientation) -> bool:
    """True when ``line`` is read in a direction far from the page's (over 45 degrees)."""
    p = line.polygon
    direction = np.array([p[2] - p[0], p[3] - p[1]], dtype=np.float64)
    length = float(np.hypot(*direction))
    return length > 0 and abs(float(direction @ orientation.along)) < _ACROSS_COS * length
