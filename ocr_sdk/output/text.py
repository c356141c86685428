"""What was read on a page, in a neutral form: the input of the searchable-PDF and Markdown
writers (:mod:`ocr_sdk.output.searchable_pdf`, :mod:`ocr_sdk.output.markdown`).

Small frozen dataclasses rather than the SDK's wire models, so that anything that knows a
page's words can call the writers: the SDK with a Read v3.2 result (:func:`text_pages`), the
emulator with its engine's output, or a Document Intelligence result (whose words and lines
have ``content`` and ``polygon`` instead of ``text`` and ``boundingBox``, and whose lines name
their words through spans).

Coordinates are the service's: a page is ``width`` x ``height`` in its ``unit`` (``pixel`` for
images, ``inch`` for PDF), with the origin at the top left and y growing downwards, and a
polygon is four corners clockwise from the top left *of the text* (so the first two corners
are the top edge of the word as it reads, whatever the page's rotation).

Imports nothing beyond the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias, cast

if TYPE_CHECKING:
    from .._models import Line, Page, ReadResult

__all__ = [
    "Polygon",
    "TextBox",
    "TextLine",
    "TextPage",
    "TextWord",
    "text_page",
    "text_pages",
]

Polygon: TypeAlias = tuple[float, float, float, float, float, float, float, float]
"""Four (x, y) corners, clockwise from the text's top left, flattened."""


def _polygon(values: Sequence[float], what: str) -> Polygon:
    if len(values) != 8:
        raise ValueError(f"{what} polygon needs 8 numbers, got {len(values)}")
    numbers = tuple(float(value) for value in values)
    if not all(math.isfinite(number) for number in numbers):
        raise ValueError(f"{what} polygon has a number that is not finite: {values!r}")
    return numbers  # type: ignore[return-value]  # length checked above


@dataclass(frozen=True, slots=True)
class TextWord:
    """A word: its text and where it is on the page."""

    text: str
    """The word as read."""
    polygon: Polygon
    """Its four corners, clockwise from the top left of the text, in the page's unit."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "polygon", _polygon(self.polygon, "a word's"))


@dataclass(frozen=True, slots=True)
class TextLine:
    """A line of text: its words in reading order, and its own text and polygon.

    ``text`` defaults to the words joined by spaces; give it when the service's line text says
    better where the spaces are (Chinese and Japanese lines have none between their one-character
    words). ``polygon`` defaults to the box from the first word's left edge to the last word's
    right edge; an empty line without one gets none.
    """

    words: tuple[TextWord, ...] = ()
    """The line's words, in reading order."""
    text: str | None = None
    """The line's text; ``None`` on input means the words joined by spaces."""
    polygon: Polygon | None = None
    """The line's four corners, like a word's; ``None`` on input means derived from the words."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(self.words))
        if self.text is None:
            object.__setattr__(self, "text", " ".join(word.text for word in self.words))
        if self.polygon is not None:
            object.__setattr__(self, "polygon", _polygon(self.polygon, "a line's"))
        elif self.words:
            first, last = self.words[0].polygon, self.words[-1].polygon
            # Top left and bottom left of the first word, top right and bottom right of the last.
            joined = (*first[0:2], *last[2:4], *last[4:6], *first[6:8])
            object.__setattr__(self, "polygon", joined)

    @property
    def content(self) -> str:
        """The line's text (never ``None`` once built)."""
        return self.text or ""


@dataclass(frozen=True, slots=True)
class TextPage:
    """One page that was read: its number and size in the source, and its lines."""

    number: int
    """1-based page number in the source document (a TIFF frame or a PDF page)."""
    width: float
    """Page width in ``unit``: the width the service saw, after any rotation."""
    height: float
    """Page height in ``unit``."""
    unit: str = "pixel"
    """``pixel`` (images) or ``inch`` (PDF); every coordinate of the page is in it."""
    angle: float = 0.0
    """Skew of the text in degrees clockwise, as the service reports it; used for words whose
    polygon is too small to tell a direction."""
    lines: tuple[TextLine, ...] = field(default=())
    """Lines in reading order."""

    def __post_init__(self) -> None:
        if self.number < 1:
            raise ValueError(f"page numbers start at 1, got {self.number}")
        if not (math.isfinite(self.width) and math.isfinite(self.height)):
            raise ValueError("a page's width and height must be finite")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"page {self.number} has no area: {self.width} x {self.height}")
        object.__setattr__(self, "lines", tuple(self.lines))

    @property
    def words(self) -> Iterable[TextWord]:
        """Every word of the page, line by line."""
        return (word for line in self.lines for word in line.words)


@dataclass(frozen=True, slots=True)
class TextBox:
    """A polygon seen as a rotated rectangle, in page coordinates (y down).

    ``(ux, uy)`` is the unit vector along the text (left to right as it reads); ``(-uy, ux)``
    points from the text's top to its bottom. ``left``/``right`` are the extent along the first,
    ``top``/``bottom`` along the second (projections on those axes, not page coordinates).
    """

    ux: float
    uy: float
    left: float
    right: float
    top: float
    bottom: float

    @property
    def width(self) -> float:
        """Extent along the text."""
        return self.right - self.left

    @property
    def height(self) -> float:
        """Extent across the text."""
        return self.bottom - self.top

    def point(self, along: float, across: float) -> tuple[float, float]:
        """Page coordinates of the point at ``along`` (text direction) and ``across``."""
        return (
            along * self.ux - across * self.uy,
            along * self.uy + across * self.ux,
        )

    @classmethod
    def of(cls, polygon: Polygon, angle: float = 0.0, along: TextBox | None = None) -> TextBox:
        """The box of ``polygon``: its direction is that of ``along`` when given (the line a
        word belongs to), else the mean of its top and bottom edges (a skewed scan's words are
        slanted), else ``angle`` (degrees clockwise) when the polygon is too small to have
        one."""
        x1, y1, x2, y2, x3, y3, x4, y4 = polygon
        dx, dy = (x2 - x1) + (x3 - x4), (y2 - y1) + (y3 - y4)
        length = math.hypot(dx, dy)
        if along is not None:
            ux, uy = along.ux, along.uy
        elif length > 1e-9:
            ux, uy = dx / length, dy / length
        else:
            # y grows downwards, so a clockwise angle is a positive sine.
            ux, uy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        lengthwise = (x1 * ux + y1 * uy, x2 * ux + y2 * uy, x3 * ux + y3 * uy, x4 * ux + y4 * uy)
        across = (y1 * ux - x1 * uy, y2 * ux - x2 * uy, y3 * ux - x3 * uy, y4 * ux - x4 * uy)
        return cls(ux, uy, min(lengthwise), max(lengthwise), min(across), max(across))


# --- from the SDK's models ----------------------------------------------------------------------


def _line(line: Line) -> TextLine:
    words = tuple(
        TextWord(word.text or "", _polygon(word.bounding_box, "a word's"))
        for word in line.words
        # A word without a usable polygon cannot be placed; the line's text still has it.
        if word.text and word.bounding_box is not None and len(word.bounding_box) == 8
    )
    box = line.bounding_box
    polygon = _polygon(box, "a line's") if box is not None and len(box) == 8 else None
    text = line.text if line.text is not None else " ".join(word.text or "" for word in line.words)
    return TextLine(words, text, polygon)


def text_page(page: Page, number: int | None = None) -> TextPage:
    """A Read v3.2 page (:class:`ocr_sdk.Page`) in the neutral form.

    ``number`` stands in for a missing ``page`` field. Raises ``ValueError`` when the page has
    no number, width or height, since its words could not be placed.
    """
    page_number = page.page if page.page is not None else number
    if page_number is None:
        raise ValueError("the page has no page number")
    if page.width is None or page.height is None:
        raise ValueError(f"page {page_number} has no width or height")
    return TextPage(
        number=page_number,
        width=float(page.width),
        height=float(page.height),
        # TextUnit is a StrEnum: str() is its value; an unknown unit is already a str.
        unit=str(page.unit) if page.unit is not None else "pixel",
        angle=float(page.angle or 0.0),
        lines=tuple(_line(line) for line in page.lines),
    )


def text_pages(result: ReadResult | Iterable[Page]) -> list[TextPage]:
    """Every page of a Read v3.2 result (a :class:`ocr_sdk.ReadResult`, or its ``pages``) in the
    neutral form, in order; a page without a number is taken to follow the one before."""
    # A ReadResult is a pydantic model, which is iterable too (over its fields): ask for pages.
    pages = cast("Iterable[Page]", getattr(result, "pages", result))
    converted: list[TextPage] = []
    for page in pages:
        following = converted[-1].number + 1 if converted else 1
        converted.append(text_page(page, following))
    return converted
