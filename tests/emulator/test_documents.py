"""Input decoding and the service's input rules: formats, limits, error codes, page selection."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from _img import encode, encode_pages, text_page
from PIL import Image

from emulator.documents.formats import (
    DocumentInfo,
    Limits,
    PageImage,
    inspect,
    iter_pages,
    select_pages,
    sniff_format,
)
from emulator.errors import ServiceError

LIMITS = Limits()


def _page(size: tuple[int, int] = (120, 80), colour: str = "white") -> Image.Image:
    return Image.new("RGB", size, colour)


def _pages(data: bytes, pages: list[int] | None = None) -> list[PageImage]:
    info = inspect(data, LIMITS)
    return list(iter_pages(data, info, pages or select_pages(None, info.page_count, LIMITS)))


def _code(exc: pytest.ExceptionInfo[ServiceError]) -> str:
    assert exc.value.status_code == 400
    return exc.value.code


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb's shape)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def _encrypted_pdf() -> bytes:
    """A one-page PDF with a standard security handler whose user password is not empty."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <"
        + b"41" * 32
        + b"> /U <"
        + b"42" * 32
        + b"> /P -4 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [<%s><%s>] >>\n" % (
        len(objs) + 1,
        b"00" * 16,
        b"00" * 16,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


# -- formats --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("PNG", "png"), ("JPEG", "jpeg"), ("BMP", "bmp"), ("TIFF", "tiff"), ("PDF", "pdf")],
)
def test_every_format_is_sniffed_inspected_and_decoded(fmt: str, expected: str) -> None:
    data = encode(_page((200, 100)), fmt)
    assert sniff_format(data) == expected
    info = inspect(data, LIMITS)
    assert info == DocumentInfo(expected, 1)  # type: ignore[arg-type]
    (page,) = _pages(data)
    assert page.number == 1
    assert page.image.mode == "RGB"
    if expected == "pdf":
        assert page.unit == "inch"
    else:
        assert (page.unit, page.units_per_pixel, page.image.size) == ("pixel", 1.0, (200, 100))
        assert (page.width, page.height) == (200.0, 100.0)


def test_big_endian_tiff_is_recognised() -> None:
    assert sniff_format(b"MM\x00*" + b"\x00" * 16) == "tiff"


def test_multi_page_tiff_yields_each_selected_page() -> None:
    frames = [_page((100 + 20 * i, 80)) for i in range(3)]
    data = encode_pages(frames, "TIFF")
    info = inspect(data, LIMITS)
    assert info == DocumentInfo("tiff", 3)
    pages = _pages(data, [1, 3])
    assert [(p.number, p.image.size) for p in pages] == [(1, (100, 80)), (3, (140, 80))]


def test_multi_page_pdf_is_rasterised_per_page_in_inches() -> None:
    # 300 x 150 px at 100 dpi: pages of 3 x 1.5 inches; the second page is blank-grey.
    data = encode_pages([_page((300, 150)), _page((300, 150), "grey")], "PDF", resolution=100.0)
    info = inspect(data, LIMITS)
    assert info == DocumentInfo("pdf", 2)
    pages = _pages(data)
    assert [p.number for p in pages] == [1, 2]
    for page in pages:
        assert page.unit == "inch"
        assert page.width == pytest.approx(3.0, abs=0.01)
        assert page.height == pytest.approx(1.5, abs=0.01)
        assert page.image.width * page.units_per_pixel == pytest.approx(page.width, abs=0.01)
        assert page.image.mode == "RGB"
    assert np.asarray(pages[1].image).mean() < np.asarray(pages[0].image).mean()


# -- conversion to RGB ----------------------------------------------------------------------


def test_palette_png_with_transparency_becomes_rgb_on_white() -> None:
    img = Image.new("P", (60, 60), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (0, 0, 30, 60))
    (page,) = _pages(encode(img, "PNG", transparency=0))
    assert page.image.mode == "RGB"
    assert page.image.getpixel((10, 10)) == (255, 0, 0)
    assert page.image.getpixel((50, 10)) == (255, 255, 255)  # transparent -> white, not black


def test_rgba_transparent_background_becomes_white() -> None:
    img = Image.new("RGBA", (60, 60), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (0, 0, 20, 20))
    (page,) = _pages(encode(img, "PNG"))
    assert page.image.getpixel((5, 5)) == (0, 0, 0)
    assert page.image.getpixel((40, 40)) == (255, 255, 255)


def test_one_bit_sixteen_bit_and_cmyk_are_converted() -> None:
    bilevel = Image.new("1", (64, 64), 1)
    (page,) = _pages(encode(bilevel, "TIFF", compression="group4"))
    assert page.image.getpixel((3, 3)) == (255, 255, 255)

    deep = Image.fromarray(np.full((64, 64), 65535, dtype=np.uint16))
    (page,) = _pages(encode(deep, "PNG"))
    assert page.image.getpixel((3, 3)) == (255, 255, 255)  # scaled, not clipped to garbage

    cmyk = Image.new("CMYK", (64, 64), (0, 0, 0, 0))
    (page,) = _pages(encode(cmyk, "JPEG"))
    assert page.image.mode == "RGB"
    assert min(page.image.getpixel((3, 3))) > 240


def test_jpeg_exif_orientation_is_applied() -> None:
    img = _page((200, 80))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    (page,) = _pages(encode(img, "JPEG", exif=exif.tobytes()))
    assert page.image.size == (80, 200)


# -- errors -----------------------------------------------------------------------------------


def test_empty_body_is_invalid_image_size() -> None:
    with pytest.raises(ServiceError) as exc:
        inspect(b"", LIMITS)
    assert _code(exc) == "InvalidImageSize"


def test_body_over_the_tier_limit_is_invalid_image_size() -> None:
    data = encode(_page((200, 200)), "BMP")
    with pytest.raises(ServiceError) as exc:
        inspect(data, Limits(max_bytes=len(data) - 1))
    assert _code(exc) == "InvalidImageSize"


@pytest.mark.parametrize("data", [b"GIF89a" + b"\x00" * 64, b"hello world", b"\x00" * 10])
def test_unknown_bytes_are_invalid_image_format(data: bytes) -> None:
    with pytest.raises(ServiceError) as exc:
        inspect(data, LIMITS)
    assert _code(exc) == "InvalidImageFormat"


@pytest.mark.parametrize("size", [(49, 100), (100, 49), (10001, 60)])
def test_sides_outside_50_to_10000_are_invalid_image_dimension(size: tuple[int, int]) -> None:
    with pytest.raises(ServiceError) as exc:
        inspect(encode(Image.new("1", size, 1), "PNG"), LIMITS)
    assert _code(exc) == "InvalidImageDimension"


def test_decompression_bomb_is_refused_with_a_400_not_a_pillow_error() -> None:
    with pytest.raises(ServiceError) as exc:
        inspect(_png_claiming(30000, 30000), LIMITS)
    assert _code(exc) == "InvalidImageDimension"


def test_oversized_tiff_page_is_refused_even_when_the_first_is_fine() -> None:
    data = encode_pages([_page((100, 100)), _page((100, 40))], "TIFF")
    with pytest.raises(ServiceError) as exc:
        inspect(data, LIMITS)
    assert _code(exc) == "InvalidImageDimension"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP", "PDF"])
def test_truncated_files_raise_invalid_image_format_never_a_decoder_error(fmt: str) -> None:
    data = encode(text_page(["truncated"], size=(400, 200)), fmt)
    cut = data[: len(data) // 2]
    with pytest.raises(ServiceError) as exc:
        info = inspect(cut, LIMITS)
        list(iter_pages(cut, info, [1]))
    assert _code(exc) in {"InvalidImageFormat", "InvalidImage"}


def test_garbage_after_a_valid_magic_is_invalid_image_format() -> None:
    with pytest.raises(ServiceError) as exc:
        inspect(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, LIMITS)
    assert _code(exc) == "InvalidImageFormat"


def test_encrypted_pdf_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ServiceError) as exc:
        inspect(_encrypted_pdf(), LIMITS)
    assert _code(exc) == "InvalidImageFormat"
    assert "password" in exc.value.message


def test_pdf_page_larger_than_17_inches_is_invalid_image_dimension() -> None:
    data = encode(_page((2000, 100)), "PDF", resolution=100.0)  # 20 x 1 inch
    with pytest.raises(ServiceError) as exc:
        inspect(data, LIMITS)
    assert _code(exc) == "InvalidImageDimension"


# -- page selection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ranges", "count", "expected"),
    [
        (None, 3, [1, 2, 3]),
        ([], 2, [1, 2]),
        (["2"], 3, [2]),
        (["3-5", "1"], 6, [1, 3, 4, 5]),
        (["4-"], 6, [4, 5, 6]),
        (["-2"], 6, [1, 2]),
        (["2-3", "3", "1-2"], 5, [1, 2, 3]),
        (["2-99"], 3, [2, 3]),
    ],
)
def test_select_pages(ranges: list[str] | None, count: int, expected: list[int]) -> None:
    assert select_pages(ranges, count, LIMITS) == expected


@pytest.mark.parametrize(
    "item", ["0", "3-2", "a", "1-2-3", "1,2", "", "-", " 1x", "0-2", "9", "9-"]
)
def test_bad_page_ranges_are_invalid_page_range(item: str) -> None:
    if not item.strip():
        assert select_pages([item], 3, LIMITS) == [1, 2, 3]  # an empty item selects nothing extra
        return
    with pytest.raises(ServiceError) as exc:
        select_pages([item], 3, LIMITS)
    assert _code(exc) == "InvalidPageRange"


def test_free_tier_processes_only_the_first_two_selected_pages() -> None:
    assert select_pages(None, 10, Limits.free()) == [1, 2]
    assert select_pages(["5-"], 10, Limits.free()) == [5, 6]
    assert Limits.free().max_bytes == 4 * 1024 * 1024


def test_iter_pages_is_lazy_one_page_at_a_time() -> None:
    data = encode_pages([_page((100, 100)) for _ in range(3)], "TIFF")
    pages = iter_pages(data, inspect(data, LIMITS), [1, 2, 3])
    assert next(pages).number == 1
    assert next(pages).number == 2


def test_the_largest_allowed_image_passes_inspect() -> None:
    data = encode(Image.new("1", (10000, 10000), 1), "PNG")
    assert inspect(data, LIMITS) == DocumentInfo("png", 1)


def test_pdfs_are_decoded_safely_from_several_threads() -> None:
    # PDFium is not thread-safe; the module serialises it, so concurrent jobs just work.
    from concurrent.futures import ThreadPoolExecutor

    data = encode_pages([_page((300, 150)), _page((300, 150), "grey")], "PDF", resolution=100.0)

    def decode(_: int) -> list[tuple[int, int]]:
        return [p.image.size for p in _pages(data)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(decode, range(12)))
    assert all(r == results[0] and len(r) == 2 for r in results)
