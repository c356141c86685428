"""Images the emulator's tests draw for themselves: printed text pages, columns, tables.

Text is drawn with DejaVu Sans when the system has it (Debian's fonts-dejavu-core), else with
Pillow's scalable built-in font, so the tests need no fixture files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A scalable sans-serif font of ``size`` px."""
    for path in _FONT_CANDIDATES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def text_page(
    lines: Sequence[str],
    *,
    size: tuple[int, int] = (1000, 700),
    origin: tuple[int, int] = (60, 60),
    font_size: int = 30,
    leading: float = 1.7,
) -> Image.Image:
    """Black text lines on a white RGB page, one under the other."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    f = font(font_size)
    x, y = origin
    for line in lines:
        draw.text((x, y), line, fill="black", font=f)
        y += round(font_size * leading)
    return img


def columns_page(
    columns: Sequence[Sequence[str]],
    *,
    size: tuple[int, int] = (1300, 700),
    column_x: Sequence[int] = (60, 700),
    font_size: int = 28,
) -> Image.Image:
    """Text set in columns whose lines share a baseline grid (the hard case for order)."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    f = font(font_size)
    for x, column in zip(column_x, columns, strict=False):
        y = 60
        for line in column:
            draw.text((x, y), line, fill="black", font=f)
            y += round(font_size * 1.7)
    return img


def table_page(
    rows: Sequence[Sequence[str]],
    *,
    cell_x: Sequence[int] = (60, 420, 720),
    size: tuple[int, int] = (1000, 500),
    font_size: int = 28,
) -> Image.Image:
    """A borderless table: each row's cells on one baseline, cells in fixed columns."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    f = font(font_size)
    y = 60
    for row in rows:
        for x, cell in zip(cell_x, row, strict=False):
            draw.text((x, y), cell, fill="black", font=f)
        y += round(font_size * 1.8)
    return img


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    """``img`` saved as ``fmt`` (a Pillow format name) into bytes."""
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def encode_pages(pages: Sequence[Image.Image], fmt: str, **params: object) -> bytes:
    """A multi-page TIFF or PDF from ``pages``."""
    buf = io.BytesIO()
    pages[0].save(buf, format=fmt, save_all=True, append_images=list(pages[1:]), **params)
    return buf.getvalue()


def wrap(text: str, width: int, font_size: int) -> list[str]:
    """``text`` broken greedily at spaces into lines at most ``width`` px wide."""
    f = font(font_size)
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and f.getlength(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


class Sheet:
    """A white page to set text on by coordinates: the layouts of real documents (articles,
    forms, tables) are built from blocks, centred and right-aligned lines, rules and boxes."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.image = Image.new("RGB", size, "white")
        self.draw = ImageDraw.Draw(self.image)

    def text(self, xy: tuple[int, int], text: str, font_size: int, align: str = "left") -> None:
        """One line with its top at ``xy[1]``; ``xy[0]`` is its left edge, centre or right
        edge for ``align`` "left", "centre" or "right"."""
        f = font(font_size)
        x, y = xy
        if align != "left":
            x -= round(f.getlength(text) / (2 if align == "centre" else 1))
        self.draw.text((x, y), text, fill="black", font=f)

    def block(
        self,
        xy: tuple[int, int],
        lines: Sequence[str],
        font_size: int,
        *,
        leading: float = 1.45,
        align: str = "left",
    ) -> int:
        """``lines`` one under the other from ``xy``; returns the y below the last one."""
        x, y = xy
        for line in lines:
            self.text((x, y), line, font_size, align)
            y += round(font_size * leading)
        return y

    def rule(self, start: tuple[int, int], end: tuple[int, int], width: int = 2) -> None:
        self.draw.line([start, end], fill="black", width=width)

    def box(
        self, bounds: tuple[int, int, int, int], *, fill: str | None = None, width: int = 2
    ) -> None:
        """A rectangle ``(left, top, right, bottom)``, outlined and optionally shaded."""
        self.draw.rectangle(bounds, fill=fill, outline="black", width=width)

    def vertical(self, xy: tuple[int, int], text: str, font_size: int) -> None:
        """``text`` turned 90 degrees counter-clockwise (read bottom to top, like a journal's
        margin stamp), its strip's top-left corner at ``xy``."""
        f = font(font_size)
        strip = Image.new("RGB", (round(f.getlength(text)) + 20, round(font_size * 1.6)), "white")
        ImageDraw.Draw(strip).text((10, round(font_size * 0.25)), text, fill="black", font=f)
        self.image.paste(strip.rotate(90, expand=True), xy)
