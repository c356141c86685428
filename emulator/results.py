"""Turning what the engine read into the service's JSON: ``readResults`` and the operation body.

The engine works in the page image's pixels; the service reports images in pixels and PDF
pages in inches. It rounds pixel coordinates to whole numbers (sent as JSON integers) and
inches to four decimals, and word confidences to three decimals. Doing that here, once,
keeps the wire format in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from emulator.documents import PageImage
from emulator.engine.base import PageText, Polygon
from emulator.store import Job

SCHEMA_VERSION = "3.2.0"
MODEL_VERSION = "2022-04-30"


def _number(value: float, unit: str) -> float | int:
    if unit == "pixel":
        return round(value)
    rounded = round(value, 4)
    # -0.0 would be valid JSON but reads oddly; the service never sends it.
    return 0.0 if rounded == 0 else rounded


def _box(polygon: Polygon, scale: float, unit: str) -> list[float | int]:
    return [_number(coordinate * scale, unit) for coordinate in polygon]


def _angle(value: float) -> float:
    """Normalise to the contract's range [-180, 180) and four decimals."""
    normalised = (value + 180.0) % 360.0 - 180.0
    rounded = round(normalised, 4)
    return 0.0 if rounded == 0 else rounded


def read_result(page: PageImage, text: PageText, language: str | None = None) -> dict[str, Any]:
    """One ``readResults`` entry for ``page`` from the engine's ``text``."""
    scale = page.units_per_pixel
    lines = [
        {
            "boundingBox": _box(line.polygon, scale, page.unit),
            "appearance": {
                "style": {"name": line.style, "confidence": round(line.style_confidence, 3)}
            },
            "text": line.text,
            "words": [
                {
                    "boundingBox": _box(word.polygon, scale, page.unit),
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


def analyze_result(read_results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The ``analyzeResult`` object wrapping the pages' ``readResults``."""
    return {
        "version": SCHEMA_VERSION,
        "modelVersion": MODEL_VERSION,
        "readResults": list(read_results),
    }


def timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second, as the service writes it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def operation_body(job: Job, result: dict[str, Any] | None) -> dict[str, Any]:
    """The ``ReadOperationResult`` body for ``job``; ``analyzeResult`` only once succeeded."""
    body: dict[str, Any] = {
        "status": job.status,
        "createdDateTime": timestamp(job.created),
        "lastUpdatedDateTime": timestamp(job.updated),
    }
    if job.status == "succeeded" and result is not None:
        body["analyzeResult"] = result
    return body


def plain_text(read_results: Sequence[dict[str, Any]]) -> str:
    """All line texts joined by newlines (for logs-free debugging and tests)."""
    return "\n".join(line["text"] for page in read_results for line in page["lines"])
