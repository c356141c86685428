"""Showing results in notebooks: HTML summaries, and polygons drawn over the page images.

``Page`` and ``ReadResult`` delegate their ``_repr_html_`` and ``draw`` here, importing this
module only when one is called (the models own the public signatures and their defaults; this
module does the work). Pillow is an optional dependency (the ``notebook`` extra) and is
imported only inside the drawing functions, so ``import ocr_sdk`` never loads it.
"""

from __future__ import annotations

import html
import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, cast

if TYPE_CHECKING:
    from PIL import Image

    from .._models import ImageSource, Page, ReadResult

__all__ = ["draw_page", "draw_result", "page_html", "result_html"]

# A notebook cell with thousands of pages of text helps nobody; the rest stay one index away.
MAX_HTML_PAGES = 50

_INSTALL_HINT = (
    "drawing results needs Pillow, which ocr_sdk does not install by default: "
    "pip install 'ocr-sdk[notebook]' (or pip install pillow)"
)


# --- summaries ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Counts:
    lines: int
    words: int
    mean_confidence: float | None


def _counts(pages: Sequence[Page]) -> _Counts:
    confidences = [
        float(word.confidence)
        for page in pages
        for line in page.lines
        for word in line.words
        if word.confidence is not None
    ]
    return _Counts(
        lines=sum(len(page.lines) for page in pages),
        words=sum(len(line.words) for page in pages for line in page.lines),
        mean_confidence=sum(confidences) / len(confidences) if confidences else None,
    )


def _number(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _confidence(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _size(page: Page) -> str:
    return f"{_number(page.width)} x {_number(page.height)} {page.unit or ''}".rstrip()


def _escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(
        f'<tr><th style="text-align:left;padding-right:1em">{_escape(name)}</th>'
        f'<td style="text-align:left">{_escape(value)}</td></tr>'
        for name, value in rows
    )
    return f"<table>{cells}</table>"


def _text_block(text: str) -> str:
    if not text:
        return "<p><em>(no text)</em></p>"
    return f'<pre style="white-space:pre-wrap;margin:0.3em 0">{_escape(text)}</pre>'


def _page_summary(page: Page) -> str:
    counts = _counts([page])
    parts = [
        f"page {_number(page.page)}",
        _size(page),
        f"angle {_number(page.angle)}°",
        f"{counts.lines} lines",
        f"{counts.words} words",
        f"mean confidence {_confidence(counts.mean_confidence)}",
    ]
    if page.language:
        parts.append(f"language {page.language}")
    return ", ".join(parts)


def page_html(page: Page) -> str:
    """A page as HTML: its size, unit, angle and counts, then its text (all escaped)."""
    counts = _counts([page])
    rows = [
        ("page", _number(page.page)),
        ("size", _size(page)),
        ("angle", f"{_number(page.angle)}°"),
        ("lines", str(counts.lines)),
        ("words", str(counts.words)),
        ("mean word confidence", _confidence(counts.mean_confidence)),
    ]
    if page.language:
        rows.append(("language", page.language))
    return (
        '<div class="ocr-sdk-page">'
        f"<strong>Page {_escape(_number(page.page))}</strong>"
        f"{_table(rows)}{_text_block(page.text)}</div>"
    )


def result_html(result: ReadResult) -> str:
    """A result as HTML: a summary table, then each page's summary and text (all escaped).

    At most :data:`MAX_HTML_PAGES` pages are shown; a note says how many were left out.
    """
    counts = _counts(result.pages)
    rows = [
        ("operation", result.operation_id),
        ("model version", result.model_version or "?"),
        ("pages", str(len(result.pages))),
        ("lines", str(counts.lines)),
        ("words", str(counts.words)),
        ("mean word confidence", _confidence(counts.mean_confidence)),
    ]
    sections = []
    for index, page in enumerate(result.pages[:MAX_HTML_PAGES]):
        opened = " open" if index == 0 else ""
        sections.append(
            f"<details{opened}><summary>{_escape(_page_summary(page))}</summary>"
            f"{_text_block(page.text)}</details>"
        )
    hidden = len(result.pages) - MAX_HTML_PAGES
    if hidden > 0:
        sections.append(
            f"<p><em>… and {hidden} more pages; show one with "
            f"<code>result.pages[i]</code>.</em></p>"
        )
    return (
        '<div class="ocr-sdk-result">'
        f"<strong>ReadResult</strong>{_table(rows)}{''.join(sections)}</div>"
    )


# --- drawing -----------------------------------------------------------------------------


def _require_pillow() -> None:
    try:
        import PIL  # noqa: F401
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error


_PDF_HINT = (
    "Pillow cannot rasterise PDF pages: render them first and pass one image per page, e.g. "
    "[pdf[p.page - 1].render(scale=2).to_pil() for p in result.pages] with "
    "pdf = pypdfium2.PdfDocument(path)"
)


def _refuse_pdf(stream: IO[bytes]) -> None:
    """Raise a ``ValueError`` that says what to do instead when ``stream`` holds a PDF."""
    if not stream.seekable():
        return  # Pillow will fail to identify it; nothing better can be said without reading
    position = stream.tell()
    head = stream.read(1024)
    stream.seek(position)
    if head.lstrip()[:5] == b"%PDF-":
        raise ValueError(_PDF_HINT)


@contextmanager
def _opened(source: ImageSource) -> Iterator[Image.Image]:
    """The source as a Pillow image; closes what it opened itself, and only that."""
    from PIL import Image

    if isinstance(source, Image.Image):
        yield source
        return
    stream: IO[bytes]
    if isinstance(source, bytes | bytearray | memoryview):
        stream, owned = io.BytesIO(bytes(source)), True
    elif isinstance(source, str | os.PathLike):
        stream, owned = open(source, "rb"), True  # noqa: SIM115 (closed below)
    elif hasattr(source, "read"):
        stream, owned = source, False
    else:
        raise TypeError(
            "expected a Pillow image, a path, bytes or a binary file object, "
            f"not {type(source).__name__}"
        )
    try:
        _refuse_pdf(stream)
        with Image.open(stream) as image:
            yield image
    finally:
        if owned:
            stream.close()


def _frame(image: Image.Image, page_number: int | None) -> Image.Image:
    """A copy of the frame that holds page ``page_number`` (1-based) of a multi-page image.

    A single-frame image is taken to be the page itself, whatever its number.
    """
    frames = int(getattr(image, "n_frames", 1))
    if frames <= 1:
        return image.copy()
    index = (page_number or 1) - 1
    if not 0 <= index < frames:
        raise ValueError(f"page {page_number} is not in an image of {frames} frames")
    position = image.tell()
    try:
        image.seek(index)
        return image.copy()
    finally:
        image.seek(position)


def _scale(page: Page, size: tuple[int, int]) -> tuple[float, float]:
    """Factors from the page's unit (pixels or inches) to the image's pixels."""
    if page.width and page.height:
        return size[0] / float(page.width), size[1] / float(page.height)
    if page.unit == "pixel" or page.unit is None:
        return 1.0, 1.0
    raise ValueError(
        f"page {page.page} is measured in {page.unit!r} but has no width/height to scale by"
    )


def _points(box: Sequence[float] | None, sx: float, sy: float) -> list[tuple[float, float]]:
    if not box or len(box) < 6 or len(box) % 2:
        return []
    return [(float(box[i]) * sx, float(box[i + 1]) * sy) for i in range(0, len(box), 2)]


@dataclass(frozen=True, slots=True)
class _Style:
    lines: bool
    words: bool
    line_color: str
    word_color: str
    width: int | None


def _draw(page: Page, source: Image.Image, style: _Style) -> Image.Image:
    from PIL import ImageDraw

    canvas = _frame(source, page.page).convert("RGB")
    sx, sy = _scale(page, canvas.size)
    stroke = style.width or max(1, round(max(canvas.size) / 600))
    pen = ImageDraw.Draw(canvas)
    for line in page.lines:
        if style.lines and (polygon := _points(line.bounding_box, sx, sy)):
            pen.polygon(polygon, outline=style.line_color, width=stroke * 2)
        if style.words:
            for word in line.words:
                if polygon := _points(word.bounding_box, sx, sy):
                    pen.polygon(polygon, outline=style.word_color, width=stroke)
    return canvas


def draw_page(
    page: Page,
    image: ImageSource,
    *,
    lines: bool,
    words: bool,
    line_color: str,
    word_color: str,
    width: int | None,
) -> Image.Image:
    """A new RGB image: ``image`` with the page's line and word polygons drawn over it.

    See :meth:`ocr_sdk.Page.draw`.
    """
    _require_pillow()
    style = _Style(lines, words, line_color, word_color, width)
    with _opened(image) as source:
        return _draw(page, source, style)


def draw_result(
    result: ReadResult,
    images: ImageSource | Sequence[ImageSource],
    *,
    lines: bool,
    words: bool,
    line_color: str,
    word_color: str,
    width: int | None,
) -> list[Image.Image]:
    """One drawn image per page of ``result``. See :meth:`ocr_sdk.ReadResult.draw`."""
    _require_pillow()
    style = _Style(lines, words, line_color, word_color, width)
    pages = result.pages
    if isinstance(images, list | tuple):
        if len(images) != len(pages):
            raise ValueError(
                f"got {len(images)} images for {len(pages)} pages: pass one image per page, "
                "in the order of result.pages, or one multi-page image"
            )
        drawn = []
        for page, each in zip(pages, images, strict=True):
            with _opened(each) as source:
                drawn.append(_draw(page, source, style))
        return drawn
    with _opened(cast("ImageSource", images)) as document:
        if int(getattr(document, "n_frames", 1)) == 1 and len(pages) > 1:
            raise ValueError(
                f"got a single-page image for {len(pages)} pages: pass one image per page, "
                "or the multi-page document (TIFF) that was read"
            )
        return [_draw(page, document, style) for page in pages]
