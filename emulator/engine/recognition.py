"""Stage 3, recognition: the text of upright line crops, with each character's CTC column and
probability.

Lines are read by the wheel's PP-OCRv6 small or, with ``cascade`` (``--recogniser
cascade``), by a **cascade** (:mod:`emulator.engine.cascade`): a cheap recogniser (PP-OCRv6
tiny, fine-tuned on generated document lines) reads every line, and only the lines its
calibrated gate doubts are read by PP-OCRv6 small. PP-OCRv6 small reads 36 px high (its cost
is proportional to height times width), batched by width (:func:`rec_batches`), its own unsure
lines again at 48 px (see :meth:`LineReader.read`). rapidocr's CTC decoder gives each
character's column and probability (``return_word_box=True``), kept in a :class:`RecLine`.

:class:`LineReader` holds the recognisers and reads; :func:`recognise` is the stage's callable,
timing any :data:`Reader` (the line reader's or a script model's,
:mod:`emulator.engine.script_choice`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from emulator.engine import cascade as cascade_gate
from emulator.engine import sessions

if TYPE_CHECKING:
    from emulator.engine.scripts import WordSpan

__all__ = [
    "LineReader",
    "Reader",
    "RecChar",
    "RecLine",
    "Recogniser",
    "Recognition",
    "gate_features",
    "rec_batches",
    "recognise",
]

UInt8Array = npt.NDArray[np.uint8]

# Crops whose widths differ by at most this share share a batch (each is padded to the
# batch's widest, and padding costs as much as text).
_REC_MAX_PAD = 0.15


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
    #: script model); ``None`` when they are cut from the CTC columns
    #: (:func:`emulator.engine.words.split_words`).
    words: tuple[WordSpan, ...] | None = None


#: Reads upright line crops, one :class:`RecLine` per crop, in order.
Reader = Callable[[list[UInt8Array]], list[RecLine]]


@dataclass(frozen=True, slots=True)
class Recognition:
    """The stage's output (:func:`recognise`): a reading per crop and the seconds it took."""

    lines: list[RecLine]
    seconds: float


def recognise(read: Reader, crops: list[UInt8Array]) -> Recognition:
    """``crops`` read by ``read``, timed."""
    start = time.perf_counter()
    lines = read(crops)
    return Recognition(lines, time.perf_counter() - start)


@dataclass(frozen=True, slots=True)
class Recogniser:
    """A recognition model: its ONNX Runtime session and rapidocr's CTC decoder for its
    characters."""

    session: Any
    decoder: Any

    @classmethod
    def load(cls, path: Path, intra_op_threads: int | None) -> Recogniser:
        """The model at ``path``, whose characters are in its ``character`` metadata."""
        from rapidocr.ch_ppocr_rec.utils import CTCLabelDecode

        session = sessions._session(path, intra_op_threads)
        meta = session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise RuntimeError(f"{path.name} carries no character table.")
        return cls(session, CTCLabelDecode(character=meta["character"].splitlines()))

    @classmethod
    def from_wheel(cls, cfg: Any, model: Path | bytes, intra_op_threads: int | None) -> Recogniser:
        """The wheel's recogniser: ``model`` (its free-height copy,
        :func:`sessions.free_height_model`) on our own session, with the decoder rapidocr
        builds from its recognition config ``cfg`` (the config's ``Rec`` part)."""
        from rapidocr.ch_ppocr_rec import TextRecognizer

        session = sessions._session(model, intra_op_threads)
        stage = TextRecognizer(sessions.with_session(cfg, session))
        if not stage.session.have_key():
            raise RuntimeError("The bundled recognition model carries no character table.")
        return cls(session, stage.postprocess_op)


class LineReader:
    """Reads line crops with the wheel's recogniser, or the cascade of a cheap one and it.

    :class:`~emulator.engine.rapid.RapidOcrEngine` is a line reader: the pipeline's other
    stages read through its :meth:`read` (and tests and benchmarks replace its steps on an
    engine). Not thread-safe (the engine calls it under its lock).
    """

    def __init__(
        self,
        strong: Recogniser,
        cheap: Recogniser | None = None,
        gate: cascade_gate.Gate | None = None,
        *,
        rec_squeeze: float = 1.0,
        rec_min_width: int = 64,
        rec_batch: int = 6,
        rec_height: int = 36,
        rec_batch_columns: int = 2048,
        rec_shrink: bool = True,
        rec_retry_height: int | None = 48,
        rec_retry_below: float = 0.9,
        cheap_height: int | None = None,
        gate_threshold: float | None = None,
    ) -> None:
        """``strong`` is the wheel's recogniser; with ``cheap`` and ``gate``, lines are read
        by the cascade. The settings are :class:`~emulator.engine.rapid.RapidOcrEngine`'s."""
        import onnxruntime

        self._strong = strong
        self._cheap = cheap
        self._gate = gate
        self._cheap_height = cheap_height
        self._gate_threshold = gate_threshold
        self._rec_squeeze = rec_squeeze
        self._rec_min_width = rec_min_width
        self._rec_batch = rec_batch
        self._rec_height = rec_height
        self._rec_batch_columns = rec_batch_columns
        self._rec_retry_height = rec_retry_height
        self._rec_retry_below = rec_retry_below
        self._run_shrink = onnxruntime.RunOptions()
        if rec_shrink:
            self._run_shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        # Off while a page in a language the cheap model cannot read is read.
        self._cascade_on = True

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

    def strong_reader(self) -> Reader | None:
        """What reads a line the cheap model must not (a handwritten one) while the cascade
        reads this page; ``None`` when the wheel's recogniser reads every line anyway."""
        return self._read_strong if self._cheap is not None and self._cascade_on else None

    def _read_cascade(
        self, crops: list[UInt8Array], cheap: Recogniser, gate: cascade_gate.Gate
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
        self, crops: list[UInt8Array], height: int, model: Recogniser | None = None
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
            preds = sessions._run(model.session, tensor, self._run_shrink if last else None)
            lines, infos = model.decoder(
                preds,
                True,
                wh_ratio_list=[widths[i] / height for i in batch],
                max_wh_ratio=width / height,
            )
            for i, (text, score), info in zip(batch, lines, infos, strict=True):
                results[i] = _rec_line(crops[i], str(text), float(score), info)
        return [r for r in results if r is not None]


def gate_features(readings: Sequence[RecLine], crops: Sequence[UInt8Array]) -> list[list[float]]:
    """The cascade gate's features (:func:`cascade.line_features`) of each reading of a crop."""
    return [
        cascade_gate.line_features(r.text, [c.prob for c in r.chars], *crop.shape[:2])
        for r, crop in zip(readings, crops, strict=True)
    ]


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
