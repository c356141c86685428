"""Decoding inputs (PNG, JPEG, BMP, TIFF, PDF) into page images, and the service's input limits.

``inspect`` runs at submit time and is cheap (headers only): it tells the format and page
count and raises :class:`emulator.errors.ServiceError` with the service's 400 codes for bad
input. It counts (and checks) pages only as far as the request can reach
(:func:`pages_to_count`): a TIFF's pages are a chain that can only be walked, and a 30 000-page
one of a few megabytes must not cost a walk of every page when only 2000 are read.
``iter_pages`` runs in the worker and yields one RGB page at a time, so a 2000-page PDF
never holds more than one rasterised page in memory; a TIFF's pages come from one open file
in one forward walk, so reading N pages costs N steps, not N²/2
(``benchmarks/multipage_tiff.py``).

Both take the document as bytes or as a :class:`DocumentSource`, something that opens
seekable streams over it: the emulator's stored documents are sealed at rest and are read
through such streams (:mod:`emulator.security.sealed`), so Pillow and pdfium pull in only the parts
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

Why one module (over 600 lines): ``inspect`` (at submit) and ``iter_pages`` (in the worker)
read each format through the same openers (Pillow's frame walk, pdfium under one lock, the
whole-file fallback for a stream Pillow cannot seek), and what ``inspect`` accepts must be what
``iter_pages`` can draw; kept together, a change to how a format is read changes both.
"""

from __future__ import annotations

import contextlib
import io
import re
import struct
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol, cast

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.TiffImagePlugin import TiffImageFile

from emulator.errors import ServiceError
from ocr_sdk._formats import DocumentFormat, sniff_format

if TYPE_CHECKING:
    from PIL.ImageFile import ImageFile


__all__ = [
    "PDF_DPI",
    "READ_FORMATS",
    "DocumentFormat",
    "DocumentInfo",
    "DocumentSource",
    "Limits",
    "PageImage",
    "PageReader",
    "inspect",
    "iter_pages",
    "pages_to_count",
    "preview_png",
    "select_pages",
    "sniff_format",
    "sniff_web_image",
]

#: The image formats only Image Analysis takes (first frame or largest icon only).
WebImageFormat = Literal["gif", "webp", "ico"]
#: Every format the decoder reads.
ImageFormat = DocumentFormat | WebImageFormat
#: What Read v3.2 and Document Intelligence take (the others are ``InvalidImageFormat``).
READ_FORMATS: frozenset[str] = frozenset({"png", "jpeg", "bmp", "tiff", "pdf"})

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

#: The longest side of a page's preview image (:func:`preview_png`): enough to read a page on
#: a large screen; about 300 KB for a Letter page of text.
PREVIEW_SIDE = 1600
# zlib level 3: faster than the default (6), and no larger on pages of text (a Letter page at
# 1236 x 1600: 40 ms and 296 KB, against 59 ms and 323 KB).
_PREVIEW_COMPRESSION = 3

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
    """What ``inspect`` learned from a document's headers.

    ``page_count`` is the document's page count, or the ``count_to`` :func:`inspect` was given
    when the document has more pages than that (they were not counted).
    """

    format: ImageFormat
    page_count: int


@dataclass(frozen=True, slots=True)
class PageImage:
    """One page ready for the engine.

    ``image`` is RGB. ``units_per_pixel`` converts engine pixel coordinates to the page's
    ``unit``: 1.0 for images (unit ``pixel``), ``1 / dpi`` for PDF pages (unit ``inch``).
    ``width`` and ``height`` are the page size in ``unit``. ``preview`` is the page as a PNG
    of at most :data:`PREVIEW_SIDE` pixels a side (:func:`preview_png`), when the job asked
    for page images; else None.
    """

    number: int
    image: Image.Image
    unit: Literal["pixel", "inch"]
    units_per_pixel: float
    width: float
    height: float
    preview: bytes | None = None


def _format_error(message: str) -> ServiceError:
    return ServiceError(400, "InvalidImageFormat", message)


def _dimension_error(width: float, height: float, limits: Limits, unit: str = "px") -> ServiceError:
    return ServiceError(
        400,
        "InvalidImageDimension",
        f"The input image dimensions are {width:g}x{height:g} {unit}; each side must be between "
        f"{limits.min_dimension} and {limits.max_dimension} pixels.",
    )


def _bomb_error() -> ServiceError:
    return ServiceError(
        400,
        "InvalidImageDimension",
        f"The input image is larger than the service's {_MAX_PIXELS} pixel limit.",
    )


def inspect(data: Document, limits: Limits, *, count_to: int | None = None) -> DocumentInfo:
    """Identify the document and check it against ``limits``; raise ``ServiceError`` if bad.

    Reads headers only (Pillow's lazy open, pdfium's page-size table), so it is safe to call
    on the request path. Pages are counted and their sizes checked up to ``count_to``
    (default ``limits.max_pages``, what a request without page ranges reads; a request with
    ranges passes :func:`pages_to_count`), and no further: what lies beyond is never read.
    """
    count_to = limits.max_pages if count_to is None else max(count_to, 1)
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
    fmt: ImageFormat | None = sniff_format(head) or sniff_web_image(head)
    if fmt is None:
        raise _format_error(
            "Input data is not a valid image or PDF. Supported formats: JPEG, PNG, BMP, TIFF, PDF."
        )
    if fmt == "pdf":
        return DocumentInfo("pdf", _inspect_pdf(data, limits, count_to))
    return DocumentInfo(fmt, _inspect_image(data, fmt, limits, count_to))


@contextmanager
def _open_image(data: Document) -> Iterator[ImageFile]:
    """Open ``data`` lazily, turning every Pillow failure into the service's 400 codes."""
    # No warnings.catch_warnings() here: it swaps process-wide state and is not thread-safe.
    # Pillow only warns (DecompressionBombWarning) between MAX_IMAGE_PIXELS and twice that, and
    # such an image has a side over 10000 px, which the dimension check refuses anyway.
    try:
        with _stream(data) as stream, Image.open(_whole_on_request(stream)) as img:
            yield img
    except Image.DecompressionBombError as exc:
        raise _bomb_error() from exc
    except ServiceError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow signals corrupt/truncated data with all of these, depending on the plugin.
        raise _format_error("Input data is not a valid image: it is corrupt or truncated.") from exc


def sniff_web_image(head: bytes) -> WebImageFormat | None:
    """GIF, WebP or ICO from its magic bytes: formats Image Analysis takes (its images come
    from the web) and Read and Document Intelligence refuse (:data:`READ_FORMATS`)."""
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"\x00\x00\x01\x00") and len(head) >= 6 and head[4:6] != b"\x00\x00":
        return "ico"
    return None


def _inspect_image(data: Document, fmt: ImageFormat, limits: Limits, count_to: int) -> int:
    with _open_image(data) as img:
        if (img.format or "").lower() not in {fmt, "mpo"}:
            # The magic said one thing and Pillow decoded another: not a file we trust.
            raise _format_error("Input data is not a valid image: its header is inconsistent.")
        page_count = 0
        while True:
            width, height = img.size
            if not _dimension_ok(width, height, limits):
                raise _dimension_error(width, height, limits)
            page_count += 1
            if fmt != "tiff" or page_count >= count_to:
                break
            # One step along the TIFF's chain of pages: the next page's tags, no pixels.
            # Not n_frames, which walks the whole chain however long it is.
            try:
                img.seek(page_count)
            except EOFError:  # Pillow's only way of saying there is no next page
                break
        if fmt == "png":
            # PNG's chunk CRCs catch truncation and corruption without decoding pixels.
            img.verify()
    return page_count


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


def _inspect_pdf(data: Document, limits: Limits, count_to: int) -> int:
    with _open_pdf(data) as pdf:
        page_count = min(len(pdf), count_to)
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


def pages_to_count(ranges: Sequence[str] | None, limits: Limits) -> int:
    """How far :func:`inspect` must count a document's pages for :func:`select_pages` to
    resolve ``ranges`` exactly as it would knowing every page.

    That is the last page :func:`select_pages` could pick (the ``limits.max_pages``-th
    selected page of a document that never ends), or the first page of an item that starts
    further (it is refused when the document has fewer pages). Without ranges it is
    ``limits.max_pages``. Malformed items are left for :func:`select_pages` to refuse.
    """
    items = [item.strip() for item in ranges or () if item.strip()]
    if not items:
        return limits.max_pages
    reach = 1
    spans: list[tuple[int, int | None]] = []  # (first, last); None: to the end
    for item in items:
        if not _PAGE_ITEM.match(item):
            continue
        head, sep, tail = item.partition("-")
        try:
            first = int(head) if head else 1
            last = (int(tail) if tail else None) if sep else first
        except ValueError:  # more digits than int() takes: refused by select_pages
            continue
        if first < 1 or (last is not None and not first <= last):
            continue  # refused whatever the page count
        reach = max(reach, first)
        spans.append((first, last))
    # The first max_pages numbers of the union of the spans, the spans taken in order.
    taken = highest = 0
    for first, last in sorted(spans, key=lambda span: span[0]):
        start = max(first, highest + 1)
        room = limits.max_pages - taken
        count = room if last is None else min(room, last - start + 1)
        if count > 0:
            taken += count
            highest = start + count - 1
        if taken >= limits.max_pages:
            break
    return max(reach, highest)


def iter_pages(
    data: Document, info: DocumentInfo, pages: Sequence[int], *, dpi: float = PDF_DPI
) -> Iterator[PageImage]:
    """Yield the selected pages one at a time as RGB images (PDF rasterised with pypdfium2).

    ``pages`` are 1-based numbers as returned by :func:`select_pages`. Decoding failures
    surface as ``ServiceError(400, "InvalidImageFormat")``, never as Pillow/pdfium exceptions.
    PDF pages are rendered at ``dpi`` (capped so no side exceeds 10000 px) and reported in
    inches; images keep their pixels. The pages come from one :class:`PageReader`, so a
    TIFF's pages in ascending order cost one walk of the file.
    """
    with PageReader(data, info, dpi=dpi) as reader:
        for number in pages:
            yield reader.page(number)


class PageReader:
    """Draw pages of one document on request, from a file kept open between requests.

    A TIFF's pages are a chain that can only be walked from its start (each page's header
    says where the next one is): opening the file for every page would make reading N pages
    cost N²/2 steps. The open image stays at the last page drawn, so pages asked for in
    ascending order (as :func:`select_pages` gives them) cost one walk in all; a page at or
    before the last one drawn opens the file again. Between requests the reader holds the
    open stream and the image's headers, never a decoded page (and, once a compressed TIFF
    page was drawn, one copy of the document for libtiff: :class:`_WholeOnRequest`, the
    copy Pillow used to make for every such page). A PDF page is opened,
    rendered and closed per request: no pdfium object outlives the lock, or is left for the
    garbage collector (possibly on another thread) while the caller works.

    Used by one thread at a time; close it (or use it in ``with``) when done.
    """

    def __init__(self, data: Document, info: DocumentInfo, *, dpi: float = PDF_DPI) -> None:
        self._data = data
        self._info = info
        self._dpi = dpi
        self._opened = contextlib.ExitStack()
        self._image: ImageFile | None = None

    def __enter__(self) -> PageReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the open file, if any."""
        self._image = None
        self._opened.close()

    def page(self, number: int) -> PageImage:
        """Page ``number`` (1-based) as an RGB :class:`PageImage`; decoding failures raise
        ``ServiceError`` as :func:`iter_pages` says."""
        if self._info.format == "pdf":
            return _render_pdf_page(self._data, number, self._dpi)
        img = self._image
        if img is not None and number - 1 <= img.tell():
            self.close()
            img = None
        if img is None:
            img = self._image = self._opened.enter_context(_open_image(self._data))
        try:
            rgb = _decode_frame(img, number)
        except BaseException:
            self.close()  # an image that failed halfway is not trusted for the next page
            raise
        return PageImage(
            number=number,
            image=rgb,
            unit="pixel",
            units_per_pixel=1.0,
            width=float(rgb.width),
            height=float(rgb.height),
        )


def _decode_frame(img: ImageFile, number: int) -> Image.Image:
    """Page ``number`` of ``img`` (at or after its current page) as a new RGB image. The
    image's own decoded frame is dropped: an open file holds no pixels between pages."""
    try:
        if number - 1 != img.tell():
            img.seek(number - 1)
        if isinstance(img.fp, _WholeOnRequest) and isinstance(img, TiffImageFile):
            img.fp.present(img.tag_v2.offset)  # libtiff is shown this page alone
        img.load()
        # EXIF orientation (JPEG, and TIFF's same tag) is how the page is meant to be seen.
        # exif_transpose returns a new image either way (turned, or a copy), which owns its
        # pixels: it needs no further copy when it is RGB already. A 10000 x 10000 page is
        # 400 MB in Pillow, so each copy avoided is one the decoder's memory need not hold.
        oriented = ImageOps.exif_transpose(img)
        # Pillow keeps the decoded frame to reuse its buffer for the next page; a reader
        # waiting while the engine reads this page must not pin a second copy of it. The next
        # seek sets up the next page's decoding, which allocates a frame of its own.
        img._im = None
        rgb = oriented if oriented.mode == "RGB" else to_rgb(oriented)
    except Image.DecompressionBombError as exc:
        raise _bomb_error() from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _format_error(
            f"Page {number} could not be decoded: the image is corrupt or truncated."
        ) from exc
    return rgb


class _WholeOnRequest:
    """A document's stream as Pillow reads it, plus the whole document for libtiff, read once
    and made to look like a file of one page.

    Pillow hands a compressed TIFF page to libtiff as the whole file (``getvalue()`` when the
    stream has it, else the stream read again from its start) and the offset of the page's
    header (IFD). Two costs would then grow with the document on every page: reading all of it
    again (decrypting it, for a sealed document), and libtiff numbering the page it is given
    by walking the file's whole chain of pages (``TIFFSetSubDirectory`` counts them). So the
    document is read once, on the first such page, into a buffer of this reader's own, and
    before each page (:meth:`present`) two pointers in it are patched: the file's first page
    is that page, and it has no next one. libtiff then walks one header. Pillow itself reads
    through the stream, never through this buffer. Raw TIFF pages and the other formats
    never ask for it, and nothing is held for them.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._whole: bytearray | None = None
        self._page: int | None = None
        self._undo: list[tuple[int, bytes]] = []

    def read(self, size: int = -1, /) -> bytes:
        return self._stream.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def __getattr__(self, name: str) -> Any:
        # What else Pillow's plugins use while they try the file (readline, fileno, ...).
        if name.startswith("_"):  # never our own, missing (a copy made without __init__)
            raise AttributeError(name)
        return getattr(self._stream, name)

    def present(self, ifd_offset: int | None) -> None:
        """Have :meth:`getvalue` show the TIFF page whose header is at ``ifd_offset`` as the
        file's only page (None: the file as it is)."""
        self._page = ifd_offset

    def getvalue(self) -> bytearray:
        """The whole document (read once, then kept), showing the page :meth:`present` named
        as its only one."""
        whole = self._whole
        if whole is None:
            position = self._stream.tell()
            self._stream.seek(0)
            whole = self._whole = bytearray(self._stream.read())
            self._stream.seek(position)
        for at, original in reversed(self._undo):
            whole[at : at + len(original)] = original
        self._undo.clear()
        if self._page is not None:
            self._isolate(whole, self._page)
        return whole

    def _isolate(self, whole: bytearray, ifd_offset: int) -> None:
        """Point the header of ``whole`` at the page at ``ifd_offset`` and end the chain
        there; a header that cannot be read is left alone (libtiff reports it)."""
        head = bytes(whole[:4])
        order = "<" if head[:2] == b"II" else ">"
        big = head[2:] == (b"+\x00" if order == "<" else b"\x00+")
        # Classic TIFF: 2-byte entry count, 12-byte entries, 4-byte offsets; BigTIFF: 8, 20, 8.
        count, entry, pointer = ("Q", 20, "Q") if big else ("H", 12, "I")
        first_at = 8 if big else 4
        try:
            (entries,) = struct.unpack_from(order + count, whole, ifd_offset)
        except struct.error:
            return
        next_at = ifd_offset + struct.calcsize(order + count) + entries * entry
        size = struct.calcsize(order + pointer)
        if next_at + size > len(whole):
            return
        for at, value in ((first_at, ifd_offset), (next_at, 0)):
            self._undo.append((at, bytes(whole[at : at + size])))
            struct.pack_into(order + pointer, whole, at, value)


def _whole_on_request(stream: IO[bytes]) -> IO[bytes]:
    """``stream`` in a :class:`_WholeOnRequest`, as Pillow should read it (the wrapper is not
    closed: ``stream`` is)."""
    # Duck-typed: the stream's own methods, getvalue and present; not an IO subclass.
    return cast("IO[bytes]", _WholeOnRequest(stream))


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


def preview_png(image: Image.Image, longest: int = PREVIEW_SIDE) -> bytes:
    """``image`` (a page as drawn for the engine) as a PNG whose longer side is at most
    ``longest`` pixels, with its aspect ratio kept: what a browser shows of the page. An image
    that is small enough is encoded as it is; a larger one is scaled down (box-filtered: about
    60 ms in all for a Letter page drawn at 200 dpi)."""
    width, height = image.size
    scale = longest / max(width, height, 1)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = image.resize(size, Image.Resampling.BOX, reducing_gap=2.0)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=_PREVIEW_COMPRESSION)
    return out.getvalue()


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
