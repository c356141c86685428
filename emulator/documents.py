"""Decoding inputs (PNG, JPEG, BMP, TIFF, PDF) into page images, and the service's input limits.

``inspect`` runs at submit time and is cheap (headers only): it tells the format and page
count and raises :class:`emulator.errors.ServiceError` with the service's 400 codes for bad
input. ``iter_pages`` runs in the worker and yields one RGB page at a time, so a 2000-page PDF
never holds more than one rasterised page in memory.

Both take the document as bytes or as a :class:`DocumentSource`, something that opens
seekable streams over it: the emulator's stored documents are sealed at rest and are read
through such streams (:mod:`emulator.sealed`), so Pillow and pdfium pull in only the parts
they need instead of a decrypted copy of the whole upload.

Error codes chosen where the service leaves room:

* an empty body is ``InvalidImageSize`` (the service reports the size rule, not the format,
  for a zero-byte upload);
* bytes that are none of the five formats are ``InvalidImageFormat``;
* a file whose header is right but whose content is corrupt or truncated is
  ``InvalidImageFormat`` at submit time when the header parse already fails, otherwise the
  same code is raised from ``iter_pages`` when the page is decoded;
* an encrypted (password-protected) PDF is ``InvalidImageFormat`` with a message saying so;
* a side under 50 or over 10000 px (or a PDF page over 17 inches, the service's PDF rule) is
  ``InvalidImageDimension``; Pillow's decompression-bomb guard answers the same code.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Literal, Protocol

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from emulator.errors import ServiceError
from ocr_sdk._formats import DocumentFormat, sniff_format

if TYPE_CHECKING:
    from PIL.ImageFile import ImageFile


__all__ = [
    "PDF_DPI",
    "DocumentFormat",
    "DocumentInfo",
    "DocumentSource",
    "Limits",
    "PageImage",
    "inspect",
    "iter_pages",
    "select_pages",
    "sniff_format",
]

#: Resolution PDF pages are rasterised at. Measured on the eval corpus's PDFs with
#: ``benchmarks/accuracy.py`` (see docs/accuracy.md): 150 dpi loses an invoice's small print;
#: 300 dpi makes a Letter page larger than the engine's 2000 px detection size, so the detector
#: sees it smaller than at 200 dpi and misses the same print again, at a higher cost.
PDF_DPI = 200.0

# The largest image the limits allow is 10000 x 10000; Pillow's default bomb threshold
# (~89 Mpx) would warn on legal inputs and its hard error (2x) would be the only guard.
# Pinning it to the service's own ceiling makes anything larger a refusal, not a warning.
_MAX_PIXELS = 10000 * 10000
Image.MAX_IMAGE_PIXELS = _MAX_PIXELS

_PDFIUM_LOCK = threading.Lock()
_PAGE_ITEM = re.compile(r"^(\d+|\d+-\d+|\d+-|-\d+)$")
_POINTS_PER_INCH = 72.0


class DocumentSource(Protocol):
    """A document that can be read more than once without being held in one buffer."""

    @property
    def size(self) -> int:
        """The document's length in bytes."""
        ...

    def open(self) -> IO[bytes]:
        """A new seekable binary stream over the document, positioned at its start."""
        ...


Document = bytes | DocumentSource
"""A document as :func:`inspect` and :func:`iter_pages` take it."""


@contextmanager
def _stream(document: Document) -> Iterator[IO[bytes]]:
    """A seekable stream over ``document``, closed on exit (bytes are not copied)."""
    stream = io.BytesIO(document) if isinstance(document, bytes) else document.open()
    with stream:
        yield stream


def _size(document: Document) -> int:
    return len(document) if isinstance(document, bytes) else document.size


@dataclass(frozen=True, slots=True)
class Limits:
    """The service's input limits for one pricing tier."""

    max_bytes: int = 500 * 1024 * 1024
    max_pages: int = 2000
    min_dimension: int = 50
    max_dimension: int = 10000
    #: The service's PDF page limit (Legal/A3 and smaller), in inches per side.
    max_pdf_inches: float = 17.0

    @classmethod
    def free(cls) -> Limits:
        """The free (F0) tier: 4 MB per document and only the first 2 pages processed."""
        return cls(max_bytes=4 * 1024 * 1024, max_pages=2)


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


def _format_error(message: str) -> ServiceError:
    return ServiceError(400, "InvalidImageFormat", message)


def _dimension_error(width: float, height: float, limits: Limits, unit: str = "px") -> ServiceError:
    return ServiceError(
        400,
        "InvalidImageDimension",
        f"The input image dimensions are {width:g}x{height:g} {unit}; each side must be between "
        f"{limits.min_dimension} and {limits.max_dimension} pixels.",
    )


def inspect(data: Document, limits: Limits) -> DocumentInfo:
    """Identify the document and check it against ``limits``; raise ``ServiceError`` if bad.

    Reads headers only (Pillow's lazy open, pdfium's page-size table), so it is safe to call
    on the request path.
    """
    size = _size(data)
    if size == 0:
        raise ServiceError(
            400,
            "InvalidImageSize",
            "The input image is empty. Send the document's bytes in the request body.",
        )
    if size > limits.max_bytes:
        raise ServiceError(
            400,
            "InvalidImageSize",
            f"The input image is {size} bytes; the limit is {limits.max_bytes} bytes.",
        )
    if isinstance(data, bytes):
        head = data[:1024]
    else:
        with _stream(data) as stream:
            head = stream.read(1024)
    fmt = sniff_format(head)
    if fmt is None:
        raise _format_error(
            "Input data is not a valid image or PDF. Supported formats: JPEG, PNG, BMP, TIFF, PDF."
        )
    if fmt == "pdf":
        return DocumentInfo("pdf", _inspect_pdf(data, limits))
    return DocumentInfo(fmt, _inspect_image(data, fmt, limits))


@contextmanager
def _open_image(data: Document) -> Iterator[ImageFile]:
    """Open ``data`` lazily, turning every Pillow failure into the service's 400 codes."""
    # No warnings.catch_warnings() here: it swaps process-wide state and is not thread-safe.
    # Pillow only warns (DecompressionBombWarning) between MAX_IMAGE_PIXELS and twice that, and
    # such an image has a side over 10000 px, which the dimension check refuses anyway.
    try:
        with _stream(data) as stream, Image.open(stream) as img:
            yield img
    except Image.DecompressionBombError as exc:
        raise ServiceError(
            400,
            "InvalidImageDimension",
            f"The input image is larger than the service's {_MAX_PIXELS} pixel limit.",
        ) from exc
    except ServiceError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow signals corrupt/truncated data with all of these, depending on the plugin.
        raise _format_error("Input data is not a valid image: it is corrupt or truncated.") from exc


def _inspect_image(data: Document, fmt: DocumentFormat, limits: Limits) -> int:
    with _open_image(data) as img:
        if (img.format or "").lower() not in {fmt, "mpo"}:
            # The magic said one thing and Pillow decoded another: not a file we trust.
            raise _format_error("Input data is not a valid image: its header is inconsistent.")
        page_count = getattr(img, "n_frames", 1) if fmt == "tiff" else 1
        for index in range(page_count):
            if index:
                img.seek(index)
            width, height = img.size
            if not _dimension_ok(width, height, limits):
                raise _dimension_error(width, height, limits)
        if fmt == "png":
            # PNG's chunk CRCs catch truncation and corruption without decoding pixels.
            img.verify()
    return int(page_count)


def _dimension_ok(width: float, height: float, limits: Limits) -> bool:
    return (
        limits.min_dimension <= width <= limits.max_dimension
        and limits.min_dimension <= height <= limits.max_dimension
    )


class _PdfiumReader:
    """The stream pdfium reads a document through (pypdfium2 calls these from a ctypes
    callback). An exception cannot cross back into pdfium, so a failed read (a segment that
    does not decrypt, or is gone) is kept here and returned as a short read, which pdfium
    reports as a load or render error; :func:`_open_pdf` then raises the real cause."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.error: Exception | None = None

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        try:
            return self._stream.readinto(buffer)  # type: ignore[attr-defined,no-any-return]
        except Exception as error:
            self.error = error
            return 0


@contextmanager
def _open_pdf(data: Document) -> Iterator[pdfium.PdfDocument]:
    """Open a PDF under the pdfium lock and close it deterministically on exit.

    PDFium is not thread-safe, even across documents, and the service inspects uploads on
    request threads while workers rasterise: every pdfium call happens inside this block.
    """
    with _PDFIUM_LOCK, contextlib.ExitStack() as stack:
        reader = None
        if not isinstance(data, bytes):
            reader = _PdfiumReader(stack.enter_context(_stream(data)))
        try:
            pdf = pdfium.PdfDocument(data if reader is None else reader)
        except pdfium.PdfiumError as exc:
            if reader is not None and reader.error is not None:
                raise reader.error from exc
            text = str(exc).lower()
            if "password" in text or "security" in text:
                raise _format_error(
                    "The PDF is encrypted or password-protected; send an unprotected PDF."
                ) from exc
            raise _format_error(
                "Input data is not a valid PDF: it is corrupt or truncated."
            ) from exc
        try:
            yield pdf
        except Exception as exc:
            if reader is not None and reader.error is not None:
                raise reader.error from exc
            raise
        else:
            # pdfium may draw what it could read and not complain: a failed read still fails.
            if reader is not None and reader.error is not None:
                raise reader.error
        finally:
            pdf.close()


def _inspect_pdf(data: Document, limits: Limits) -> int:
    with _open_pdf(data) as pdf:
        page_count = len(pdf)
        if page_count < 1:
            raise _format_error("The PDF has no pages.")
        for index in range(page_count):
            width_pt, height_pt = pdf.get_page_size(index)
            width_in = width_pt / _POINTS_PER_INCH
            height_in = height_pt / _POINTS_PER_INCH
            if max(width_in, height_in) > limits.max_pdf_inches or min(width_pt, height_pt) <= 0:
                raise ServiceError(
                    400,
                    "InvalidImageDimension",
                    f"PDF page {index + 1} is {width_in:.2f}x{height_in:.2f} in; each side must "
                    f"be at most {limits.max_pdf_inches:g} in.",
                )
    return page_count


def select_pages(ranges: Sequence[str] | None, page_count: int, limits: Limits) -> list[int]:
    """Resolve the ``pages`` query items (``N``, ``N-M``, ``N-``, ``-M``) to 1-based page
    numbers in ascending order, capped at ``limits.max_pages``; ``InvalidPageRange`` if bad.

    ``None`` or an empty list selects every page. An item that is malformed, contains page 0,
    runs backwards (``5-3``) or lies entirely beyond the document is refused; a range that only
    partly overlaps the document is clipped to it (``2-99`` on 3 pages is 2 and 3).
    """
    items = [item.strip() for item in ranges or () if item.strip()]
    if not items:
        chosen = set(range(1, page_count + 1))
    else:
        chosen = set()
        for item in items:
            first, last = _parse_range(item, page_count)
            chosen.update(range(first, min(last, page_count) + 1))
    return sorted(chosen)[: limits.max_pages]


def _parse_range(item: str, page_count: int) -> tuple[int, int]:
    def bad(reason: str) -> ServiceError:
        return ServiceError(400, "InvalidPageRange", f"Invalid page range {item!r}: {reason}.")

    if not _PAGE_ITEM.match(item):
        raise bad("use N, N-M, N- or -M with 1-based page numbers")
    head, sep, tail = item.partition("-")
    first = int(head) if head else 1
    last = (int(tail) if tail else page_count) if sep else first
    if first < 1 or last < 1:
        raise bad("page numbers start at 1")
    if first > last:
        raise bad("the first page is after the last")
    if first > page_count:
        raise bad(f"the document has {page_count} page(s)")
    return first, last


def iter_pages(
    data: Document, info: DocumentInfo, pages: Sequence[int], *, dpi: float = PDF_DPI
) -> Iterator[PageImage]:
    """Yield the selected pages one at a time as RGB images (PDF rasterised with pypdfium2).

    ``pages`` are 1-based numbers as returned by :func:`select_pages`. Decoding failures
    surface as ``ServiceError(400, "InvalidImageFormat")``, never as Pillow/pdfium exceptions.
    PDF pages are rendered at ``dpi`` (capped so no side exceeds 10000 px) and reported in
    inches; images keep their pixels.
    """
    if info.format == "pdf":
        yield from _iter_pdf_pages(data, pages, dpi)
    else:
        yield from _iter_image_pages(data, pages)


def _iter_image_pages(data: Document, pages: Sequence[int]) -> Iterator[PageImage]:
    for number in pages:
        # Reopen per page: a generator that outlives one page must not pin a decoded frame.
        with _open_image(data) as img:
            try:
                if number > 1:
                    img.seek(number - 1)
                img.load()
                # EXIF orientation (JPEG, and TIFF's same tag) is how the page is meant to be
                # seen; exif_transpose is a no-op without it.
                rgb = to_rgb(ImageOps.exif_transpose(img))
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise _format_error(
                    f"Page {number} could not be decoded: the image is corrupt or truncated."
                ) from exc
        yield PageImage(
            number=number,
            image=rgb,
            unit="pixel",
            units_per_pixel=1.0,
            width=float(rgb.width),
            height=float(rgb.height),
        )


def _iter_pdf_pages(data: Document, pages: Sequence[int], dpi: float) -> Iterator[PageImage]:
    for number in pages:
        # Open, render, close for each page: no pdfium object outlives the lock or is left
        # for the garbage collector (possibly on another thread) while the consumer works.
        page_image = _render_pdf_page(data, number, dpi)
        yield page_image


def _render_pdf_page(data: Document, number: int, dpi: float) -> PageImage:
    with _open_pdf(data) as pdf:
        if not 1 <= number <= len(pdf):
            raise ServiceError(400, "InvalidPageRange", f"The PDF has no page {number}.")
        try:
            page = pdf[number - 1]
            try:
                width_pt, height_pt = page.get_size()
                # Never render beyond the service's image ceiling, whatever the page size.
                scale = min(dpi / _POINTS_PER_INCH, 10000 / max(width_pt, height_pt, 1.0))
                bitmap = page.render(scale=scale, may_draw_forms=True)
                try:
                    image = to_rgb(bitmap.to_pil())
                finally:
                    bitmap.close()
            finally:
                page.close()
        except pdfium.PdfiumError as exc:
            raise _format_error(f"PDF page {number} could not be rendered.") from exc
    # Derived from the rendered bitmap so a page's /Rotate (which swaps the sides) is
    # reflected exactly as the pixels the engine sees.
    pixels_per_inch = scale * _POINTS_PER_INCH
    return PageImage(
        number=number,
        image=image,
        unit="inch",
        units_per_pixel=1.0 / pixels_per_inch,
        width=image.width / pixels_per_inch,
        height=image.height / pixels_per_inch,
    )


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB the way a viewer would show it.

    Transparency is composited onto white (a transparent background with black text must not
    turn black), 16/32-bit and float greyscale are scaled by their real range rather than
    clipped, palette and 1-bit images are expanded.
    """
    mode = img.mode
    if mode == "RGB":
        # Always a copy: pdfium's bitmaps and lazily opened files back their images with
        # buffers that are closed once the page is done.
        return img.copy()
    if mode in {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}:
        arr = np.asarray(img, dtype=np.float64)
        if mode.startswith("I;16"):
            arr = arr / 257.0
        else:
            lo, hi = float(arr.min(initial=0.0)), float(arr.max(initial=255.0))
            arr = (arr - lo) * (255.0 / max(hi - lo, 1e-9)) if hi > 255 or lo < 0 else arr
        grey = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
        return grey.convert("RGB")
    has_alpha = mode in {"RGBA", "LA", "PA", "La", "RGBa"} or (
        mode == "P" and "transparency" in img.info
    )
    if mode == "L" and "transparency" in img.info:
        has_alpha = True
    if has_alpha:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "1":
        return img.convert("L").convert("RGB")
    return img.convert("RGB")
