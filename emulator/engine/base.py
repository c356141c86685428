"""The engine interface every OCR backend implements.

Coordinates are always in the pixel space of the image the engine was given, as 8-number
polygons ``(x1, y1, x2, y2, x3, y3, x4, y4)`` clockwise from the top-left corner of the text
as read (so for a page rotated 90 degrees the first point is not the top-left of the image).
Converting to the service's units (inches for PDF) is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from PIL import Image

    from emulator.engine.separators import Separator

ReadingOrder = Literal["basic", "natural"]
Polygon = tuple[float, float, float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class TextWord:
    """One recognised word: its text, its polygon and the engine's confidence in [0, 1]."""

    text: str
    polygon: Polygon
    confidence: float


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of text with its words in reading order."""

    text: str
    polygon: Polygon
    words: tuple[TextWord, ...]
    style: Literal["other", "handwriting"] = "other"
    style_confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class PageText:
    """What an engine read on one page.

    ``angle`` is the page's text angle in degrees clockwise, in [-180, 180), as the service
    reports it. ``separators`` (rules and box edges) and ``figures`` (pictures, charts, as
    polygons) are what the engine found drawn on the page while ordering it in ``natural``
    order; an engine that finds none leaves them empty. Layout analysis reads them
    (:mod:`emulator.structure`).
    """

    angle: float
    lines: tuple[TextLine, ...] = field(default_factory=tuple)
    separators: tuple[Separator, ...] = field(default_factory=tuple)
    figures: tuple[Polygon, ...] = field(default_factory=tuple)


class OcrEngine(Protocol):
    """A page image in, lines and words out. Implementations must be safe to call from one
    thread at a time per instance; the job runner gives each worker its own instance or
    serialises calls."""

    name: str

    def recognize(
        self,
        image: Image.Image,
        *,
        reading_order: ReadingOrder = "basic",
        language: str | None = None,
    ) -> PageText:
        """Read the text on ``image`` (an RGB Pillow image) and return it in ``reading_order``."""
        ...
