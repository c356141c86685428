"""Searchable PDF: the document that was read, with an invisible text layer over each page.

::

    from ocr_sdk.searchable_pdf import write_searchable_pdf

    data = Path("scan.png").read_bytes()
    result = client.read(data)
    Path("scan.pdf").write_bytes(write_searchable_pdf(data, result))

The input is the source document's bytes (PNG, JPEG, BMP, TIFF with any number of frames, or
PDF) and what was read on its pages: a :class:`ocr_sdk.ReadResult`, or the neutral
:class:`ocr_sdk.page_text.TextPage` list that any caller can build (the emulator does, for Read
and Document Intelligence alike). The output keeps every page of the input, in order:

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
glyphs draw nothing (:mod:`ocr_sdk._glyphless` builds it in code, about 700 bytes), and a
``ToUnicode`` map from each character id to its character, so any Unicode text (accents,
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
import unicodedata
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from . import _glyphless
from ._formats import sniff_format
from .page_text import Polygon, TextBox, TextLine, TextPage, text_pages

if TYPE_CHECKING:
    import pikepdf
    from PIL import Image

    from ._models import ReadResult

__all__ = [
    "DEFAULT_DPI",
    "PDF_EXTRA_HINT",
    "image_page_size",
    "write_searchable_pdf",
]

PDF_EXTRA_HINT = "searchable PDF output needs the pdf extra: pip install 'ocr-sdk[pdf]'"

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

# Level 3 keeps the few images that must be re-encoded (TIFF, BMP, PNG with alpha) within
# about 10 % of level 6's size on the corpus's page scans, at a third of its time.
_ZLIB_LEVEL = 3

_DESCENT = _glyphless.DESCENT / _glyphless.UNITS_PER_EM
_ADVANCE = _glyphless.ADVANCE / _glyphless.UNITS_PER_EM
_MIN_GAP = 0.2  # em: pdftotext joins words closer than that


def _pikepdf() -> Any:
    try:
        import pikepdf
    except ImportError:
        raise ImportError(PDF_EXTRA_HINT) from None
    return pikepdf


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(PDF_EXTRA_HINT) from None
    return Image


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
    :class:`~ocr_sdk.page_text.TextPage` per page read, numbered as in the source (frames of a
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


# --- the text layer -----------------------------------------------------------------------------


class _Characters:
    """Character ids of the document's text layer: one per distinct character, from 1 (0 is
    the font's ``.notdef``), shared by every page because the one font is."""

    def __init__(self, pages: Iterator[TextPage]) -> None:
        self.hex: dict[str, str] = {" ": "0001"}
        for page in pages:
            for line in page.lines:
                for word in line.words:
                    for char in word.text:
                        if char not in self.hex:
                            self.hex[char] = f"{len(self.hex) + 1:04X}"
        if len(self.hex) > 0xFFFE:
            raise ValueError("the text uses more than 65534 distinct characters")

    def encode(self, text: str) -> str:
        """``text`` as the hex string of its character ids."""
        return "".join(self.hex[char] for char in text)

    def to_unicode(self) -> bytes:
        """The ``ToUnicode`` CMap: each character id to its character, in UTF-16BE."""
        entries = [
            f"<{code}> <{char.encode('utf-16-be', 'surrogatepass').hex().upper()}>"
            for char, code in self.hex.items()
        ]
        blocks = []
        for start in range(0, len(entries), 100):  # at most 100 entries per block
            chunk = entries[start : start + 100]
            blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
        return (
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + "\n".join(blocks)
            + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
        ).encode("ascii")

    def cid_to_gid(self) -> bytes:
        """The ``CIDToGIDMap``: every character id to glyph 1 (0 stays ``.notdef``)."""
        return b"\0\0" + b"\0\1" * len(self.hex)


def _font(pdf: pikepdf.Pdf, characters: _Characters) -> pikepdf.Object:
    """The glyphless Type0 font, added to ``pdf`` as an indirect object."""
    pdflib = _pikepdf()
    Name, Dictionary, Array = pdflib.Name, pdflib.Dictionary, pdflib.Array
    font_file = pdf.make_stream(_glyphless.glyphless_font())
    font_file.Length1 = len(_glyphless.glyphless_font())
    units = _glyphless.UNITS_PER_EM
    descriptor = Dictionary(
        Type=Name.FontDescriptor,
        FontName=Name("/" + _glyphless.FONT_NAME),
        Flags=5,  # fixed pitch, symbolic: glyphs are not named by a standard encoding
        FontBBox=Array([0, -_glyphless.DESCENT, _glyphless.ADVANCE, _glyphless.ASCENT]),
        ItalicAngle=0,
        Ascent=_glyphless.ASCENT * 1000 // units,
        Descent=-_glyphless.DESCENT * 1000 // units,
        CapHeight=_glyphless.ASCENT * 1000 // units,
        StemV=80,
        FontFile2=font_file,
    )
    cid_font = Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType2,
        BaseFont=Name("/" + _glyphless.FONT_NAME),
        CIDSystemInfo=Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=pdf.make_indirect(descriptor),
        DW=_glyphless.ADVANCE * 1000 // units,
        CIDToGIDMap=pdf.make_stream(characters.cid_to_gid()),
    )
    font = Dictionary(
        Type=Name.Font,
        Subtype=Name.Type0,
        BaseFont=Name("/" + _glyphless.FONT_NAME),
        Encoding=Name("/Identity-H"),
        DescendantFonts=Array([pdf.make_indirect(cid_font)]),
        ToUnicode=pdf.make_stream(characters.to_unicode()),
    )
    indirect: pikepdf.Object = pdf.make_indirect(font)
    return indirect


def _visual(text: str) -> str:
    """``text`` in the order its characters stand on the page, from left to right.

    PDF text is shown left to right; a right-to-left word (Hebrew, Arabic) has its first
    character at its right end, so its characters are written reversed, and extraction (which
    applies the Unicode bidirectional algorithm to what it finds) gives the logical order
    back. Numbers inside such a word read left to right and keep their order; combining marks
    stay with their base character. Words with any left-to-right letter are left alone.
    """
    classes = [unicodedata.bidirectional(char) for char in text]
    if "L" in classes or not ({"R", "AL"} & set(classes)):
        return text
    runs: list[tuple[bool, list[str]]] = []  # (is a number, its characters with their marks)
    for char, kind in zip(text, classes, strict=True):
        if kind == "NSM" and runs:
            runs[-1][1][-1] += char
            continue
        number = kind in {"EN", "AN"}
        if runs and runs[-1][0] == number:
            runs[-1][1].append(char)
        else:
            runs.append((number, [char]))
    return "".join(
        "".join(chars if number else reversed(chars)) for number, chars in reversed(runs)
    )


def _spaces(line: TextLine) -> list[bool]:
    """For each word but the last, whether the line's text has a space after it.

    Found by looking the words up in the line's text in order; a word the text does not
    contain gets a space (words are usually space-separated; Chinese and Japanese lines, whose
    one-character words are not, do contain their words).
    """
    text, position, spaces = line.content, 0, []
    for word in line.words[:-1]:
        found = text.find(word.text, position) if word.text else -1
        if found < 0:
            spaces.append(True)
            continue
        position = found + len(word.text)
        spaces.append(position < len(text) and text[position].isspace())
    return spaces


def _spaced_edges(boxes: Sequence[TextBox], spaces: Sequence[bool]) -> list[list[float]]:
    """Each word's extent along its line, with room made between words that touch.

    Tools that break words by distance alone (poppler's ``pdftotext``) ignore space characters
    and join words closer than about a fifth of an em, and OCR boxes often touch. Where the
    line's text has a space, the two words give up to a quarter of their width each to open a
    gap of :data:`_MIN_GAP`; elsewhere words keep their polygons' extent exactly.
    """
    edges = [[box.left, box.right] for box in boxes]
    for index, spaced in enumerate(spaces):
        if not spaced:
            continue
        first, second = edges[index], edges[index + 1]
        if boxes[index + 1].left < boxes[index].left:  # right to left: the next word is left
            first, second = second, first
        size = min(boxes[index].height, boxes[index + 1].height)
        need = max(_MIN_GAP * size - (second[0] - first[1]), 0.0)
        taken = min(need, 0.25 * max(first[1] - first[0], 0.0))
        first[1] -= taken
        second[0] += min(need - taken, 0.25 * max(second[1] - second[0], 0.0))
    return edges


def _text_layer(
    page: TextPage,
    characters: _Characters,
    font: str,
    scale: tuple[float, float],
    matrix: Sequence[float],
) -> bytes:
    """The content stream drawing ``page``'s words invisibly with ``font``.

    ``scale`` (x, y) turns the page's unit into points; ``matrix`` maps the page as displayed
    (points, y down from the top left) to PDF user space, and holds only flips, quarter turns
    and offsets. Text space is thus in points, as in the PDFs extraction tools are tuned for:
    pdfium, for one, starts a new line only when the baseline moves by a point or more.
    """
    sx, sy = scale

    def scaled(polygon: Sequence[float]) -> Polygon:
        x1, y1, x2, y2, x3, y3, x4, y4 = polygon
        return (x1 * sx, y1 * sy, x2 * sx, y2 * sy, x3 * sx, y3 * sy, x4 * sx, y4 * sy)

    ops = ["q", " ".join(f"{value:.4f}" for value in matrix) + " cm", "BT", "3 Tr"]
    for line in page.lines:
        if not line.words:
            continue
        # Every word of a line turned by the line's slope, not its own: a short word's polygon,
        # rounded to whole pixels, can be a few degrees off, which would put the next word
        # above or below its baseline (and extraction would start a new line there).
        polygon = line.polygon or line.words[0].polygon
        frame = TextBox.of(scaled(polygon), page.angle)
        boxes = [TextBox.of(scaled(word.polygon), page.angle, frame) for word in line.words]
        spaces = _spaces(line)
        edges = _spaced_edges(boxes, spaces)
        # One text matrix per line, and each word moved to from the one before (Td): tools
        # that join text by its matrix (pypdf) then see one line, however slanted it is.
        origin: tuple[float, float] | None = None
        for index, (word, box) in enumerate(zip(line.words, boxes, strict=True)):
            size = box.height
            if not word.text or size <= 0:
                continue  # a word without area has nowhere to be
            left, right = edges[index]
            text = characters.encode(_visual(word.text))
            space_left = False
            if index < len(spaces) and spaces[index]:
                # A real space between this word and the next, in this word's text object:
                # extraction then needs no guess, and pdfium (which sorts a line's text objects
                # by where they start) cannot move a space of its own to the wrong side of a
                # touching word. It goes on the side the next word is on, which is the left in
                # a right-to-left line.
                space_left = boxes[index + 1].left < box.left
                text = "0001" + text if space_left else text + "0001"
            natural = len(word.text) * _ADVANCE * size
            stretch = 100.0 * max(right - left, 1e-3 * size) / natural
            start = left - (_ADVANCE * size * stretch / 100.0 if space_left else 0.0)
            # The glyph box is one em from descent to ascent: the baseline sits the descent
            # above the polygon's bottom edge, so the box covers the polygon exactly.
            baseline = box.bottom - _DESCENT * size
            if origin is None:
                # Text space x along the line, y up it: (uy, -ux) in y-down page coordinates,
                # whose flip the matrix undoes.
                x, y = frame.point(start, baseline)
                ops.append(
                    f"{frame.ux:.5f} {frame.uy:.5f} {frame.uy:.5f} {-frame.ux:.5f} "
                    f"{x:.2f} {y:.2f} Tm"
                )
            else:
                ops.append(f"{start - origin[0]:.2f} {origin[1] - baseline:.2f} Td")
            origin = (start, baseline)
            ops.append(f"/{font} {size:.2f} Tf {stretch:.3f} Tz <{text}> Tj")
    ops += ["ET", "Q", ""]
    return "\n".join(ops).encode("ascii")


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
    pdflib = _pikepdf()
    Name, Dictionary = pdflib.Name, pdflib.Dictionary
    try:
        pdf = pdflib.open(io.BytesIO(document))
    except pdflib.PdfError as error:
        raise ValueError(f"the PDF cannot be read: {error}") from error
    with pdf:
        _check_numbers(read, len(pdf.pages))
        characters = _Characters(read[number] for number in sorted(read))
        font = _font(pdf, characters) if read else None
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
            layer = _text_layer(read[number], characters, name, scale, matrix)
            # The original content in q ... Q, so a graphics state it leaves behind (a
            # transformation, a clip) does not apply to the text layer.
            page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
            page.contents_add(pdf.make_stream(b"\nQ\n" + layer))
        return _save(pdf)


def _save(pdf: pikepdf.Pdf) -> bytes:
    pdflib = _pikepdf()
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


@dataclass(frozen=True, slots=True)
class _Picture:
    """One image as a PDF image XObject will hold it."""

    data: bytes
    width: int
    """Stored width in pixels (before the orientation is applied)."""
    height: int
    colors: int
    bits: int
    filter: str | None
    colorspace: str
    """``DeviceGray``, ``DeviceRGB``, ``DeviceCMYK`` or ``Indexed``."""
    palette: bytes = b""
    decode: tuple[float, ...] | None = None
    icc: bytes | None = None
    predictor: bool = False
    """Flate data carries PNG row filters (PNG's own IDAT)."""
    ccitt_black_is_zero: bool | None = None
    """For CCITT G4 data: whether the TIFF says its 0 bits are black (``None``: not CCITT)."""
    orientation: int = 1
    """EXIF orientation still to apply when drawing (1: none)."""
    dpi: tuple[float, float] | None = None
    """The stored image's resolution (x, y), as it declares it."""

    @property
    def displayed(self) -> tuple[int, int]:
        """Width and height as displayed, after the orientation."""
        return (self.height, self.width) if self.orientation >= 5 else (self.width, self.height)

    @property
    def displayed_dpi(self) -> tuple[float, float] | None:
        """Resolution (x, y) as displayed."""
        if self.dpi is None or self.orientation < 5:
            return self.dpi
        return self.dpi[1], self.dpi[0]


def _orientation(image: Image.Image) -> int:
    try:
        value = int(image.getexif().get(0x0112, 1))
    except (TypeError, ValueError, OSError, SyntaxError):
        return 1
    return value if 1 <= value <= 8 else 1


def _jpeg_picture(data: bytes, image: Image.Image) -> _Picture | None:
    """The JPEG's own bytes, when PDF's DCTDecode can show them as Pillow does."""
    mode = image.mode
    if mode not in {"L", "RGB", "CMYK"}:
        return None
    stream = data if image.format == "JPEG" else _first_jpeg(data)
    if stream is None:
        return None
    decode = None
    if mode == "CMYK" and "adobe" in image.info:
        # Adobe's CMYK JPEGs store inverted samples (Pillow inverts them on decoding).
        decode = (1.0, 0.0) * 4
    colorspace = {"L": "DeviceGray", "RGB": "DeviceRGB", "CMYK": "DeviceCMYK"}[mode]
    return _Picture(
        data=stream,
        width=image.width,
        height=image.height,
        colors=len(mode),
        bits=8,
        filter="DCTDecode",
        colorspace=colorspace,
        decode=decode,
        icc=image.info.get("icc_profile") or None,
        orientation=_orientation(image),
        dpi=image.info.get("dpi"),
    )


def _first_jpeg(data: bytes) -> bytes | None:
    """The first image of an MPO file (a phone photo), which is what the service reads."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xDA:  # start of scan: the entropy-coded data ends at the first EOI
            end = data.find(b"\xff\xd9", position)
            return data[: end + 2] if end >= 0 else None
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length
    return None


def _png_picture(data: bytes, image: Image.Image) -> _Picture | None:
    """The PNG's own compressed data, when PDF can show it unchanged: not interlaced, no alpha
    channel or transparency, no EXIF orientation (Pillow may find one only after the pixels)."""
    position = 8
    chunks: dict[bytes, bytes] = {}
    idat: list[bytes] = []
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 8 + length
        if end + 4 > len(data):
            return None  # truncated: let Pillow say what is wrong
        body = data[position + 8 : end]
        if kind == b"IDAT" and zlib.crc32(data[position + 4 : end]) != int.from_bytes(
            data[end : end + 4], "big"
        ):
            return None  # corrupt data must not pass into the PDF unnoticed
        position = end + 4
        if kind == b"IDAT":
            idat.append(body)
        elif kind in {b"tEXt", b"zTXt", b"iTXt"}:
            if body.startswith(b"Raw profile type exif\0"):
                return None
        else:
            chunks.setdefault(kind, body)
        if kind == b"IEND":
            break
    header = chunks.get(b"IHDR")
    if header is None or len(header) != 13 or not idat:
        return None
    width, height, bits, color_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if interlace or b"tRNS" in chunks or b"eXIf" in chunks or color_type not in {0, 2, 3}:
        return None
    palette = b""
    if color_type == 3:
        palette = chunks.get(b"PLTE", b"")
        if not palette or len(palette) % 3 or bits > 8:
            return None
    return _Picture(
        data=b"".join(idat),
        width=width,
        height=height,
        colors={0: 1, 2: 3, 3: 1}[color_type],
        bits=bits,
        filter="FlateDecode",
        colorspace={0: "DeviceGray", 2: "DeviceRGB", 3: "Indexed"}[color_type],
        palette=palette,
        icc=image.info.get("icc_profile") or None,
        predictor=True,
        dpi=image.info.get("dpi"),
    )


def _decoded_picture(image: Image.Image, orientation: int) -> _Picture:
    """Any frame, decoded as the emulator decodes it (orientation applied, transparency over
    white), stored losslessly with zlib; 16-bit grey keeps its 16 bits.

    ``orientation`` is the frame's EXIF orientation as read before its pixels were: Pillow
    turns a TIFF frame as it loads it, and a PNG's orientation may only be found then.
    """
    from PIL import ImageOps

    dpi = image.info.get("dpi")
    if orientation == 1:
        orientation = _orientation(image)
    oriented = image
    if _orientation(image) != 1:
        oriented = ImageOps.exif_transpose(image)
    if orientation >= 5 and dpi is not None:
        dpi = (dpi[1], dpi[0])
    mode = oriented.mode
    palette, icc = b"", oriented.info.get("icc_profile") or None
    if mode in {"1", "L"}:
        raw, colors, bits, colorspace = oriented.tobytes(), 1, 1 if mode == "1" else 8, "DeviceGray"
    elif mode in {"RGB", "CMYK"}:
        raw, colors, bits, colorspace = oriented.tobytes(), len(mode), 8, f"Device{mode}"
    elif mode in {"I;16", "I;16B", "I;16L", "I;16N"}:
        raw, colors, bits, colorspace = oriented.tobytes("raw", "I;16B"), 1, 16, "DeviceGray"
    elif mode == "P" and "transparency" not in oriented.info:
        raw, colors, bits, colorspace = oriented.tobytes(), 1, 8, "Indexed"
        palette, icc = bytes(oriented.getpalette("RGB") or b"")[: 3 * 256], None
    else:
        rgb = _to_rgb(oriented)
        raw, colors, bits, colorspace = rgb.tobytes(), 3, 8, "DeviceRGB"
    return _Picture(
        data=zlib.compress(raw, _ZLIB_LEVEL),
        width=oriented.width,
        height=oriented.height,
        colors=colors,
        bits=bits,
        filter="FlateDecode",
        colorspace=colorspace,
        palette=palette,
        icc=icc,
        dpi=dpi,
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB as the emulator shows pages to its engine: transparency over white, wide greys
    scaled by their range."""
    pil = _pillow()
    if image.mode in {"I", "F"}:
        low, high = cast("tuple[float, float]", image.getextrema())
        if high > 255 or low < 0:
            span = max(float(high) - float(low), 1e-9)
            image = image.point(lambda value: (value - low) * (255.0 / span))
        return image.convert("L").convert("RGB")
    has_alpha = image.mode in {"RGBA", "LA", "PA", "La", "RGBa"} or (
        image.mode in {"P", "L", "RGB"} and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = pil.new("RGBA", rgba.size, (255, 255, 255, 255))
        composed: Image.Image = pil.alpha_composite(background, rgba).convert("RGB")
        return composed
    return image.convert("RGB")


def _g4_picture(image: Image.Image, document: bytes) -> _Picture | None:
    """A bilevel TIFF frame's own CCITT Group 4 data (the archival scan format), when it is one
    strip in the bit order PDF's CCITTFaxDecode reads."""
    tags = image.tag_v2  # type: ignore[attr-defined]
    offsets, counts = tags.get(273), tags.get(279)
    photometric = tags.get(262)
    if (
        image.info.get("compression") != "group4"
        or image.mode != "1"
        or offsets is None
        or counts is None
        or len(offsets) != 1
        or len(counts) != 1
        or tags.get(266, 1) != 1  # FillOrder: most significant bit first
        or int(tags.get(293, 0)) & 0b10  # T6Options: uncompressed mode, which PDF lacks
        or photometric not in {0, 1}
        or 322 in tags  # tiled
    ):
        return None
    start, length = int(offsets[0]), int(counts[0])
    if start + length > len(document):
        return None
    return _Picture(
        data=document[start : start + length],
        width=image.width,
        height=image.height,
        colors=1,
        bits=1,
        filter="CCITTFaxDecode",
        colorspace="DeviceGray",
        ccitt_black_is_zero=photometric == 1,
        orientation=_orientation(image),
        dpi=image.info.get("dpi"),
    )


def _picture(document: bytes, index: int) -> _Picture:
    """Frame ``index`` as it will be embedded: its own compressed data when PDF can show it as
    is (JPEG, most PNG, Group 4 TIFF), else decoded and stored losslessly."""
    pil = _pillow()
    # Opened afresh for each frame and read with the same calls as the emulator, so the image
    # state (notably the EXIF orientation of a TIFF frame) is the one the service saw.
    with pil.open(io.BytesIO(document)) as image:
        if index:
            image.seek(index)
        picture = None
        if image.format in {"JPEG", "MPO"}:
            picture = _jpeg_picture(document, image)
        elif image.format == "PNG":
            picture = _png_picture(document, image)
        elif image.format == "TIFF":
            picture = _g4_picture(image, document)
        if picture is None:
            orientation = _orientation(image)
            image.load()
            picture = _decoded_picture(image, orientation)
        return picture


def _frame_count(document: bytes) -> int:
    pil = _pillow()
    with pil.open(io.BytesIO(document)) as image:
        # Only TIFF pages are pages: the service reads the first image of an animated PNG or
        # of a phone's MPO file.
        return int(getattr(image, "n_frames", 1)) if image.format == "TIFF" else 1


def _placement(picture: _Picture, width: float, height: float) -> list[float]:
    """The matrix drawing the image's unit square over a ``width`` x ``height`` page with its
    EXIF orientation applied (stored row 0, column 0 is the image space's top left)."""
    w, h = width, height
    return {
        1: [w, 0, 0, h, 0, 0],
        2: [-w, 0, 0, h, w, 0],  # mirrored left to right
        3: [-w, 0, 0, -h, w, h],  # turned half a turn
        4: [w, 0, 0, -h, 0, h],  # mirrored top to bottom
        5: [0, -h, -w, 0, w, h],  # transposed
        6: [0, -h, w, 0, 0, h],  # turned a quarter clockwise
        7: [0, h, w, 0, 0, 0],  # transversed
        8: [0, h, -w, 0, w, 0],  # turned a quarter anticlockwise
    }[picture.orientation]


def _image_xobject(pdf: pikepdf.Pdf, picture: _Picture) -> pikepdf.Object:
    pdflib = _pikepdf()
    Name, Dictionary, Array = pdflib.Name, pdflib.Dictionary, pdflib.Array
    colorspace: Any = Name("/" + picture.colorspace)
    if picture.colorspace == "Indexed":
        entries = len(picture.palette) // 3
        base = Name.DeviceRGB
        colorspace = Array([Name.Indexed, base, entries - 1, pdflib.String(picture.palette)])
    elif picture.icc is not None:
        icc = pdf.make_stream(picture.icc)
        icc.N = picture.colors
        colorspace = Array([Name.ICCBased, icc])
    stream = pdf.make_stream(picture.data)
    stream.Type = Name.XObject
    stream.Subtype = Name.Image
    stream.Width = picture.width
    stream.Height = picture.height
    stream.BitsPerComponent = picture.bits
    stream.ColorSpace = colorspace
    if picture.filter is not None:
        stream.Filter = Name("/" + picture.filter)
    if picture.predictor:
        stream.DecodeParms = Dictionary(
            Predictor=15,
            Colors=picture.colors,
            BitsPerComponent=picture.bits,
            Columns=picture.width,
        )
    if picture.ccitt_black_is_zero is not None:
        stream.DecodeParms = Dictionary(K=-1, Columns=picture.width, Rows=picture.height)
        if picture.ccitt_black_is_zero:
            stream.Decode = Array([1, 0])
    if picture.decode is not None:
        stream.Decode = Array(list(picture.decode))
    return stream


def _from_image(document: bytes, read: Mapping[int, TextPage], default_dpi: float) -> bytes:
    pdf = _pikepdf().new()
    with pdf:
        characters = _Characters(read[number] for number in sorted(read))
        font = _font(pdf, characters) if read else None
        try:
            count = _frame_count(document)
            _check_numbers(read, count)
            pictures = (_picture(document, index) for index in range(count))
            for number, picture in enumerate(pictures, start=1):
                _add_image_page(pdf, picture, read.get(number), characters, font, default_dpi)
        except (OSError, SyntaxError, EOFError, struct.error) as error:
            raise ValueError(f"the image cannot be read: {error}") from error
        return _save(pdf)


def _add_image_page(
    pdf: pikepdf.Pdf,
    picture: _Picture,
    page: TextPage | None,
    characters: _Characters,
    font: pikepdf.Object | None,
    default_dpi: float,
) -> None:
    """Append a page showing ``picture``, with ``page``'s text over it if it was read."""
    pdflib = _pikepdf()
    Name, Dictionary, Array = pdflib.Name, pdflib.Dictionary, pdflib.Array
    shown_w, shown_h = picture.displayed
    width, height = image_page_size(shown_w, shown_h, picture.displayed_dpi, default_dpi)
    draw = " ".join(f"{value:.6f}" for value in _placement(picture, width, height))
    content = f"q {draw} cm /Im0 Do Q\n".encode("ascii")
    resources = Dictionary(XObject=Dictionary(Im0=_image_xobject(pdf, picture)))
    if page is not None:
        resources.Font = Dictionary(OcrText=font)
        # Points down from the top left to points up from the bottom left.
        scale = (width / page.width, height / page.height)
        flip = [1.0, 0.0, 0.0, -1.0, 0.0, height]
        content += _text_layer(page, characters, "OcrText", scale, flip)
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
