"""What a read page is stored as: one record per page, shared by every API.

The record is Read v3.2's ``readResults`` entry (the emulator's first API, and a complete
description of a page: size, unit, angle, lines and words with their polygons, confidences
and styles); Document Intelligence's pages, words, lines, spans and paragraphs are derived
from the same records when a result is read (:mod:`emulator.api.document_intelligence`).

The engine works in the page image's pixels; both services report images in pixels and PDF
pages in inches. Pixel coordinates are rounded to whole numbers (sent as JSON integers),
inches to four decimals, word confidences to three. Doing that here, once, keeps the numbers
the same in both APIs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from emulator.documents.formats import PageImage
from emulator.engine.base import PageText, TextLine
from emulator.engine.handwriting import is_latin_language


def _number(value: float, unit: str) -> float | int:
    if unit == "pixel":
        return round(value)
    rounded = round(value, 4)
    # -0.0 would be valid JSON but reads oddly; the service never sends it.
    return 0.0 if rounded == 0 else rounded


def polygon_in_units(polygon: Sequence[float], scale: float, unit: str) -> list[float | int]:
    """``polygon`` (the engine's pixels) in the page's ``unit``, rounded as every API sends
    it."""
    return [_number(coordinate * scale, unit) for coordinate in polygon]


def _angle(value: float) -> float:
    """Normalise to the contract's range [-180, 180) and four decimals."""
    normalised = (value + 180.0) % 360.0 - 180.0
    rounded = round(normalised, 4)
    return 0.0 if rounded == 0 else rounded


def _style(line: TextLine, latin: bool) -> dict[str, Any]:
    """``appearance.style``: the engine's, except for a requested non-Latin language, whose
    lines the service reports as ``other`` (it classifies Latin-script text only)."""
    if not latin:
        return {"name": "other", "confidence": 1.0}
    return {"name": line.style, "confidence": round(line.style_confidence, 3)}


def read_result(page: PageImage, text: PageText, language: str | None = None) -> dict[str, Any]:
    """One ``readResults`` entry for ``page`` from the engine's ``text`` (``language``: the
    one requested, if any)."""
    scale = page.units_per_pixel
    latin = is_latin_language(language)
    lines = [
        {
            "boundingBox": polygon_in_units(line.polygon, scale, page.unit),
            "appearance": {"style": _style(line, latin)},
            "text": line.text,
            "words": [
                {
                    "boundingBox": polygon_in_units(word.polygon, scale, page.unit),
                    "text": word.text,
                    "confidence": round(word.confidence, 3),
                }
                for word in line.words
            ],
        }
        for line in text.lines
    ]
    entry: dict[str, Any] = {
        "page": page.number,
        "angle": _angle(text.angle),
        "width": _number(page.width, page.unit),
        "height": _number(page.height, page.unit),
        "unit": page.unit,
        "lines": lines,
    }
    if language is not None:
        entry["language"] = language
    return entry


def page_image_file(number: int) -> str:
    """The file a job asked for page images keeps page ``number``'s PNG in, beside its result
    (:attr:`emulator.store.JobOptions.page_images`)."""
    return f"page-{number}.png"


def timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second, as the service writes it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
