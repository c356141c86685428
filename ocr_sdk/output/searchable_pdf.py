"""Searchable PDF: the document that was read, with an invisible text layer over each page.

::

    from ocr_sdk.output.searchable_pdf import write_searchable_pdf

    data = Path("scan.png").read_bytes()
    result = client.read(data)
    Path("scan.pdf").write_bytes(write_searchable_pdf(data, result))

The input is the source document's bytes (PNG, JPEG, BMP, TIFF with any number of frames, or
PDF) and what was read on its pages: a :class:`ocr_sdk.ReadResult`, or the neutral
:class:`ocr_sdk.output.text.TextPage` list that any caller can build (the emulator does, for
Read and Document Intelligence alike). The output keeps every page of the input, in order:

* **images** become one page per frame, the image itself drawn over the whole page. JPEG is
  embedded as it is (the same bytes, ``DCTDecode``); PNG's compressed data is passed through
  too (PDF's ``FlateDecode`` with PNG predictors reads it as is), whenever PDF can express the
  PNG (no interlacing, no alpha channel, no transparency), and so is a Group 4 (fax) TIFF's
  (``CCITTFaxDecode``); anything else is decoded and stored losslessly with zlib. The page
  is the image's size at its own resolution (its DPI), or at :data:`DEFAULT_DPI` when it
  declares none. An EXIF orientation is honoured as the service honours it: by the matrix a
  passed-through image is drawn with, in the pixels of a decoded one;
* **PDF pages** stay the original pages: their content streams, resources, annotations and
  boxes are not touched (only wrapped in ``q``/``Q``), so vector text and graphics stay
  vectors. The text layer is laid out in the page as it is displayed: its CropBox (clipped to
  its MediaBox, as viewers do) and its ``/Rotate``.

The text layer is drawn in text render mode 3 (neither filled nor stroked: invisible, yet
extracted, searched and selected like any text) with a "glyphless" font, as Tesseract and
OCRmyPDF do: a ``Type0`` font with ``Identity-H`` encoding over a ``CIDFontType2`` whose
glyphs draw nothing (:mod:`ocr_sdk.output._glyphless` builds it in code, about 700 bytes), and
a ``ToUnicode`` map from each character id to its character, so any Unicode text (accents,
Cyrillic, CJK, emoji) extracts exactly. Each word is placed at its polygon: the font size is
the polygon's height, the baseline sits where the font's descent puts it (the glyph box then
covers the polygon), the horizontal scaling (``Tz``) makes the word exactly as wide as the
polygon, and the text matrix turns it by its line's slope, so the words of a skewed scan
stay under their ink. A line is one text matrix and its words are moved to with ``Td``;
where the line's text has a space between two words, a space character follows the first
(none between the one-character words of Chinese and Japanese lines), and words whose boxes
touch are narrowed a little (at most a quarter each) to leave the gap that distance-based
tools need. Right-to-left words are written in the order their characters stand on the page.
Checked with pdfium (Chrome's viewer, pypdfium2) and poppler (``pdftotext -raw``): the words
come out in the service's order, with spaces between words and a line break between lines.

Pages that were not read (a request's ``pages`` picked two of five) are kept as they are,
without text: the output is always the whole document, so its page numbers are the source's.

This module is the entry point and puts the document together: the pages of a PDF input, one
page per frame of an image, the one font they share. :mod:`ocr_sdk.output._pdf_text` writes
each page's text layer, :mod:`ocr_sdk.output._pdf_images` turns each frame into a PDF image.
The old path, ``ocr_sdk.searchable_pdf``, re-exports the public names.

Choice of library: pikepdf (qpdf)
---------------------------------

Compared with fpdf2 (and reportlab, pypdf) on what this writer needs:

* *Original PDF pages intact.* pikepdf edits the input document in place, object by object:
  adding a font and appending a content stream leaves every original stream byte-identical.
  fpdf2 and reportlab only create new documents; putting the layer on existing pages takes a
  second library (pypdf) to merge pages, which re-serialises content streams in pure Python.
* *Unicode text layer.* Neither helps much: fpdf2's Unicode text needs a real TrueType file
  (subset with fontTools on every save) whose ``cmap`` covers every character, so a glyphless
  font would have to be rebuilt per document. With pikepdf the font, the ``ToUnicode`` CMap
  and the text operators are written directly, which also gives full control of placement
  (``Tz``, the text matrix) that fpdf2's cell-based API hides.
* *Images.* fpdf2 passes JPEG through but decodes PNG and re-compresses it; with pikepdf the
  stream dictionaries are ours, so PNG data passes through as well.
* *Size and speed.* pikepdf installs about 11 MB (itself and its qpdf) plus lxml (12 MB);
  fpdf2 is pure Python but needs fontTools (30 MB installed here) and defusedxml: no lighter,
  and Python where pikepdf parses and writes whole documents in C++, where the time goes. What
  remains per page here is string formatting: ``benchmarks/searchable_pdf.py`` measures 10 to
  20 ms for a dense page (0.2 to 0.4 % of its OCR), 70 ms for an image that must be decoded.
* *Maintenance.* Both are active; pikepdf is what OCRmyPDF, the reference open-source
  searchable-PDF tool, is built on, and qpdf is a long-lived, conformance-minded C++ library.
  reportlab's Unicode and page-import story is the same as fpdf2's, with a commercial sister
  product; pypdf alone could do what pikepdf does here, but slower and with more of the PDF
  syntax to write by hand.

pikepdf (and Pillow, for images) are in the ``pdf`` extra: ``pip install 'ocr-sdk[pdf]'``.
Without them :func:`write_searchable_pdf` raises ``ImportError`` saying so. This module
imports neither until it is called, and ``import ocr_sdk`` never imports this module.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._formats import sniff_format
from . import _pdf_images, _pdf_text
from ._pdf_extra import PDF_EXTRA_HINT, load_pikepdf
from .text import TextPage, text_pages

if TYPE_CHECKING:
    import pikepdf

    from .._models import ReadResult

__all__ = [
    "DEFAULT_DPI",
    "PDF_EXTRA_HINT",
    "image_page_size",
    "write_searchable_pdf",
]

#: Resolution assumed for an image that declares none (or an implausible one). The service's
#: inputs are documents, and scanners' most common setting is 300 dpi: a page scanned without
#: metadata then gets back its paper size. 72 or 96 dpi would make a Letter scan three to four
#: times its size, over the 17-inch limit the service puts on PDF pages, so the searchable PDF
#: could not even be sent back to it. The text layer lines up with the image whatever is chosen.
DEFAULT_DPI = 300.0

# Below 50 dpi a 10000-pixel side (the service's largest) would pass PDF's 200-inch page limit;
# above 4800 dpi no scanner writes a real value. Outside that range the value is a placeholder.
_PLAUSIBLE_DPI = (50.0, 4800.0)
_POINTS_PER_INCH = 72.0


# --- the public function ------------------------------------------------------------------------


def write_searchable_pdf(
    document: bytes,
    pages: ReadResult | Sequence[TextPage],
    *,
    default_dpi: float = DEFAULT_DPI,
) -> bytes:
    """The searchable PDF of ``document``: its pages with an invisible text layer of ``pages``.

    ``document`` is the source file's bytes (PNG, JPEG, BMP, TIFF or PDF, told apart by their
    first bytes). ``pages`` is what was read: a :class:`ocr_sdk.ReadResult`, or one
    :class:`~ocr_sdk.output.text.TextPage` per page read, numbered as in the source (frames of a
    TIFF, pages of a PDF). Every page of the source is kept; pages not in ``pages`` have no
    text. ``default_dpi`` is the resolution of an image that declares none.

    Raises ``ValueError`` for a document that is none of those formats or cannot be read, or a
    page number it does not have; ``ImportError`` when the ``pdf`` extra is not installed.
    """
    # A ReadResult is not a Sequence (a pydantic model iterates over its fields, but has no
    # len or indexing).
    read = _by_number(pages if isinstance(pages, Sequence) else text_pages(pages))
    kind = sniff_format(document)
    if kind is None:
        raise ValueError("the document is not a PNG, JPEG, BMP, TIFF or PDF file")
    if kind == "pdf":
        return _from_pdf(document, read)
    return _from_image(document, read, default_dpi)


def image_page_size(
    width_px: int, height_px: int, dpi: tuple[float, float] | None, default_dpi: float = DEFAULT_DPI
) -> tuple[float, float]:
    """The PDF page size, in points, of a ``width_px`` x ``height_px`` image at ``dpi`` (x, y):
    the image's own resolution when plausible, else ``default_dpi``."""
    x_dpi, y_dpi = _dpi(dpi, default_dpi)
    return width_px * _POINTS_PER_INCH / x_dpi, height_px * _POINTS_PER_INCH / y_dpi


def _by_number(pages: Sequence[TextPage]) -> dict[int, TextPage]:
    by_number: dict[int, TextPage] = {}
    for page in pages:
        if not isinstance(page, TextPage):
            raise TypeError(
                f"pages must be a ReadResult or TextPage objects, not {type(page).__name__} "
                "(ocr_sdk.page_text.text_pages converts the SDK's pages)"
            )
        if page.number in by_number:
            raise ValueError(f"page {page.number} is given twice")
        by_number[page.number] = page
    return by_number


def _check_numbers(read: Mapping[int, TextPage], page_count: int) -> None:
    beyond = sorted(number for number in read if number > page_count)
    if beyond:
        raise ValueError(f"the document has {page_count} page(s), no page {beyond[0]}")


def _dpi(dpi: tuple[float, float] | None, default_dpi: float) -> tuple[float, float]:
    low, high = _PLAUSIBLE_DPI
    if dpi is not None:
        try:
            x_dpi, y_dpi = float(dpi[0]), float(dpi[1])
        except (TypeError, ValueError, IndexError):
            pass
        else:
            if low <= x_dpi <= high and low <= y_dpi <= high:
                return x_dpi, y_dpi
    return default_dpi, default_dpi


# --- PDF input ----------------------------------------------------------------------------------


def _box(value: object) -> tuple[float, float, float, float] | None:
    """A normalised rectangle from a PDF array, or ``None`` if it is not one."""
    try:
        x0, y0, x1, y1 = (float(number) for number in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    left, right, bottom, top = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    if right - left <= 0 or top - bottom <= 0:
        return None
    return left, bottom, right, top


def _inherited(page: pikepdf.Dictionary, key: str) -> Any:
    """``key`` of a page, or of the nearest page-tree node above it that has one (``None``)."""
    node: Any = page
    for _ in range(64):  # a cycle in a broken page tree must not hang the writer
        if key in node:
            return node[key]
        if "/Parent" not in node:
            return None
        node = node["/Parent"]
    return None


def _display_matrix(
    page: pikepdf.Dictionary, text_page: TextPage
) -> tuple[tuple[float, float], list[float]]:
    """How ``text_page``'s coordinates (top-left origin, as the page is displayed) map to the
    page's user space: the scale from its unit to points, and the matrix from displayed points
    to user space. Computed as pdfium shows pages (which is how the emulator rasterised them):
    the CropBox clipped to the MediaBox, then ``/Rotate``."""
    media = _box(_inherited(page, "/MediaBox")) or (0.0, 0.0, 612.0, 792.0)
    crop = _box(_inherited(page, "/CropBox"))
    if crop is None:
        x0, y0, x1, y1 = media
    else:
        x0, y0 = max(crop[0], media[0]), max(crop[1], media[1])
        x1, y1 = min(crop[2], media[2]), min(crop[3], media[3])
        if x1 <= x0 or y1 <= y0:
            x0, y0, x1, y1 = media
    try:
        rotate = float(_inherited(page, "/Rotate") or 0)
    except (TypeError, ValueError):
        rotate = 0.0
    # Integer division towards zero, as pdfium does: only multiples of 90 are valid.
    quarter = math.trunc(rotate / 90) % 4
    width, height = (y1 - y0, x1 - x0) if quarter % 2 else (x1 - x0, y1 - y0)
    scale = (width / text_page.width, height / text_page.height)
    # From display points (u right, v down from the top left) to user space.
    matrix = {
        0: [1.0, 0.0, 0.0, -1.0, x0, y1],
        1: [0.0, 1.0, 1.0, 0.0, x0, y0],
        2: [-1.0, 0.0, 0.0, 1.0, x1, y0],
        3: [0.0, -1.0, -1.0, 0.0, x1, y1],
    }[quarter]
    return scale, matrix


def _font_name(resources: pikepdf.Dictionary) -> str:
    fonts = resources.get("/Font")
    taken = set(fonts.keys()) if fonts is not None else set()
    name, number = "OcrText", 1
    while f"/{name}" in taken:
        number += 1
        name = f"OcrText{number}"
    return name


def _from_pdf(document: bytes, read: Mapping[int, TextPage]) -> bytes:
    pdflib = load_pikepdf()
    Name, Dictionary = pdflib.Name, pdflib.Dictionary
    try:
        pdf = pdflib.open(io.BytesIO(document))
    except pdflib.PdfError as error:
        raise ValueError(f"the PDF cannot be read: {error}") from error
    with pdf:
        _check_numbers(read, len(pdf.pages))
        characters = _pdf_text.Characters(read[number] for number in sorted(read))
        font = _pdf_text.add_font(pdf, characters) if read else None
        for number in sorted(read):
            page = pdf.pages[number - 1]
            obj = page.obj
            # Copies, not the originals: resources are often shared between pages (or
            # inherited from the page tree), and the other pages must not change.
            resources = Dictionary(dict(_inherited(obj, "/Resources") or Dictionary()))
            fonts = resources.get("/Font")
            resources.Font = Dictionary(dict(fonts)) if fonts is not None else Dictionary()
            name = _font_name(resources)
            resources.Font[Name("/" + name)] = font
            obj.Resources = resources
            scale, matrix = _display_matrix(obj, read[number])
            layer = _pdf_text.text_layer(read[number], characters, name, scale, matrix)
            # The original content in q ... Q, so a graphics state it leaves behind (a
            # transformation, a clip) does not apply to the text layer.
            page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
            page.contents_add(pdf.make_stream(b"\nQ\n" + layer))
        return _save(pdf)


def _save(pdf: pikepdf.Pdf) -> bytes:
    pdflib = load_pikepdf()
    out = io.BytesIO()
    # deterministic_id: the same input gives the same bytes (reproducible builds, caching).
    pdf.save(
        out,
        compress_streams=True,
        object_stream_mode=pdflib.ObjectStreamMode.generate,
        deterministic_id=True,
    )
    return out.getvalue()


# --- image input --------------------------------------------------------------------------------


def _from_image(document: bytes, read: Mapping[int, TextPage], default_dpi: float) -> bytes:
    pdf = load_pikepdf().new()
    with pdf:
        characters = _pdf_text.Characters(read[number] for number in sorted(read))
        font = _pdf_text.add_font(pdf, characters) if read else None
        try:
            count = _pdf_images.frame_count(document)
            _check_numbers(read, count)
            pictures = (_pdf_images.frame_picture(document, index) for index in range(count))
            for number, picture in enumerate(pictures, start=1):
                _add_image_page(pdf, picture, read.get(number), characters, font, default_dpi)
        except (OSError, SyntaxError, EOFError, struct.error) as error:
            raise ValueError(f"the image cannot be read: {error}") from error
        return _save(pdf)


def _add_image_page(
    pdf: pikepdf.Pdf,
    picture: _pdf_images.Picture,
    page: TextPage | None,
    characters: _pdf_text.Characters,
    font: pikepdf.Object | None,
    default_dpi: float,
) -> None:
    """Append a page showing ``picture``, with ``page``'s text over it if it was read."""
    pdflib = load_pikepdf()
    Name, Dictionary, Array = pdflib.Name, pdflib.Dictionary, pdflib.Array
    shown_w, shown_h = picture.displayed
    width, height = image_page_size(shown_w, shown_h, picture.displayed_dpi, default_dpi)
    draw = " ".join(f"{value:.6f}" for value in _pdf_images.placement(picture, width, height))
    content = f"q {draw} cm /Im0 Do Q\n".encode("ascii")
    resources = Dictionary(XObject=Dictionary(Im0=_pdf_images.image_xobject(pdf, picture)))
    if page is not None:
        resources.Font = Dictionary(OcrText=font)
        # Points down from the top left to points up from the bottom left.
        scale = (width / page.width, height / page.height)
        flip = [1.0, 0.0, 0.0, -1.0, 0.0, height]
        content += _pdf_text.text_layer(page, characters, "OcrText", scale, flip)
    pdf.pages.append(
        pdflib.Page(
            Dictionary(
                Type=Name.Page,
                MediaBox=Array([0, 0, width, height]),
                Resources=resources,
                Contents=pdf.make_stream(content),
            )
        )
    )
