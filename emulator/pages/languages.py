"""Which language a page, or a line, is written in, when the request names none.

The service reports a page's detected language, and a line's own where it differs from the
page's. The emulator asks ``py3langid`` (langid.py's maintained fork: a naive Bayes model over
byte n-grams, shipped inside its wheel, nothing downloaded), restricted to the languages the
contract lists that the model knows, with Chinese reported as ``zh-Hans``. A classification
takes about 0.2 ms; the model loads once per process (about 0.8 s), on first use.

Short or ambiguous text ("TOTAL 4711 EUR") gets no language rather than a guess: a page needs
:data:`MIN_PAGE_LETTERS` letters and :data:`MIN_PAGE_CONFIDENCE`, a line (which says less)
:data:`MIN_LINE_LETTERS` and :data:`MIN_LINE_CONFIDENCE`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emulator import contract

MIN_PAGE_LETTERS = 20
MIN_PAGE_CONFIDENCE = 0.6
MIN_LINE_LETTERS = 25
MIN_LINE_CONFIDENCE = 0.95
# The model's code for a language the contract spells otherwise.
_CONTRACT_CODE = {"zh": "zh-Hans"}

_lock = threading.Lock()
_identifier: Any = None


@dataclass(frozen=True, slots=True)
class Detected:
    """A language (as the contract spells it) and the model's probability for it."""

    code: str
    confidence: float


def _model() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            wanted = set(contract.model_languages()) | set(_CONTRACT_CODE)
            identifier.set_languages(sorted(wanted & set(identifier.nb_classes)))
            _identifier = identifier
        return _identifier


def _letters(text: str) -> int:
    return sum(char.isalpha() for char in text)


def detect(text: str, min_letters: int, min_confidence: float) -> Detected | None:
    """The language of ``text``, or None when it is too short or the model is unsure."""
    if _letters(text) < min_letters:
        return None
    code, probability = _model().classify(text)
    if probability < min_confidence:
        return None
    return Detected(_CONTRACT_CODE.get(code, code), round(float(probability), 3))


def page_language(lines: Sequence[str]) -> Detected | None:
    """The language of a page whose lines read ``lines``."""
    return detect(" ".join(lines), MIN_PAGE_LETTERS, MIN_PAGE_CONFIDENCE)


def line_language(text: str) -> Detected | None:
    """The language of one line, when it is long and clear enough to tell."""
    return detect(text, MIN_LINE_LETTERS, MIN_LINE_CONFIDENCE)


def annotate(record: dict[str, Any]) -> dict[str, Any]:
    """Add the detected ``language`` to a page record read with no language requested, and
    to each line whose own language differs from the page's (the contract's rule; on a page
    of mixed languages, which has none, every line clear enough to tell gets its own)."""
    texts = [line["text"] for line in record["lines"]]
    page = page_language(texts)
    if page is not None:
        record["language"] = page.code
    for line in record["lines"]:
        own = line_language(line["text"])
        if own is not None and (page is None or own.code != page.code):
            line["language"] = own.code
    return record
