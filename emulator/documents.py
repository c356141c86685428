"""Decoding inputs (PNG, JPEG, BMP, TIFF, PDF) into page images, and the service's input limits.

``inspect`` runs at submit time and is cheap (headers only): it tells the format and page
count and raises :class:`emulator.errors.ServiceError` with the service's 400 codes for bad
input. ``iter_pages`` runs in the worker and yields one RGB page at a time, so a 2000-page PDF
never holds more than one rasterised page in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from PIL import Image

DocumentFormat = Literal["png", "jpeg", "bmp", "tiff", "pdf"]


@dataclass(frozen=True, slots=True)
class Limits:
    """The service's input limits for one pricing tier."""

    max_bytes: int = 500 * 1024 * 1024
    max_pages: int = 2000
    min_dimension: int = 50
    max_dimension: int = 10000


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """What ``inspect`` learned from a document's headers."""

    format: DocumentFormat
    page_count: int


@dataclass(frozen=True, slots=True)
class PageImage:
    """One page ready for the engine.

    ``image`` is RGB. ``units_per_pixel`` converts engine pixel coordinates to the page's
    ``unit``: 1.0 for images (unit ``pixel``), ``1 / dpi`` for PDF pages (unit ``inch``).
    ``width`` and ``height`` are the page size in ``unit``.
    """

    number: int
    image: Image.Image
    unit: Literal["pixel", "inch"]
    units_per_pixel: float
    width: float
    height: float


def inspect(data: bytes, limits: Limits) -> DocumentInfo:
    """Identify the document and check it against ``limits``; raise ``ServiceError`` if bad."""
    raise NotImplementedError


def select_pages(ranges: Sequence[str] | None, page_count: int, limits: Limits) -> list[int]:
    """Resolve the ``pages`` query items (``N``, ``N-M``, ``N-``, ``-M``) to 1-based page
    numbers in ascending order, capped at ``limits.max_pages``; ``InvalidPageRange`` if bad."""
    raise NotImplementedError


def iter_pages(data: bytes, info: DocumentInfo, pages: Sequence[int]) -> Iterator[PageImage]:
    """Yield the selected pages one at a time as RGB images (PDF rasterised with pypdfium2)."""
    raise NotImplementedError
