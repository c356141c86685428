"""The invisible text layer of a searchable PDF: the glyphless font and the text operators.

Given one page's words (:class:`~ocr_sdk.output.text.TextPage`), :func:`text_layer` writes
the content stream that draws them in text render mode 3 (invisible, yet extracted, searched
and selected) with the glyphless font that :func:`add_font` adds to the document, each word
over its polygon. :mod:`ocr_sdk.output.searchable_pdf` describes the layout rules and puts the
layer on the pages; this module only writes it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from . import _glyphless
from ._pdf_extra import load_pikepdf
from .text import Polygon, TextBox, TextLine, TextPage

if TYPE_CHECKING:
    import pikepdf

__all__ = ["Characters", "add_font", "text_layer"]

_DESCENT = _glyphless.DESCENT / _glyphless.UNITS_PER_EM
_ADVANCE = _glyphless.ADVANCE / _glyphless.UNITS_PER_EM
_MIN_GAP = 0.2  # em: pdftotext joins words closer than that


class Characters:
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


def add_font(pdf: pikepdf.Pdf, characters: Characters) -> pikepdf.Object:
    """The glyphless Type0 font, added to ``pdf`` as an indirect object."""
    pdflib = load_pikepdf()
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


def text_layer(
    page: TextPage,
    characters: Characters,
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
