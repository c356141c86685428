"""Notebook rendering: ``_repr_html_`` summaries and ``draw`` overlays on pages and results."""

from __future__ import annotations

import io
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ocr_sdk import Page, ReadOperationResult, ReadResult
from ocr_sdk.output.notebook import MAX_HTML_PAGES

BLUE = (0, 0, 255)
RED = (255, 0, 0)
WHITE = (255, 255, 255)
STYLE: dict[str, Any] = {"line_color": "#0000ff", "word_color": "#ff0000", "width": 1}


def box(left: float, top: float, right: float, bottom: float) -> list[float]:
    return [left, top, right, top, right, bottom, left, bottom]


def make_page(
    number: int = 1,
    *,
    width: float = 200,
    height: float = 100,
    unit: str = "pixel",
    scale: float = 1.0,
    text: str = "Hello world",
    confidences: tuple[float, ...] = (0.9, 0.6),
) -> Page:
    """One line across most of the page and one word box inside it, in page units."""
    s = scale
    return Page.model_validate(
        {
            "page": number,
            "angle": 0.5,
            "width": width,
            "height": height,
            "unit": unit,
            "lines": [
                {
                    "boundingBox": box(10 * s, 10 * s, 190 * s, 90 * s),
                    "text": text,
                    "words": [
                        {
                            "boundingBox": box(20 * s, 20 * s, 100 * s, 80 * s),
                            "text": t,
                            "confidence": c,
                        }
                        for t, c in zip(text.split(), confidences, strict=False)
                    ],
                }
            ],
        }
    )


def make_result(pages: list[Page], operation_id: str = "op-1") -> ReadResult:
    operation = ReadOperationResult.model_validate(
        {
            "status": "succeeded",
            "analyzeResult": {
                "version": "3.2.0",
                "modelVersion": "2022-04-30",
                "readResults": [page.to_wire() for page in pages],
            },
        }
    )
    return ReadResult.from_operation(operation_id, operation)


def white(size: tuple[int, int] = (200, 100)) -> Image.Image:
    return Image.new("RGB", size, WHITE)


# --- HTML ------------------------------------------------------------------------------------


def test_page_html_shows_summary_and_text() -> None:
    html = make_page(text="Hello world", confidences=(0.9, 0.6))._repr_html_()
    assert "<pre" in html and "Hello world" in html
    for expected in ("200 x 100 pixel", "0.5°", ">1<", ">2<", "0.750"):
        assert expected in html, expected


def test_page_html_escapes_everything_it_shows() -> None:
    page = make_page(text='<script>alert("x")</script> & <b>', unit="<i>unit</i>")
    html = page._repr_html_()
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in html
    assert "&lt;i&gt;unit&lt;/i&gt;" in html


def test_empty_page_says_so() -> None:
    page = Page.model_validate({"page": 3, "width": 8.5, "height": 11, "unit": "inch"})
    html = page._repr_html_()
    assert "(no text)" in html and "n/a" in html and "8.5 x 11 inch" in html


def test_result_html_sums_over_pages() -> None:
    result = make_result(
        [make_page(1, confidences=(1.0, 0.5)), make_page(2, text="one", confidences=(0.0,))],
        operation_id="<op>",
    )
    html = result._repr_html_()
    assert "&lt;op&gt;" in html and "<op>" not in html
    assert "2022-04-30" in html
    # 3 words: (1.0 + 0.5 + 0.0) / 3
    assert "0.500" in html
    assert html.count("<details") == 2 and html.count("<details open") == 1
    assert "page 2, 200 x 100 pixel" in html


def test_result_html_is_capped_for_huge_documents() -> None:
    pages = [make_page(n, text=f"text-of-page-{n}") for n in range(1, MAX_HTML_PAGES + 4)]
    html = make_result(pages)._repr_html_()
    assert html.count("<details") == MAX_HTML_PAGES
    assert f"text-of-page-{MAX_HTML_PAGES}<" in html
    assert f"text-of-page-{MAX_HTML_PAGES + 1}<" not in html
    assert "3 more pages" in html


# --- drawing ---------------------------------------------------------------------------------


def test_draw_outlines_lines_and_words_on_a_copy() -> None:
    original = white()
    drawn = make_page().draw(original, **STYLE)
    assert drawn is not original and drawn.mode == "RGB" and drawn.size == (200, 100)
    assert drawn.getpixel((10, 50)) == BLUE  # the line's left edge
    assert drawn.getpixel((20, 50)) == RED  # the word's left edge
    assert drawn.getpixel((60, 50)) == WHITE  # inside the word
    assert drawn.getpixel((150, 50)) == WHITE  # inside the line, outside the word
    assert original.getcolors() == [(200 * 100, WHITE)]


def test_draw_can_leave_out_lines_or_words() -> None:
    no_lines = make_page().draw(white(), lines=False, **STYLE)
    assert no_lines.getpixel((10, 50)) == WHITE and no_lines.getpixel((20, 50)) == RED
    no_words = make_page().draw(white(), words=False, **STYLE)
    assert no_words.getpixel((10, 50)) == BLUE and no_words.getpixel((20, 50)) == WHITE


def test_inch_pages_are_scaled_to_the_image() -> None:
    # A 2 x 1 inch page rendered at 100 dpi: inch (0.1, 0.5) is pixel (10, 50).
    page = make_page(width=2, height=1, unit="inch", scale=0.01)
    drawn = page.draw(white((200, 100)), **STYLE)
    assert drawn.getpixel((10, 50)) == BLUE and drawn.getpixel((20, 50)) == RED
    assert drawn.getpixel((150, 50)) == WHITE


def test_a_smaller_preview_of_a_pixel_page_is_scaled_too() -> None:
    page = make_page(width=400, height=200, scale=2.0)
    drawn = page.draw(white((200, 100)), **STYLE)
    assert drawn.getpixel((10, 50)) == BLUE and drawn.getpixel((20, 50)) == RED


def test_inch_page_without_size_cannot_be_scaled() -> None:
    page = Page.model_validate({"page": 1, "unit": "inch", "lines": []})
    with pytest.raises(ValueError, match="no width/height"):
        page.draw(white())


def test_bilevel_and_grey_images_are_drawn_in_colour() -> None:
    drawn = make_page().draw(Image.new("1", (200, 100), 1), **STYLE)
    assert drawn.mode == "RGB" and drawn.getpixel((10, 50)) == BLUE


def png_bytes(size: tuple[int, int] = (200, 100)) -> bytes:
    buffer = io.BytesIO()
    white(size).save(buffer, "PNG")
    return buffer.getvalue()


def test_draw_accepts_paths_bytes_and_file_objects(tmp_path: Path) -> None:
    path = tmp_path / "page.png"
    path.write_bytes(png_bytes())
    with path.open("rb") as file:
        sources: list[Any] = [str(path), path, png_bytes(), file]
        for source in sources:
            assert make_page().draw(source, **STYLE).getpixel((10, 50)) == BLUE
        assert not file.closed  # a caller's file object is the caller's to close


def two_frame_tiff() -> bytes:
    buffer = io.BytesIO()
    first, second = white((200, 100)), white((400, 200))
    first.save(buffer, "TIFF", save_all=True, append_images=[second])
    return buffer.getvalue()


def test_a_page_of_a_multi_page_tiff_is_drawn_on_its_frame() -> None:
    image = Image.open(io.BytesIO(two_frame_tiff()))
    drawn = make_page(2, width=400, height=200, scale=2.0).draw(image, **STYLE)
    assert drawn.size == (400, 200) and drawn.getpixel((20, 100)) == BLUE
    assert image.tell() == 0  # the caller's image is left at the frame it was on


def test_result_draw_takes_the_document_that_was_read() -> None:
    result = make_result([make_page(1), make_page(2, width=400, height=200, scale=2.0)])
    drawn = result.draw(two_frame_tiff(), **STYLE)
    assert [image.size for image in drawn] == [(200, 100), (400, 200)]
    assert drawn[0].getpixel((10, 50)) == BLUE and drawn[1].getpixel((20, 100)) == BLUE


def test_result_draw_takes_one_image_per_page_in_order() -> None:
    # As for a PDF read with pages=["2", "4"]: two renderings, one per result page.
    result = make_result([make_page(2, width=2, height=1, unit="inch", scale=0.01), make_page(4)])
    drawn = result.draw([white((400, 200)), white((200, 100))], **STYLE)
    assert drawn[0].getpixel((20, 100)) == BLUE and drawn[1].getpixel((10, 50)) == BLUE


def test_result_draw_refuses_a_mismatch() -> None:
    result = make_result([make_page(1), make_page(2)])
    with pytest.raises(ValueError, match="1 images for 2 pages"):
        result.draw([white()])
    with pytest.raises(ValueError, match="single-page image for 2 pages"):
        result.draw(white())
    with pytest.raises(ValueError, match="page 3 is not in an image of 2 frames"):
        make_page(3).draw(two_frame_tiff())


def test_pdf_is_refused_with_a_way_out(tmp_path: Path) -> None:
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    for source in (pdf, path, io.BytesIO(pdf)):
        with pytest.raises(ValueError, match="pypdfium2"):
            make_page().draw(source)


def test_unknown_source_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not int"):
        make_page().draw(42)  # type: ignore[arg-type]


def test_without_pillow_draw_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"ocr-sdk\[notebook\]"):
        make_page().draw(b"")
    with pytest.raises(ImportError, match=r"ocr-sdk\[notebook\]"):
        make_result([make_page()]).draw([b""])
    # The summaries need nothing beyond the standard library.
    assert "Hello world" in make_page()._repr_html_()


def test_pillow_is_an_extra_that_dev_includes() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert any(req.startswith("pillow") for req in extras["notebook"])
    assert "ocr-sdk[notebook]" in extras["dev"]
    assert not any(req.lower().startswith("pillow") for req in pyproject["project"]["dependencies"])
