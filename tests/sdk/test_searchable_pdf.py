"""The searchable-PDF writer, checked with pdfium (pypdfium2) as a PDF reader would see it:
the text it extracts, where its characters are, how the pages render; and with pikepdf for
what is embedded. No PDF library is mocked: every document here is written and read for real.
"""

from __future__ import annotations

import ctypes
import io
import math
import re
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageOps

from ocr_sdk import Page, ReadOperationResult, ReadResult
from ocr_sdk.output._glyphless import glyphless_font
from ocr_sdk.output.searchable_pdf import DEFAULT_DPI, PDF_EXTRA_HINT, write_searchable_pdf
from ocr_sdk.output.text import TextLine, TextPage, TextWord, text_pages
from tests.conftest import encode, font

Box = tuple[float, float, float, float]  # left, top, right, bottom


# --- helpers ------------------------------------------------------------------------------------


def polygon(left: float, top: float, right: float, bottom: float) -> tuple[float, ...]:
    return (left, top, right, top, right, bottom, left, bottom)


def drawn_page(
    lines: Sequence[Sequence[str]], size: tuple[int, int] = (900, 260), number: int = 1
) -> tuple[Image.Image, TextPage]:
    """Black words on a white image, and the page that reads them, each word's polygon being
    the box its ink was drawn in (in pixels)."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    face = font(36)
    text_lines = []
    for row, words in enumerate(lines):
        x, y = 30, 30 + row * 80
        placed = []
        for word in words:
            left, top, right, bottom = draw.textbbox((x, y), word, font=face)
            draw.text((x, y), word, fill="black", font=face)
            placed.append(TextWord(word, polygon(left, top, right, bottom)))
            x = right + 22
        text_lines.append(TextLine(tuple(placed)))
    page = TextPage(number, size[0], size[1], "pixel", 0.0, tuple(text_lines))
    return image, page


def text_of(pdf: bytes, index: int = 0) -> str:
    """The text pdfium extracts from a page, with its ``\\r\\n`` line ends as ``\\n``."""
    document = pdfium.PdfDocument(pdf)
    try:
        return str(document[index].get_textpage().get_text_range()).replace("\r\n", "\n")
    finally:
        document.close()


def word_boxes(pdf: bytes, index: int = 0) -> list[tuple[str, Box]]:
    """Each extracted word and the union of its characters' boxes, in displayed points from
    the page's top left (pdfium's own page-to-device transform, so /Rotate and the CropBox
    are pdfium's business, not this test's)."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[index]
        width, height = page.get_size()
        textpage = page.get_textpage()
        words: list[tuple[str, Box]] = []
        chars: list[str] = []
        box: list[float] = []
        for i in range(textpage.count_chars()):
            char = textpage.get_text_range(i, 1)
            if char.isspace():
                if chars:
                    words.append(("".join(chars), (box[0], box[1], box[2], box[3])))
                chars, box = [], []
                continue
            left, bottom, right, top = textpage.get_charbox(i)
            corners = [
                _to_display(page, width, height, x, y) for x in (left, right) for y in (bottom, top)
            ]
            xs, ys = [c[0] for c in corners], [c[1] for c in corners]
            current = [min(xs), min(ys), max(xs), max(ys)]
            box = (
                current
                if not box
                else [
                    min(box[0], current[0]),
                    min(box[1], current[1]),
                    max(box[2], current[2]),
                    max(box[3], current[3]),
                ]
            )
            chars.append(char)
        if chars:
            words.append(("".join(chars), (box[0], box[1], box[2], box[3])))
        return words
    finally:
        document.close()


_PRECISION = 100  # device pixels per point in the page-to-device transform


def _to_display(
    page: pdfium.PdfPage, width: float, height: float, x: float, y: float
) -> tuple[float, float]:
    dx, dy = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDF_PageToDevice(
        page.raw,
        0,
        0,
        round(width * _PRECISION),
        round(height * _PRECISION),
        0,
        x,
        y,
        ctypes.byref(dx),
        ctypes.byref(dy),
    )
    return dx.value / _PRECISION, dy.value / _PRECISION


def render(pdf: bytes, index: int = 0, scale: float = 1.0) -> Image.Image:
    document = pdfium.PdfDocument(pdf)
    try:
        bitmap = document[index].render(scale=scale)
        return bitmap.to_pil().convert("RGB")
    finally:
        document.close()


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [tuple(round(v, 3) for v in document.get_page_size(i)) for i in range(len(document))]  # type: ignore[misc]
    finally:
        document.close()


def assert_close(actual: Box, expected: Box, tolerance: float) -> None:
    """Each edge of ``actual`` within ``tolerance`` points of ``expected``'s, plus 5 % of the
    box's height: pdfium rounds a glyph's box outwards to its rasteriser's grid."""
    slack = tolerance + 0.05 * min(expected[2] - expected[0], expected[3] - expected[1])
    assert all(math.isclose(a, e, abs_tol=slack) for a, e in zip(actual, expected, strict=True)), (
        actual,
        expected,
    )


def embedded_image(pdf: bytes, index: int = 0) -> tuple[dict[str, object], bytes, Image.Image]:
    """The page's one image XObject: its dictionary (as Python values), raw data, and pixels."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        [image] = document.pages[index].Resources.XObject.values()
        info = {key: str(value) for key, value in image.items()}
        raw = image.read_raw_bytes()
        pixels = pikepdf.PdfImage(image).as_pil_image()
        pixels.load()
        return info, raw, pixels


# --- text: extraction, positions, Unicode -------------------------------------------------------


def test_words_extract_with_spaces_and_line_breaks_in_any_script() -> None:
    image, page = drawn_page([["Hello", "Привет", "Ærø"], ["日本語", "naïve", "ελληνικά"]])
    pdf = write_searchable_pdf(encode(image, "PNG"), [page])
    assert text_of(pdf) == "Hello Привет Ærø\n日本語 naïve ελληνικά"


def test_one_letter_words_and_touching_words_keep_their_spaces() -> None:
    # OCR engines report touching boxes (no gap at all) for words set close together.
    words = [("a", 30, 50), ("see", 60, 120), ("if", 120, 150), ("I", 160, 170)]
    page = TextPage(
        1,
        400,
        100,
        lines=(TextLine(tuple(TextWord(t, polygon(x0, 30, x1, 70)) for t, x0, x1 in words)),),
    )
    pdf = write_searchable_pdf(encode(Image.new("L", (400, 100), 255), "PNG"), [page])
    assert text_of(pdf) == "a see if I"


def test_touching_words_are_drawn_apart() -> None:
    # Tools that split words by distance alone (poppler's pdftotext ignores space characters)
    # need a visible gap, so touching words give up a little width: at most a quarter each.
    words = [("touching", 40, 200), ("words", 200, 300), ("apart", 330, 430)]
    line = TextLine(tuple(TextWord(t, polygon(x0, 30, x1, 70)) for t, x0, x1 in words))
    pdf = write_searchable_pdf(
        encode(Image.new("L", (500, 100), 255), "PNG", dpi=(72, 72)),
        [TextPage(1, 500, 100, lines=(line,))],
    )
    (_, first), (_, second), (_, third) = word_boxes(pdf)
    assert second[0] - first[2] >= 0.2 * 40 - 0.5  # a fifth of an em, opened between them
    assert first[2] > 200 - 0.25 * 160 and second[0] < 200 + 0.25 * 100
    assert third[0] == pytest.approx(330, abs=0.6)  # words already apart keep their place
    assert text_of(pdf) == "touching words apart"


def test_chinese_and_japanese_one_character_words_are_not_spaced() -> None:
    # The line's text says where spaces are: none between these one-character words.
    chars = "日本語です"
    line = TextLine(
        tuple(TextWord(c, polygon(40 + 40 * i, 30, 76 + 40 * i, 70)) for i, c in enumerate(chars)),
        text=chars,
    )
    latin = TextLine((TextWord("ok", polygon(40, 100, 80, 140)),))
    page = TextPage(1, 400, 200, lines=(line, latin))
    pdf = write_searchable_pdf(encode(Image.new("L", (400, 200), 255), "PNG"), [page])
    assert text_of(pdf) == "日本語です\nok"


def test_rare_characters_round_trip_exactly() -> None:
    # Astral (surrogate pairs in UTF-16), combining, right-to-left, and a ligature, which
    # pdfium's extraction would spell out ("fi"): the PDF's own map is checked for that one.
    words = [
        "\U0001d518\U0001d52b\U0001d526",
        "\U0001f600",
        "e\u0301",
        "\u05e9\u05dc\u05d5\u05dd",
        "2024",
        "\ufb01",
    ]
    line = TextLine(
        tuple(TextWord(w, polygon(20 + 90 * i, 20, 100 + 90 * i, 60)) for i, w in enumerate(words))
    )
    pdf = write_searchable_pdf(
        encode(Image.new("L", (600, 100), 255), "PNG"), [TextPage(1, 600, 100, lines=(line,))]
    )
    assert text_of(pdf).split(" ")[:5] == words[:5]
    with pikepdf.open(io.BytesIO(pdf)) as document:
        cmap = document.pages[0].Resources.Font.OcrText.ToUnicode.read_bytes().decode("ascii")
    entries = "".join(re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.DOTALL))
    pairs = dict(re.findall(r"<([0-9A-F]{4})> <([0-9A-F]+)>", entries))
    mapped = {bytes.fromhex(target).decode("utf-16-be") for target in pairs.values()}
    assert set("".join(words)) | {" "} == mapped


def test_right_to_left_words_read_in_their_own_order() -> None:
    # Read in logical order (the first word is the rightmost), as the service reports them.
    words = [("שלום", 400, 500), ("עולם", 250, 380), ("2024", 100, 200)]
    line = TextLine(tuple(TextWord(t, polygon(x0, 30, x1, 70)) for t, x0, x1 in words))
    pdf = write_searchable_pdf(
        encode(Image.new("L", (600, 100), 255), "PNG"), [TextPage(1, 600, 100, lines=(line,))]
    )
    assert text_of(pdf).split() == ["שלום", "עולם", "2024"]


def test_each_word_lies_on_its_polygon() -> None:
    image, page = drawn_page([["Invoice", "2024-03", "Total:"], ["Ærø", "Привет", "x"]])
    pdf = write_searchable_pdf(encode(image, "PNG", dpi=(150, 150)), [page])
    points = 72 / 150
    found = word_boxes(pdf)
    assert [text for text, _ in found] == [word.text for word in page.words]
    for (text, box), word in zip(found, page.words, strict=True):
        x1, y1, x2, _, _, y3, _, _ = word.polygon
        expected = (x1 * points, y1 * points, x2 * points, y3 * points)
        assert_close(box, expected, tolerance=0.6), text


def test_words_of_a_skewed_scan_follow_the_slope() -> None:
    # A line 10 degrees clockwise, with its words on it: each word polygon is slanted.
    angle = math.radians(10)
    ux, uy = math.cos(angle), math.sin(angle)
    words, along = [], 0.0
    for text in ("rotated", "words", "stay", "put"):
        width = 30.0 * len(text)
        corners = [(along, 0.0), (along + width, 0.0), (along + width, 40.0), (along, 40.0)]
        points = [(100 + a * ux - d * uy, 60 + a * uy + d * ux) for a, d in corners]
        words.append(TextWord(text, tuple(v for p in points for v in p)))
        along += width + 25
    page = TextPage(1, 1000, 400, angle=10.0, lines=(TextLine(tuple(words)),))
    pdf = write_searchable_pdf(
        encode(Image.new("L", (1000, 400), 255), "PNG", dpi=(72, 72)), [page]
    )
    assert text_of(pdf) == "rotated words stay put"
    for (text, box), word in zip(word_boxes(pdf), words, strict=True):
        xs, ys = word.polygon[0::2], word.polygon[1::2]
        # pdfium reports each character's box upright, so the word's is the polygon's bounds.
        assert_close(box, (min(xs), min(ys), max(xs), max(ys)), tolerance=1.5), text


def test_pages_not_read_are_kept_without_text(tmp_path: Path) -> None:
    frames = [Image.new("L", (300 + 50 * i, 200), 255) for i in range(3)]
    tiff = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:], dpi=(100, 100))
    page = TextPage(2, 350, 200, lines=(TextLine((TextWord("second", polygon(20, 20, 200, 60)),)),))
    pdf = write_searchable_pdf(tiff, [page])
    assert page_sizes(pdf) == [(216.0, 144.0), (252.0, 144.0), (288.0, 144.0)]
    assert [text_of(pdf, i) for i in range(3)] == ["", "second", ""]


def test_a_result_goes_in_directly() -> None:
    image, page = drawn_page([["from", "a", "ReadResult"]])
    wire = {
        "page": 1,
        "angle": 0,
        "width": page.width,
        "height": page.height,
        "unit": "pixel",
        "lines": [
            {
                "text": "from a ReadResult",
                "boundingBox": list(page.lines[0].polygon or ()),
                "words": [
                    {"text": w.text, "boundingBox": list(w.polygon), "confidence": 0.9}
                    for w in page.words
                ],
            }
        ],
    }
    operation = ReadOperationResult.model_validate(
        {"status": "succeeded", "analyzeResult": {"version": "3.2", "readResults": [wire]}}
    )
    result = ReadResult.from_operation("op", operation)
    pdf = write_searchable_pdf(encode(image, "PNG"), result)
    assert text_of(pdf) == "from a ReadResult"
    assert text_pages(result) == text_pages(result.pages)
    assert text_pages(result)[0].lines[0].words == page.lines[0].words


def test_the_converter_skips_words_it_cannot_place_and_defaults_what_is_optional() -> None:
    page = Page.model_validate(
        {
            "width": 100,
            "height": 50,
            "lines": [
                {
                    "text": "kept lost",
                    "boundingBox": [0, 0, 90, 0, 90, 20, 0, 20],
                    "words": [
                        {"text": "kept", "boundingBox": [0, 0, 40, 0, 40, 20, 0, 20]},
                        {"text": "lost"},
                    ],
                }
            ],
        }
    )
    [converted] = text_pages([page])
    assert (converted.number, converted.unit, converted.angle) == (1, "pixel", 0.0)
    assert converted.lines[0].content == "kept lost"
    assert [w.text for w in converted.words] == ["kept"]
    with pytest.raises(ValueError, match="width or height"):
        text_pages([Page.model_validate({"page": 1})])


# --- images -------------------------------------------------------------------------------------


def test_jpeg_is_embedded_byte_for_byte() -> None:
    image, page = drawn_page([["jpeg", "stays", "jpeg"]])
    jpeg = encode(image, "JPEG", quality=70)
    pdf = write_searchable_pdf(jpeg, [page])
    info, raw, _ = embedded_image(pdf)
    assert info["/Filter"] == "/DCTDecode"
    assert raw == jpeg
    assert text_of(pdf) == "jpeg stays jpeg"


def test_a_png_that_mentions_pdf_early_is_still_a_png() -> None:
    """The writer and the emulator's decoder tell formats by one rule (``ocr_sdk._formats``):
    a PNG whose text chunk says "%PDF-" within its first 1024 bytes is a PNG to both."""
    from PIL.PngImagePlugin import PngInfo

    from emulator.documents.formats import sniff_format

    image, page = drawn_page([["still", "png"]])
    info = PngInfo()
    info.add_text("Comment", "converted from %PDF-1.7")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    png = buffer.getvalue()
    assert b"%PDF-" in png[:1024] and sniff_format(png) == "png"
    assert text_of(write_searchable_pdf(png, [page])) == "still png"


def test_png_data_passes_through_unchanged() -> None:
    image, page = drawn_page([["lossless"]])
    png = encode(image.convert("L"), "PNG")
    pdf = write_searchable_pdf(png, [page])
    info, raw, pixels = embedded_image(pdf)
    assert info["/Filter"] == "/FlateDecode"
    assert "Predictor" in str(info["/DecodeParms"])
    assert raw in png  # the PNG's own compressed data, not recompressed
    assert ImageChops.difference(pixels.convert("L"), image.convert("L")).getbbox() is None


@pytest.mark.parametrize("mode", ["1", "P", "RGBA", "LA", "I;16", "CMYK"])
def test_other_images_are_stored_losslessly(mode: str) -> None:
    base = Image.new("RGB", (120, 80), "white")
    ImageDraw.Draw(base).rectangle((10, 10, 60, 50), fill=(200, 30, 30))
    if mode == "RGBA":
        image = base.convert("RGBA")
        image.putalpha(Image.linear_gradient("L").resize((120, 80)))
        expected = Image.alpha_composite(Image.new("RGBA", (120, 80), "white"), image).convert(
            "RGB"
        )
        data = encode(image, "PNG")
    elif mode == "LA":
        image = base.convert("LA")
        expected = Image.alpha_composite(
            Image.new("RGBA", (120, 80), "white"), image.convert("RGBA")
        ).convert("RGB")
        data = encode(image, "PNG")
    elif mode == "I;16":
        image = base.convert("L").convert("I;16")
        expected = base.convert("L").convert("RGB")
        data = encode(image, "TIFF")
    elif mode == "CMYK":
        image = base.convert("CMYK")
        expected = image.convert("RGB")
        data = encode(image, "TIFF")
    else:
        image = base.convert(mode)
        expected = image.convert("RGB")
        data = encode(image, "BMP")
    pdf = write_searchable_pdf(data, [])
    if mode == "I;16":  # all 16 bits kept, which no 8-bit comparison would show
        with pikepdf.open(io.BytesIO(pdf)) as document:
            [stream] = document.pages[0].Resources.XObject.values()
            assert stream.BitsPerComponent == 16
            assert stream.read_bytes() == image.tobytes("raw", "I;16B")
        return
    _, _, pixels = embedded_image(pdf)
    assert ImageChops.difference(pixels.convert("RGB"), expected).getbbox() is None


def test_group4_tiff_passes_through() -> None:
    image, page = drawn_page([["fax", "scan"]])
    bilevel = image.convert("1")
    tiff = encode(bilevel, "TIFF", compression="group4", dpi=(300, 300))
    pdf = write_searchable_pdf(tiff, [page])
    info, raw, pixels = embedded_image(pdf)
    assert info["/Filter"] == "/CCITTFaxDecode"
    assert raw in tiff
    assert ImageChops.difference(pixels.convert("L"), bilevel.convert("L")).getbbox() is None
    assert text_of(pdf) == "fax scan"


def test_page_size_follows_the_image_resolution() -> None:
    blank = Image.new("L", (600, 300), 255)
    assert page_sizes(write_searchable_pdf(encode(blank, "PNG", dpi=(300, 300)), [])) == [
        (144.0, 72.0)
    ]
    assert page_sizes(write_searchable_pdf(encode(blank, "PNG", dpi=(200, 100)), [])) == [
        (216.0, 216.0)
    ]
    default = (600 * 72 / DEFAULT_DPI, 300 * 72 / DEFAULT_DPI)
    assert page_sizes(write_searchable_pdf(encode(blank, "PNG"), [])) == [default]
    # A placeholder resolution (1 dpi would make a 600-inch page) counts as none.
    assert page_sizes(write_searchable_pdf(encode(blank, "JPEG", dpi=(1, 1)), [])) == [default]
    assert page_sizes(write_searchable_pdf(encode(blank, "PNG"), [], default_dpi=72)) == [
        (600.0, 300.0)
    ]


def test_text_lines_up_with_the_image_at_any_resolution() -> None:
    image, page = drawn_page([["aligned"]])
    for dpi in (72, 300):
        pdf = write_searchable_pdf(encode(image, "PNG", dpi=(dpi, dpi)), [page])
        [(_, box)] = word_boxes(pdf)
        x1, y1, x2, _, _, y3, _, _ = page.lines[0].words[0].polygon
        scale = 72 / dpi
        assert_close(
            box, (x1 * scale, y1 * scale, x2 * scale, y3 * scale), tolerance=0.6 * scale + 0.1
        )


# JPEG is drawn turned by the page; TIFF is turned by Pillow as it loads; PNG by the writer.
@pytest.mark.parametrize("fmt", ["JPEG", "TIFF", "PNG"])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_shown_as_the_service_read_it(orientation: int, fmt: str) -> None:
    stored = Image.new("RGB", (200, 100), "white")
    ImageDraw.Draw(stored).rectangle((0, 0, 60, 30), fill="black")  # marks the top left
    exif = Image.Exif()
    exif[0x0112] = orientation
    options = {"quality": 95} if fmt == "JPEG" else {}
    data = encode(stored, fmt, exif=exif.tobytes(), dpi=(72, 144), **options)
    shown = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    # The service reads (and reports the size of) the page as shown: the text layer uses it.
    word = TextWord("mark", polygon(0, 0, 30, 20))
    page = TextPage(1, shown.width, shown.height, lines=(TextLine((word,)),))
    pdf = write_searchable_pdf(data, [page])
    # The resolution turns with the picture: 72 dpi across the page as shown, 144 down it.
    across, down = (144, 72) if orientation >= 5 else (72, 144)
    [size] = page_sizes(pdf)  # PNG stores dots per metre: 72 dpi comes back as 71.9994
    assert size == pytest.approx((shown.width * 72 / across, shown.height * 72 / down), abs=0.05)
    rendered = render(pdf, scale=across / 72)
    if across != down:
        rendered = rendered.resize(shown.size)
    assert rendered.size == shown.size
    difference = ImageChops.difference(rendered, shown.convert("RGB")).convert("L")
    mean = sum(count * value for value, count in enumerate(difference.histogram())) / (200 * 100)
    assert mean < 4  # the same picture, up to JPEG decoding
    [(_, box)] = word_boxes(pdf)
    assert_close(box, (0, 0, 30 * 72 / across, 20 * 72 / down), tolerance=0.6)


def test_cmyk_jpeg_keeps_its_colours() -> None:
    rgb = Image.new("RGB", (90, 60), (30, 120, 200))
    jpeg = encode(rgb.convert("CMYK"), "JPEG", quality=95, dpi=(72, 72))
    pdf = write_searchable_pdf(jpeg, [])
    info, raw, _ = embedded_image(pdf)
    assert raw == jpeg
    assert "1, 0, 1, 0, 1, 0, 1, 0" in info["/Decode"]  # Adobe's inverted CMYK
    # Colour management differs between pdfium and Pillow; inverted inks would be far off.
    actual = render(pdf).getpixel((45, 30))
    assert all(abs(a - e) < 50 for a, e in zip(actual, (30, 120, 200), strict=True)), actual


# --- PDF input ----------------------------------------------------------------------------------


def source_pdf() -> bytes:
    """Four pages with real (vector) text: Letter; A5 landscape; a page turned by /Rotate 90;
    a page whose CropBox starts away from the origin."""
    pdf = pikepdf.new()
    helvetica = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type1,
            BaseFont=pikepdf.Name.Helvetica,
            Encoding=pikepdf.Name.WinAnsiEncoding,
        )
    )
    specs = [
        ([0, 0, 612, 792], None, 0, [("Letter", 72, 700), ("page", 200, 700)]),
        ([0, 0, 595, 420], None, 0, [("Landscape", 72, 300)]),
        ([0, 0, 400, 300], None, 90, [("Turned", 100, 150), ("page", 220, 150)]),
        ([0, 0, 500, 500], [50, 80, 450, 400], 0, [("Cropped", 120, 300)]),
    ]
    for media, crop, rotate, words in specs:
        ops = " ".join(f"1 0 0 1 {x} {y} Tm ({w}) Tj" for w, x, y in words)
        content = f"0 0 1 rg 40 40 100 20 re f BT /F1 24 Tf {ops} ET".encode()
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=pikepdf.Array(media),
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=helvetica)),
            Contents=pdf.make_stream(content),
        )
        if crop:
            page.CropBox = pikepdf.Array(crop)
        if rotate:
            page.Rotate = rotate
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def read_like_the_service(pdf: bytes) -> list[TextPage]:
    """What the service would report for each page: its words where pdfium sees them, in
    inches from the top left of the page as displayed."""
    sizes = page_sizes(pdf)
    pages = []
    for index, (width, height) in enumerate(sizes):
        words = [
            TextWord(text, tuple(v / 72 for v in polygon(*box)))
            for text, box in word_boxes(pdf, index)
        ]
        lines = tuple(TextLine((word,)) for word in words)
        pages.append(TextPage(index + 1, width / 72, height / 72, "inch", 0.0, lines))
    return pages


def test_pdf_pages_stay_the_original_pages() -> None:
    source = source_pdf()
    pages = read_like_the_service(source)
    pdf = write_searchable_pdf(source, pages)
    assert page_sizes(pdf) == page_sizes(source)
    with pikepdf.open(io.BytesIO(source)) as before, pikepdf.open(io.BytesIO(pdf)) as after:
        for old, new in zip(before.pages, after.pages, strict=True):
            streams = [stream.read_bytes() for stream in new.obj.Contents]
            assert old.obj.Contents.read_bytes() in streams  # the original content, untouched
            assert "/XObject" not in new.Resources  # nothing rasterised
            assert new.obj.get("/Rotate") == old.obj.get("/Rotate")
            assert repr(new.obj.get("/CropBox")) == repr(old.obj.get("/CropBox"))
    for index in range(len(pages)):
        # Its own text still extracts, and the layer's words again (where they overlap on a
        # line, pdfium interleaves the two).
        original = Counter(text_of(source, index).split())
        assert Counter(text_of(pdf, index).split()) == original + original


@pytest.mark.parametrize("index", [0, 1, 2, 3], ids=["letter", "landscape", "rotate-90", "cropbox"])
def test_pdf_text_layer_covers_the_original_words(index: int) -> None:
    source = source_pdf()
    pdf = write_searchable_pdf(source, read_like_the_service(source))
    original = word_boxes(source, index)
    both = word_boxes(pdf, index)
    for text, expected in original:
        # The original word and the layer's, both where the original's glyphs are.
        found = [box for word, box in both if word == text]
        assert len(found) == 2, (text, both)
        for actual in found:
            assert_close(actual, expected, tolerance=0.6)


def test_pdf_pages_not_read_are_untouched() -> None:
    source = source_pdf()
    pages = read_like_the_service(source)
    pdf = write_searchable_pdf(source, [pages[1]])
    with pikepdf.open(io.BytesIO(source)) as before, pikepdf.open(io.BytesIO(pdf)) as after:
        assert len(after.pages) == 4
        for number in (0, 2, 3):
            assert (
                after.pages[number].obj.Contents.read_bytes()
                == before.pages[number].obj.Contents.read_bytes()
            )
    assert text_of(pdf, 0) == text_of(source, 0)


def test_resources_shared_between_pages_are_not_changed() -> None:
    pdf = pikepdf.new()
    shared = pdf.make_indirect(pikepdf.Dictionary(Font=pikepdf.Dictionary()))
    for _ in range(2):
        pdf.pages.append(
            pikepdf.Page(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Page,
                    MediaBox=pikepdf.Array([0, 0, 200, 200]),
                    Resources=shared,
                    Contents=pdf.make_stream(b""),
                )
            )
        )
    out = io.BytesIO()
    pdf.save(out)
    word = TextWord("one", polygon(0.5, 0.5, 1.5, 0.8))
    written = write_searchable_pdf(
        out.getvalue(), [TextPage(1, 200 / 72, 200 / 72, "inch", lines=(TextLine((word,)),))]
    )
    with pikepdf.open(io.BytesIO(written)) as document:
        assert len(document.pages[0].Resources.Font) == 1
        assert len(document.pages[1].Resources.Font) == 0
    assert (text_of(written, 0), text_of(written, 1)) == ("one", "")


# --- invisible ----------------------------------------------------------------------------------


def test_the_text_layer_adds_no_ink_to_images() -> None:
    image, page = drawn_page([["nothing", "to", "see"], ["Привет", "日本語"]])
    png = encode(image, "PNG", dpi=(96, 96))
    with_text = write_searchable_pdf(png, [page])
    without = write_searchable_pdf(png, [])
    assert (
        ImageChops.difference(render(with_text, scale=2), render(without, scale=2)).getbbox()
        is None
    )


def test_the_text_layer_adds_no_ink_to_pdf_pages() -> None:
    source = source_pdf()
    pdf = write_searchable_pdf(source, read_like_the_service(source))
    for index in range(4):
        assert ImageChops.difference(render(pdf, index), render(source, index)).getbbox() is None


def test_the_glyphs_have_no_ink_even_when_filled() -> None:
    # Render mode 3 hides the text; the font alone must too (a viewer that ignored the mode, or
    # text copied elsewhere, would still show nothing).
    image, page = drawn_page([["ink", "free"]])
    png = encode(image, "PNG")
    pdf = write_searchable_pdf(png, [page])
    with pikepdf.open(io.BytesIO(pdf)) as document:
        content = document.pages[0].Contents
        assert b"3 Tr" in content.read_bytes()  # the layer itself is drawn invisibly
        content.write(content.read_bytes().replace(b"3 Tr", b"0 Tr"))
        filled = io.BytesIO()
        document.save(filled)
    assert (
        ImageChops.difference(render(filled.getvalue(), scale=2), render(pdf, scale=2)).getbbox()
        is None
    )
    assert text_of(filled.getvalue()) == "ink free"


def test_the_font_is_a_valid_glyphless_truetype_font() -> None:
    from fontTools.pens.areaPen import AreaPen
    from fontTools.pens.boundsPen import BoundsPen
    from fontTools.ttLib import TTFont

    data = glyphless_font()
    tt = TTFont(io.BytesIO(data), checkChecksums=2)  # raises on a bad table checksum
    glyphs = tt.getGlyphSet()
    assert tt.getGlyphOrder() == [".notdef", "glyph00001"]
    for name in tt.getGlyphOrder():
        area = AreaPen(glyphs)
        glyphs[name].draw(area)
        assert area.value == 0
    bounds = BoundsPen(glyphs)
    glyphs["glyph00001"].draw(bounds)
    assert bounds.bounds == (0, -200, 500, 800)
    assert glyphless_font() is data  # built once


# --- errors and packaging -----------------------------------------------------------------------


def test_bad_input_is_refused_clearly() -> None:
    png = encode(Image.new("L", (100, 100), 255), "PNG")
    with pytest.raises(ValueError, match="not a PNG, JPEG, BMP, TIFF or PDF"):
        write_searchable_pdf(b"GIF89a...", [])
    with pytest.raises(ValueError, match="no page 2"):
        write_searchable_pdf(png, [TextPage(2, 100, 100)])
    with pytest.raises(ValueError, match="no page 5"):
        write_searchable_pdf(source_pdf(), [TextPage(5, 1, 1, "inch")])
    with pytest.raises(ValueError, match="twice"):
        write_searchable_pdf(png, [TextPage(1, 100, 100), TextPage(1, 100, 100)])
    with pytest.raises(ValueError, match="cannot be read"):
        write_searchable_pdf(png[:60], [])
    with pytest.raises(ValueError, match="cannot be read"):
        write_searchable_pdf(b"%PDF-1.7\nnot really", [])
    with pytest.raises(TypeError, match="text_pages"):
        write_searchable_pdf(png, [Page.model_validate({"page": 1, "width": 1, "height": 1})])  # type: ignore[list-item]


def test_output_is_reproducible() -> None:
    image, page = drawn_page([["same", "bytes"]])
    png = encode(image, "PNG")
    assert write_searchable_pdf(png, [page]) == write_searchable_pdf(png, [page])


def test_without_the_pdf_extra_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pikepdf", None)
    with pytest.raises(ImportError, match=r"pip install 'ocr-sdk\[pdf\]'"):
        write_searchable_pdf(encode(Image.new("L", (60, 60), 255), "PNG"), [])
    assert "ocr-sdk[pdf]" in PDF_EXTRA_HINT


def test_the_writers_import_no_heavy_library() -> None:
    code = (
        "import sys, ocr_sdk, ocr_sdk.searchable_pdf, ocr_sdk.markdown, ocr_sdk.page_text; "
        "heavy = ('PIL', 'pikepdf', 'fpdf', 'numpy', 'ocr_sdk._models'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_pdf_extra_holds_what_the_writer_needs() -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    names = {requirement.split(">")[0].split("=")[0].split("[")[0] for requirement in extras["pdf"]}
    assert names == {"pikepdf", "pillow"}
    assert "ocr-sdk[pdf]" in extras["emulator"]
    assert "ocr-sdk[pdf]" in extras["dev"]
