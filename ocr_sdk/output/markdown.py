"""Markdown of what was read, shaped like Document Intelligence's ``outputContentFormat=markdown``.

::

    from ocr_sdk.output.markdown import to_markdown

    print(to_markdown(client.read("letter.pdf")))

Paragraphs are separated by a blank line and keep their lines (a line break inside a
paragraph, which Markdown renders as a space); pages are separated by Document Intelligence's
page-break marker, an HTML comment on its own line that renders as nothing::

    First paragraph, line one
    line two

    Second paragraph

    <!-- PageBreak -->

    Page two

The text is escaped so that it is never taken for formatting: ``*``, ``_``, backticks,
brackets, ``<``, ``|`` and the like get a backslash, and so does whatever would start a
block at the beginning of a line (``#``, ``>``, ``-``, ``+``, ``1.``, a line of ``=`` or
``-``). CommonMark renders the escaped text exactly as it was read.

Two entry points, both on neutral input (:mod:`ocr_sdk.output.text`) so that the emulator
can call them with its own results:

* :func:`markdown_from_paragraphs` takes the paragraphs ready-made, as lists of line texts per
  page (the emulator's Document Intelligence paragraphs);
* :func:`to_markdown` takes the pages read (a :class:`ocr_sdk.ReadResult`, whose v3.2 format
  has no paragraphs, or :class:`~ocr_sdk.output.text.TextPage` objects) and groups each
  page's lines into paragraphs itself with :func:`group_paragraphs`.

Imports nothing beyond the standard library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .text import TextLine, TextPage, text_pages

if TYPE_CHECKING:
    from .._models import ReadResult

__all__ = [
    "PAGE_BREAK",
    "ParagraphRule",
    "escape",
    "group_paragraphs",
    "markdown_from_paragraphs",
    "to_markdown",
]

PAGE_BREAK = "<!-- PageBreak -->"
"""What separates pages, as in Document Intelligence's markdown."""

# Characters that start or end inline formatting anywhere in CommonMark and GitHub's dialect:
# emphasis, code, links and images, raw HTML and autolinks, tables, strikethrough, escapes.
_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
# "&amp;" would render as "&": only an ampersand that starts an entity is escaped.
_ENTITY = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_HEADING = re.compile(r"^(#{1,6})(?=\s|$)")
_BULLET = re.compile(r"^([-+])(?=\s|$)")
_ORDERED = re.compile(r"^([0-9]{1,9})([.)])(?=\s|$)")
# A line of "=" or "-" under a paragraph line makes it a heading; "---", "- - -" is a rule.
_UNDERLINE = re.compile(r"^(=+|-+|(?:-[ \t]*){3,})[ \t]*$")


def escape(text: str) -> str:
    """``text`` as one line of Markdown that renders as exactly ``text``.

    Leading and trailing whitespace is dropped (four leading spaces would make a code block,
    two trailing ones a hard line break) and line breaks inside ``text`` become spaces.
    """
    line = " ".join(text.split())
    line = _ENTITY.sub(r"\\&", _INLINE.sub(r"\\\1", line))
    if _UNDERLINE.match(line):
        return "\\" + line
    for pattern, replacement in (
        (_HEADING, r"\\\1"),
        (_BULLET, r"\\\1"),
        (_ORDERED, r"\1\\\2"),
    ):
        line, count = pattern.subn(replacement, line, count=1)
        if count:
            break
    return line


def markdown_from_paragraphs(pages: Iterable[Iterable[Iterable[str]]]) -> str:
    """Markdown from explicit paragraphs: for each page, its paragraphs, each a list of the
    texts of its lines, in reading order.

    Lines are escaped (:func:`escape`); blank lines are dropped, and so are paragraphs left
    empty. A page with no text still counts, so page breaks keep their meaning: the markdown
    of three pages always has two :data:`PAGE_BREAK` markers.
    """
    rendered = []
    for paragraphs in pages:
        blocks = []
        for lines in paragraphs:
            kept = [escape(line) for line in lines if line.strip()]
            if kept:
                blocks.append("\n".join(kept))
        rendered.append("\n\n".join(blocks))
    return f"\n\n{PAGE_BREAK}\n\n".join(rendered)


@dataclass(frozen=True, slots=True)
class ParagraphRule:
    """When a line continues the paragraph of the line before it (see :func:`group_paragraphs`).

    Every length is a multiple of the two lines' mean height, so the rule is the same for
    pixels and inches, for large print and small. The defaults come from the eval corpus's
    letters and articles: lines of one paragraph nearly touch (a gap of -0.1 to 0.2 line
    heights between their boxes), paragraphs are 0.6 to 1 line height apart, and a first-line
    indent is 2 to 3 line heights.
    """

    max_gap: float = 0.5
    """Largest gap between the two lines' boxes."""
    max_overlap: float = 0.5
    """Largest overlap of the boxes (lines side by side, or out of order, overlap more)."""
    left_tolerance: float = 0.5
    """Largest difference of their left edges (text is left-aligned or justified)."""
    max_indent: float = 4.0
    """Largest first-line indent: how far right of the second line the first may start."""
    min_height_ratio: float = 0.75
    """Smallest ratio of the shorter line's height to the taller's (a heading's print is
    larger than the text under it)."""


@dataclass(frozen=True, slots=True)
class _Extent:
    left: float
    top: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


def _extent(line: TextLine, ux: float, uy: float) -> _Extent | None:
    if line.polygon is None:
        return None
    xs, ys = line.polygon[0::2], line.polygon[1::2]
    along = [x * ux + y * uy for x, y in zip(xs, ys, strict=True)]
    across = [y * ux - x * uy for x, y in zip(xs, ys, strict=True)]
    extent = _Extent(min(along), min(across), max(across))
    return extent if extent.height > 0 else None


def group_paragraphs(page: TextPage, rule: ParagraphRule | None = None) -> list[list[TextLine]]:
    """The page's lines, in their order, cut into paragraphs by a geometric rule.

    Each line's box is measured along and across the page's text direction (its ``angle``), so
    a skewed scan groups like a straight one. A line continues the current paragraph when,
    compared with the line before it, all of these hold (lengths in line heights, see
    :class:`ParagraphRule`):

    * it is just below: the gap between the boxes is at most ``max_gap`` and they overlap by
      at most ``max_overlap`` (a line beside the other, or above it, starts a paragraph);
    * its print is about as large: height ratio at least ``min_height_ratio``;
    * its left edge lines up within ``left_tolerance``, or the paragraph has only one line so
      far and that line starts at most ``max_indent`` further right (a first-line indent).

    Centred text therefore comes out one paragraph per line, and a line without a polygon is
    a paragraph of its own.
    """
    rule = rule or ParagraphRule()
    angle = math.radians(page.angle)
    ux, uy = math.cos(angle), math.sin(angle)
    paragraphs: list[list[TextLine]] = []
    previous: _Extent | None = None
    for line in page.lines:
        current = _extent(line, ux, uy)
        if (
            paragraphs
            and previous is not None
            and current is not None
            and _continues(previous, current, len(paragraphs[-1]), rule)
        ):
            paragraphs[-1].append(line)
            previous = current
            continue
        paragraphs.append([line])
        previous = current
    return paragraphs


def _continues(above: _Extent, below: _Extent, lines_so_far: int, rule: ParagraphRule) -> bool:
    height = (above.height + below.height) / 2
    gap = below.top - above.bottom
    if not -rule.max_overlap * height <= gap <= rule.max_gap * height:
        return False
    if min(above.height, below.height) < rule.min_height_ratio * max(above.height, below.height):
        return False
    shift = below.left - above.left
    if abs(shift) <= rule.left_tolerance * height:
        return True
    return lines_so_far == 1 and -rule.max_indent * height <= shift < 0


def to_markdown(pages: ReadResult | Sequence[TextPage], rule: ParagraphRule | None = None) -> str:
    """Markdown of every page read: lines grouped into paragraphs by :func:`group_paragraphs`,
    pages separated by :data:`PAGE_BREAK`.

    ``pages`` is a :class:`ocr_sdk.ReadResult` or :class:`~ocr_sdk.output.text.TextPage`
    objects, in order; only the pages given appear (a result of pages 2 and 5 has one break).
    """
    converted = pages if isinstance(pages, Sequence) else text_pages(pages)
    return markdown_from_paragraphs(
        ([line.content for line in paragraph] for paragraph in group_paragraphs(page, rule))
        for page in converted
    )
