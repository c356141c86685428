"""RapidOCR (PP-OCRv6 on ONNX Runtime) behind the :class:`~emulator.engine.base.OcrEngine`
interface: the pipeline, composed of one stage per module.

The engine uses RapidOCR's stages (text detector, text recogniser) as callables and runs its
own pipeline around them, because the package's all-in-one ``RapidOCR.__call__`` mutates shared
config per call, turns errors into empty results and decides orientation line by line. Each
stage is a callable with typed output that carries the seconds it took (gathered per page in a
:class:`StageSeconds`, kept as :attr:`RapidOcrEngine.last_seconds`):

1. **Detect** text lines on the page shrunk to ``det_max_side``
   (:mod:`emulator.engine.detection`; sessions and model files: :mod:`emulator.engine.sessions`).
2. **Orient** the page from its lines' axes and crop each line upright from the original
   image, cut at wide blank gaps with ``split_gaps`` (:mod:`emulator.engine.orientation`,
   :mod:`emulator.engine.gaps`); whether the text is upside down is voted on once per page
   from the longest lines read both ways.
3. **Recognise** each line crop with its characters' CTC positions and probabilities, by the
   wheel's PP-OCRv6 small or the cascade of a cheap recogniser and it
   (:mod:`emulator.engine.recognition`, :mod:`emulator.engine.cascade`).
4. **Choose the script**: with no language given, a page that reads poorly may be in a script
   PP-OCRv6 does not read, and is read again by that script's Tesseract model
   (:mod:`emulator.engine.script_choice`, :mod:`emulator.engine.scripts`).
5. **Handwriting**: each line's style, and handwritten lines read once more
   (:mod:`emulator.engine.handwriting`).
6. **Words** cut at the recogniser's spaces, and the lines kept as
   :class:`~emulator.engine.base.TextLine` objects (:mod:`emulator.engine.words`).
7. **Reading order**, over the boxes rotated into the page's reading frame
   (:mod:`emulator.engine.reading_order`, :mod:`emulator.engine.layout`), bounded by the rules
   and figures drawn on the page when ``natural`` order may be asked
   (:mod:`emulator.engine.separators`, :mod:`emulator.engine.figures`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import astuple, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from emulator.engine import cascade as cascade_gate
from emulator.engine import handwriting, orientation, scripts, sessions
from emulator.engine.base import PageText, ReadingOrder, TextLine
from emulator.engine.detection import Detection, Detector
from emulator.engine.figures import Quad, find_figures
from emulator.engine.orientation import Orientation, normalise_angle
from emulator.engine.reading_order import Ordered, order_page
from emulator.engine.recognition import LineReader, Reader, RecLine, Recogniser, recognise
from emulator.engine.script_choice import ScriptChoice
from emulator.engine.separators import Separator, find_separators
from emulator.engine.words import Line, to_text_lines

if TYPE_CHECKING:
    from PIL import Image

    from emulator.engine.scripts import TesseractLines

__all__ = ["PageAnalysis", "RapidOcrEngine", "StageSeconds"]

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class StageSeconds:
    """Where a page's time went, stage by stage. A stage's own reading of lines for its
    decision (the orientation vote's sample, lines across the page read both ways, the
    script guess's sample, handwriting re-reads) counts as that stage's;
    ``recognition`` is the reading of the page's lines along its axis."""

    detection: float = 0.0
    orientation: float = 0.0
    recognition: float = 0.0
    script: float = 0.0
    handwriting: float = 0.0
    words: float = 0.0
    #: Finding the rules and figures drawn on the page (for ``natural`` order).
    drawings: float = 0.0
    order: float = 0.0

    def __add__(self, other: StageSeconds) -> StageSeconds:
        """Each stage's seconds here and in ``other`` together."""
        return StageSeconds(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @property
    def total(self) -> float:
        """All the stages' seconds together."""
        return float(sum(astuple(self)))


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
    #: The seconds each stage took to find all this (``order`` is 0: not ordered yet).
    seconds: StageSeconds = field(default_factory=StageSeconds)

    def page(self, reading_order: ReadingOrder) -> PageText:
        """The page as :meth:`RapidOcrEngine.recognize` returns it in ``reading_order``."""
        return self.text(self.order(reading_order))

    def order(self, reading_order: ReadingOrder) -> Ordered:
        """The reading-order stage on this page's lines."""
        return order_page(
            self.lines, self.orientation, reading_order, self.separators, self.figures
        )

    def text(self, ordered: Ordered) -> PageText:
        """The page with its lines as ``ordered`` (:meth:`order`)."""
        angle = round(normalise_angle(self.orientation.angle), 2)
        return PageText(
            angle=angle, lines=ordered.lines, separators=self.separators, figures=self.figures
        )


class RapidOcrEngine(LineReader):
    """OCR with RapidOCR's PP-OCRv6 models from its wheel, loaded once per instance.

    The engine is its own recognition stage (a :class:`~emulator.engine.recognition.LineReader`,
    whose reading the other stages use) and composes the other stages around it.

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
        paths = sessions.wheel_model_paths()
        if det_model is not None:
            paths["det"] = det_model
        cfg = sessions.rapidocr_config(paths, intra_op_threads)
        self._detector = Detector.load(
            cfg.Det,
            paths["det"],
            intra_op_threads,
            arena=det_arena,
            max_side=det_max_side,
            text_height=det_text_height,
            strip=det_strip,
            overlap=det_overlap,
        )
        strong = Recogniser.from_wheel(
            cfg.Rec, sessions.free_height_model(paths["rec"]), intra_op_threads
        )
        cheap: Recogniser | None = None
        gate: cascade_gate.Gate | None = None
        if cascade:
            cheap = Recogniser.load(cascade_gate.CHEAP_MODEL, intra_op_threads)
            gate = cascade_gate.Gate.load()
        super().__init__(
            strong,
            cheap,
            gate,
            rec_squeeze=rec_squeeze,
            rec_min_width=rec_min_width,
            rec_batch=rec_batch,
            rec_height=rec_height,
            rec_batch_columns=rec_batch_columns,
            rec_shrink=rec_shrink,
            rec_retry_height=rec_retry_height,
            rec_retry_below=rec_retry_below,
            cheap_height=cheap_height,
            gate_threshold=gate_threshold,
        )
        self._split_gaps = split_gaps
        self._text_score = text_score
        self._trim = trim
        if trim:
            sessions._map_big_allocations()
        self._lock = threading.Lock()
        self._scripts = ScriptChoice()
        #: Each stage's seconds on the last page read (:meth:`recognize` or :meth:`analyse`).
        self.last_seconds: StageSeconds | None = None

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

    def analyse(self, image: Image.Image, *, language: str | None = None) -> PageAnalysis:
        """Everything :meth:`recognize` finds on ``image`` before it orders the lines: the
        lines in detection order, the page's orientation and the separators drawn on it.
        :meth:`PageAnalysis.page` orders them as :meth:`recognize` does, so a benchmark can
        read a page once and order it many times."""
        with self._page(language):
            analysis = self._analyse(
                image, scripts.model_for(language), guess=language is None, separators=True
            )
            self.last_seconds = analysis.seconds
            return analysis

    def detect(self, bgr: UInt8Array) -> Detection:
        """The detection stage on ``bgr`` (:class:`~emulator.engine.detection.Detector`)."""
        return self._detector(bgr)

    # -- the pipeline -----------------------------------------------------------------------

    @property
    def _script_readers(self) -> dict[str, TesseractLines]:
        """The Tesseract script models loaded so far (:class:`ScriptChoice`)."""
        return self._scripts.readers

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
                    sessions._malloc_trim()

    def _recognize(
        self, image: Image.Image, reading_order: ReadingOrder, model: str | None, *, guess: bool
    ) -> PageText:
        analysis = self._analyse(image, model, guess=guess, separators=reading_order == "natural")
        ordered = analysis.order(reading_order)
        self.last_seconds = replace(analysis.seconds, order=ordered.seconds)
        return analysis.text(ordered)

    def _analyse(
        self, image: Image.Image, model: str | None, *, guess: bool, separators: bool
    ) -> PageAnalysis:
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        detection = self.detect(bgr)
        seconds = StageSeconds(detection=detection.seconds)
        if len(detection.quads) == 0:
            return PageAnalysis(Orientation(0.0), (), (), seconds=seconds)
        read = self.read if model is None else self._scripts.reader(model)
        oriented, lines, spent = self._orient_and_read(bgr, detection.quads, read)
        seconds += spent
        if model is None and guess:
            choice = self._scripts.guess(bgr, lines)
            seconds += StageSeconds(script=choice.seconds)
            if choice.model is not None:
                # Read again, orientation vote included, by the model of the page's script.
                read = self._scripts.reader(choice.model)
                oriented, lines, spent = self._orient_and_read(bgr, detection.quads, read)
                seconds += spent
        words = to_text_lines(lines, self._text_score)
        seconds += StageSeconds(words=words.seconds)
        if not separators:
            return PageAnalysis(oriented, words.lines, (), seconds=seconds)
        start = time.perf_counter()
        drawn = find_separators(bgr, oriented.angle)
        figures = find_figures(bgr, [line.polygon for line in words.lines], oriented.angle)
        seconds += StageSeconds(drawings=time.perf_counter() - start)
        return PageAnalysis(oriented, words.lines, tuple(drawn), tuple(figures), seconds)

    def _read_handwriting(self, crops: list[UInt8Array]) -> list[RecLine]:
        """Another reading of lines classified as handwriting (:func:`handwriting.restyle`):
        at the recogniser's full height (:data:`handwriting.REREAD_HEIGHT`), where a hand's
        uneven strokes keep more of their detail. Of the cheap preprocessing tried
        (``benchmarks/handwriting.py --reread``, which replaces this method), the only one
        that lowered the CER of held-out handwritten lines (docs/accuracy.md,
        "Handwriting")."""
        return self._read_at(crops, handwriting.REREAD_HEIGHT)

    def _orient_and_read(
        self, bgr: UInt8Array, quads: FloatArray, read: Reader
    ) -> tuple[Orientation, list[Line], StageSeconds]:
        """The page's orientation and its lines read by ``read``, styled, in detection order
        (the lines across the page last)."""
        pieces = orientation.cut_lines(bgr, quads, split_gaps=self._split_gaps)
        reading = upright = recognise(read, pieces.crops)
        turn = orientation.vote(pieces, upright.lines, read)
        recognition = upright.seconds
        if turn.upside_down:
            pieces = pieces.turned()
            reading = recognise(read, pieces.crops)
            recognition += reading.seconds
        across = orientation.read_across(bgr, pieces, read)
        latin = read == self.read  # a script model's lines are not classified
        styled = handwriting.restyle(
            pieces.crops,
            reading.lines,
            latin=latin,
            strong=self.strong_reader(),
            reread=self._read_handwriting,
            across=across.crops,
        )
        lines = [
            Line(poly, rec, *style)
            for poly, rec, style in zip(pieces.polys, styled.recs, styled.styles, strict=True)
        ]
        lines.extend(
            Line(poly, rec, *style)
            for poly, rec, style in zip(across.polys, across.recs, styled.across, strict=True)
        )
        seconds = StageSeconds(
            orientation=pieces.seconds + turn.seconds + across.seconds,
            recognition=recognition,
            handwriting=styled.seconds,
        )
        return turn.orientation, lines, seconds
