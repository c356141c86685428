"""Line recognisers for the scripts PP-OCRv6 does not read: Cyrillic, Greek, Hangul, Arabic
and Devanagari.

No package on the registry ships PP-OCR's recognisers for these scripts (they are only ever
downloaded at run time; ``docs/differences.md``), so the engine's own line detector is paired
with Tesseract 5's LSTM recognisers reading its line crops one line at a time. ``libtesseract``
ships inside the ``tesserocr`` wheel (MIT); the models are Debian's Apache-2.0
``tesseract-ocr-<lang>`` packages (``rus``, ``ell``, ``kor``, ``ara``, ``hin``, ...), found in
``TESSDATA_PREFIX`` or Debian's tessdata folder. Nothing is downloaded: a script whose model is
not installed is read by the default recogniser, and :func:`available_scripts` says which are.

A requested ``language`` picks its script, and that language's own model when installed
(``uk`` reads with ``ukr``), else its script's (``rus`` for any Cyrillic language).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

#: Folders searched for ``<model>.traineddata``, after ``$TESSDATA_PREFIX``.
TESSDATA_DIRS = (
    Path("/usr/share/tesseract-ocr/5/tessdata"),
    Path("/usr/share/tesseract-ocr/4.00/tessdata"),
    Path("/usr/share/tessdata"),
    Path("/usr/local/share/tessdata"),
)

#: Each script's model, used for a language of it that has no model of its own installed.
SCRIPT_MODELS = {
    "Cyrillic": "rus",
    "Greek": "ell",
    "Hangul": "kor",
    "Arabic": "ara",
    "Devanagari": "hin",
}

#: The model for Latin text: what a sample is compared against when the script is guessed.
LATIN_MODEL = "eng"

#: Languages (the service's codes, lower-cased) written in one of :data:`SCRIPT_MODELS`'
#: scripts, with Tesseract's own model for the language where one exists.
LANGUAGES: dict[str, tuple[str, str | None]] = {
    # Cyrillic
    "ru": ("Cyrillic", "rus"),
    "uk": ("Cyrillic", "ukr"),
    "be": ("Cyrillic", "bel"),
    "be-cyrl": ("Cyrillic", "bel"),
    "bg": ("Cyrillic", "bul"),
    "mk": ("Cyrillic", "mkd"),
    "sr-cyrl": ("Cyrillic", "srp"),
    "cnr-cyrl": ("Cyrillic", "srp"),
    "kk-cyrl": ("Cyrillic", "kaz"),
    "ky": ("Cyrillic", "kir"),
    "mn": ("Cyrillic", "mon"),
    "tg": ("Cyrillic", "tgk"),
    "tt": ("Cyrillic", "tat"),
    "uz-cyrl": ("Cyrillic", "uzb_cyrl"),
    "ba": ("Cyrillic", None),
    "bua": ("Cyrillic", None),
    "kaa-cyrl": ("Cyrillic", None),
    "krc": ("Cyrillic", None),
    "kum": ("Cyrillic", None),
    "myv": ("Cyrillic", None),
    "nog": ("Cyrillic", None),
    "os": ("Cyrillic", None),
    "tyv": ("Cyrillic", None),
    # Greek
    "el": ("Greek", "ell"),
    # Hangul
    "ko": ("Hangul", "kor"),
    # Arabic
    "ar": ("Arabic", "ara"),
    "fa": ("Arabic", "fas"),
    "prs": ("Arabic", "fas"),
    "ur": ("Arabic", "urd"),
    "ps": ("Arabic", "pus"),
    "ug": ("Arabic", "uig"),
    "ku-arab": ("Arabic", None),
    "uz-arab": ("Arabic", None),
    # Devanagari
    "hi": ("Devanagari", "hin"),
    "mr": ("Devanagari", "mar"),
    "ne": ("Devanagari", "nep"),
    "sa": ("Devanagari", "san"),
    "anp": ("Devanagari", None),
    "awa": ("Devanagari", None),
    "bfy": ("Devanagari", None),
    "bgc": ("Devanagari", None),
    "bho": ("Devanagari", None),
    "bns": ("Devanagari", None),
    "bra": ("Devanagari", None),
    "brx": ("Devanagari", None),
    "dhi": ("Devanagari", None),
    "doi": ("Devanagari", None),
    "gon": ("Devanagari", None),
    "gvr": ("Devanagari", None),
    "hlb": ("Devanagari", None),
    "hne": ("Devanagari", None),
    "hoc": ("Devanagari", None),
    "kfq": ("Devanagari", None),
    "kmj": ("Devanagari", None),
    "kru": ("Devanagari", None),
    "sck": ("Devanagari", None),
    "srx": ("Devanagari", None),
    "thf": ("Devanagari", None),
    "xsr": ("Devanagari", None),
    "bfz": ("Devanagari", None),
    "mai": ("Devanagari", None),
    "xnr": ("Devanagari", None),
}

UInt8Array = npt.NDArray[np.uint8]
#: Pixels of background added around a line crop before Tesseract reads it.
_MARGIN = 10
#: One word read on a crop: ``(text, x0, x1, confidence)``, x in crop pixels.
WordSpan = tuple[str, float, float, float]


@dataclass(frozen=True, slots=True)
class LineReading:
    """A script recogniser's reading of one line crop: its words in reading order."""

    text: str
    score: float
    words: tuple[WordSpan, ...]


def tessdata_dir() -> Path | None:
    """The folder holding the installed Tesseract models, if any."""
    candidates = list(TESSDATA_DIRS)
    if prefix := os.environ.get("TESSDATA_PREFIX"):
        candidates.insert(0, Path(prefix))
    for folder in candidates:
        if folder.is_dir() and any(folder.glob("*.traineddata")):
            return folder
    return None


def installed_models() -> frozenset[str]:
    """The names of the installed Tesseract models (``rus``, ``ell``, ...)."""
    folder = tessdata_dir()
    if folder is None or not _has_tesserocr():
        return frozenset()
    return frozenset(path.stem for path in folder.glob("*.traineddata"))


def available_scripts() -> tuple[str, ...]:
    """The scripts beyond Latin and CJK that this machine can read."""
    models = installed_models()
    return tuple(script for script, model in SCRIPT_MODELS.items() if model in models)


def model_for(language: str | None) -> str | None:
    """The installed Tesseract model that reads ``language``, or ``None`` when the language
    is not in one of these scripts (the default recogniser reads it) or no model of its
    script is installed."""
    if language is None:
        return None
    entry = LANGUAGES.get(language.lower())
    if entry is None:
        return None
    script, own = entry
    models = installed_models()
    if own is not None and own in models:
        return own
    fallback = SCRIPT_MODELS[script]
    return fallback if fallback in models else None


@cache
def _has_tesserocr() -> bool:
    """Whether ``tesserocr`` is installed (found, not imported: the server process that asks
    never loads libtesseract)."""
    return importlib.util.find_spec("tesserocr") is not None


class TesseractLines:
    """One Tesseract model reading single-line crops (page segmentation mode 7). Not
    thread-safe: the engine calls it under its own lock."""

    def __init__(self, model: str, tessdata: Path | None = None) -> None:
        import tesserocr

        folder = tessdata or tessdata_dir()
        if folder is None:
            raise RuntimeError("No Tesseract models are installed.")
        self.model = model
        self._word = tesserocr.RIL.WORD
        self._iterate = tesserocr.iterate_level
        self._single_line = tesserocr.PSM.SINGLE_LINE
        self._raw_line = tesserocr.PSM.RAW_LINE
        self._api: Any = tesserocr.PyTessBaseAPI(
            path=str(folder), lang=model, psm=tesserocr.PSM.SINGLE_LINE, oem=tesserocr.OEM.LSTM_ONLY
        )

    def read(self, crops: Sequence[UInt8Array]) -> list[LineReading]:
        """Read each upright BGR line crop."""
        return [self._read_one(crop) for crop in crops]

    def _read_one(self, crop: UInt8Array) -> LineReading:
        gray = crop if crop.ndim == 2 else crop.mean(axis=2).astype(np.uint8)
        # Tesseract wants a margin around the text; the crop is cut tight to the line. The
        # margin takes the crop's own background (the median of its border).
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        padded = np.pad(gray, _MARGIN, constant_values=int(np.median(border)))
        reading = self._recognise(padded, self._single_line, _MARGIN)
        if not reading.words:
            # Tesseract's layout analysis sometimes finds no text in a clean line (an Arabic
            # line of ours, for one); read as a raw line, without it.
            reading = self._recognise(gray, self._raw_line, 0)
        return reading

    def _recognise(self, gray: UInt8Array, mode: int, margin: int) -> LineReading:
        from PIL import Image

        self._api.SetPageSegMode(mode)
        self._api.SetImage(Image.fromarray(np.ascontiguousarray(gray)))
        self._api.Recognize()
        line = " ".join((self._api.GetUTF8Text() or "").split())
        pieces: list[WordSpan] = []
        iterator = self._api.GetIterator()
        for word in self._iterate(iterator, self._word) if iterator is not None else ():
            try:
                text = (word.GetUTF8Text(self._word) or "").strip()
            except RuntimeError:  # tesserocr's "No text returned" for an empty word
                continue
            box = word.BoundingBox(self._word)
            if text and box is not None:
                x0, x1 = max(0, box[0] - margin), max(0, box[2] - margin)
                pieces.append((text, float(x0), float(x1), word.Confidence(self._word) / 100))
        self._api.Clear()
        words = _words_of(line, pieces)
        if not words:
            return LineReading(text="", score=0.0, words=())
        score = sum(w[3] for w in words) / len(words)
        return LineReading(text=" ".join(w[0] for w in words), score=score, words=tuple(words))


def _words_of(line: str, pieces: Sequence[WordSpan]) -> list[WordSpan]:
    """The words of ``line`` (Tesseract's text in logical order, spaced as the script spaces
    words) with the boxes of the ``pieces`` (its word boxes: single syllables for Hangul,
    visual order for Arabic) that spell each one; ``pieces`` when they do not spell ``line``."""
    words: list[WordSpan] = []
    index = 0
    for token in line.split():
        spelled, group = "", []
        while index < len(pieces) and len(spelled) < len(token):
            spelled += pieces[index][0]
            group.append(pieces[index])
            index += 1
        # Right-to-left words come in reading order, each spelled in visual order.
        backwards = "".join(piece[0][::-1] for piece in group)
        if not group or token not in (spelled, backwards):
            return list(pieces)
        x0 = min(piece[1] for piece in group)
        x1 = max(piece[2] for piece in group)
        words.append((token, x0, x1, sum(piece[3] for piece in group) / len(group)))
    return words if index == len(pieces) else list(pieces)
