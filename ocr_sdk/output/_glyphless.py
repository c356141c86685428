"""A "glyphless" TrueType font, built byte by byte: no glyph has any ink, all are 500 units wide.

The searchable-PDF writer draws its invisible text layer with it (see
:mod:`ocr_sdk.output.searchable_pdf`). Tesseract and OCRmyPDF do the same with a ``pdf.ttf``
they ship; building the font here instead keeps a binary of unknown provenance out of the
package, and needs no font library: the font is ten small tables whose layout the OpenType
specification fixes. The PDF maps every character id to glyph 1, so the font needs no ``cmap``
entries and the same bytes serve every document and every script.

Glyph 1 is not quite empty: it is one degenerate contour, two points on the diagonal of the
em box, which encloses no area and so paints nothing in any fill mode, but gives the glyph a
bounding box. PDF readers use that box: pdfium (Chrome's viewer, and pypdfium2) skips a text
object whose glyphs have no width (every one-letter word and every space would vanish from the
extracted text) and ends a line where two text objects' boxes stop overlapping.

The metrics are those the text layer relies on: 1000 units per em, an ascent of 800 and a
descent of 200 (so a word's polygon height is exactly one em, with the baseline 20 % above its
bottom edge) and an advance of half an em per glyph (so Latin text needs little horizontal
scaling).
"""

from __future__ import annotations

import functools
import struct

__all__ = ["ADVANCE", "ASCENT", "DESCENT", "FONT_NAME", "UNITS_PER_EM", "glyphless_font"]

FONT_NAME = "GlyphLessFont"
UNITS_PER_EM = 1000
ASCENT = 800
DESCENT = 200
ADVANCE = 500
_GLYPHS = 2  # .notdef (empty) and the one glyph every character id is mapped to
_CREATED = 3818534400  # 2025-01-01 in seconds since 1904-01-01, the format's epoch


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return int(sum(struct.unpack(f">{len(padded) // 4}I", padded))) & 0xFFFFFFFF


def _head() -> bytes:
    return struct.pack(
        ">HHIIIHHqqhhhhHHhhh",
        1,  # majorVersion
        0,  # minorVersion
        0x00010000,  # fontRevision 1.0
        0,  # checksumAdjustment, patched once the whole font is known
        0x5F0F3CF5,  # magicNumber
        0b1011,  # flags: baseline at y=0, lsb at x=0, integer scaling
        UNITS_PER_EM,
        _CREATED,  # created: fixed, so the font (and every PDF) is byte-for-byte reproducible
        _CREATED,  # modified
        0,  # xMin
        -DESCENT,  # yMin
        ADVANCE,  # xMax
        ASCENT,  # yMax
        0,  # macStyle
        8,  # lowestRecPPEM
        2,  # fontDirectionHint (deprecated, fixed value)
        0,  # indexToLocFormat: short offsets
        0,  # glyphDataFormat
    )


def _hhea() -> bytes:
    return struct.pack(
        ">HHhhhHhhhhhhhhhhhH",
        1,  # majorVersion
        0,  # minorVersion
        ASCENT,
        -DESCENT,
        0,  # lineGap
        ADVANCE,  # advanceWidthMax
        0,  # minLeftSideBearing
        0,  # minRightSideBearing
        0,  # xMaxExtent
        1,  # caretSlopeRise (vertical caret)
        0,  # caretSlopeRun
        0,  # caretOffset
        0,
        0,
        0,
        0,  # reserved
        0,  # metricDataFormat
        _GLYPHS,  # numberOfHMetrics
    )


def _glyph() -> bytes:
    """Glyph 1: one contour of two on-curve points, (0, -descent) and (advance, ascent)."""
    return struct.pack(
        ">hhhhhHHBBhhhh",
        1,  # numberOfContours
        0,  # xMin
        -DESCENT,  # yMin
        ADVANCE,  # xMax
        ASCENT,  # yMax
        1,  # endPtsOfContours[0]: the contour is points 0 and 1
        0,  # instructionLength
        0x01,  # flags of point 0: on the curve, x and y as 16-bit deltas
        0x01,  # flags of point 1
        0,  # x of point 0
        ADVANCE,  # x of point 1, as a delta
        -DESCENT,  # y of point 0
        ASCENT + DESCENT,  # y of point 1, as a delta
    )


def _maxp() -> bytes:
    # Version 1.0, which TrueType outlines require: at most 2 points in 1 contour.
    return struct.pack(">IH13H", 0x00010000, _GLYPHS, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)


def _os2() -> bytes:
    return struct.pack(
        ">HhHHHhhhhhhhhhhh10s4I4sHHHhhhHHII hhHHH".replace(" ", ""),
        4,  # version
        ADVANCE,  # xAvgCharWidth
        400,  # usWeightClass: regular
        5,  # usWidthClass: medium
        0,  # fsType: installable embedding, no restriction
        650,  # ySubscriptXSize
        600,  # ySubscriptYSize
        0,  # ySubscriptXOffset
        75,  # ySubscriptYOffset
        650,  # ySuperscriptXSize
        600,  # ySuperscriptYSize
        0,  # ySuperscriptXOffset
        350,  # ySuperscriptYOffset
        50,  # yStrikeoutSize
        300,  # yStrikeoutPosition
        0,  # sFamilyClass
        b"\0" * 10,  # panose: any
        0,
        0,
        0,
        0,  # ulUnicodeRange1-4
        b"NONE",  # achVendID
        0x0040,  # fsSelection: REGULAR
        0,  # usFirstCharIndex
        0xFFFF,  # usLastCharIndex
        ASCENT,  # sTypoAscender
        -DESCENT,  # sTypoDescender
        0,  # sTypoLineGap
        ASCENT,  # usWinAscent
        DESCENT,  # usWinDescent
        1,  # ulCodePageRange1: Latin 1 (something must be set)
        0,  # ulCodePageRange2
        ASCENT // 2,  # sxHeight
        ASCENT,  # sCapHeight
        0,  # usDefaultChar
        32,  # usBreakChar
        1,  # usMaxContext
    )


def _cmap() -> bytes:
    # One (Windows, Unicode BMP) subtable in format 4 holding only the mandatory final
    # segment: the PDF addresses glyphs through its CIDToGIDMap, never through this table.
    subtable = struct.pack(
        ">HHHHHHHHHHhH",
        4,  # format
        24,  # length
        0,  # language
        2,  # segCountX2
        2,  # searchRange
        0,  # entrySelector
        0,  # rangeShift
        0xFFFF,  # endCode[0]
        0,  # reservedPad
        0xFFFF,  # startCode[0]
        1,  # idDelta[0]
        0,  # idRangeOffset[0]
    )
    return struct.pack(">HHHHI", 0, 1, 3, 1, 12) + subtable


def _name() -> bytes:
    records = [
        (1, FONT_NAME),  # family
        (2, "Regular"),  # subfamily
        (3, f"{FONT_NAME}-ocr-sdk"),  # unique id
        (4, FONT_NAME),  # full name
        (6, FONT_NAME),  # PostScript name
    ]
    strings = b""
    entries = b""
    for name_id, text in records:
        encoded = text.encode("utf-16-be")
        entries += struct.pack(">6H", 3, 1, 0x409, name_id, len(encoded), len(strings))
        strings += encoded
    header = struct.pack(">HHH", 0, len(records), 6 + 12 * len(records))
    return header + entries + strings


def _post() -> bytes:
    # Format 3: no glyph names (the font is never used by name).
    return struct.pack(">IIhhIIIII", 0x00030000, 0, -100, 50, 1, 0, 0, 0, 0)


@functools.cache
def glyphless_font() -> bytes:
    """The font's bytes (an OpenType file with TrueType outlines, about 1 KB).

    Built once per process and cached; the bytes are always the same.
    """
    glyph = _glyph()
    tables = {
        b"OS/2": _os2(),
        b"cmap": _cmap(),
        b"glyf": glyph,
        b"head": _head(),
        b"hhea": _hhea(),
        b"hmtx": struct.pack(">HhHh", ADVANCE, 0, ADVANCE, 0),
        # Short offsets (halved): .notdef is empty (two equal offsets), glyph 1 follows.
        b"loca": struct.pack(">3H", 0, 0, len(glyph) // 2),
        b"maxp": _maxp(),
        b"name": _name(),
        b"post": _post(),
    }
    count = len(tables)
    entry_selector = count.bit_length() - 1
    search_range = 16 << entry_selector
    directory = struct.pack(
        ">IHHHH", 0x00010000, count, search_range, entry_selector, count * 16 - search_range
    )
    offset = 12 + 16 * count
    records = b""
    body = b""
    head_offset = 0
    for tag in sorted(tables):
        data = tables[tag]
        if tag == b"head":
            head_offset = offset
        records += struct.pack(">4sIII", tag, _checksum(data), offset, len(data))
        padded = data + b"\0" * (-len(data) % 4)
        body += padded
        offset += len(padded)
    font = bytearray(directory + records + body)
    # The whole-font checksum goes into head.checksumAdjustment (offset 8 in the table).
    adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
    struct.pack_into(">I", font, head_offset + 8, adjustment)
    return bytes(font)
