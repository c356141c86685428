"""Fixtures shared by the emulator and end-to-end tests: the contract validator, a manual
clock, and documents drawn on the fly (no fixture files)."""

from __future__ import annotations

import copy
import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from PIL import Image, ImageDraw, ImageFont

from emulator import contract

_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)


class ManualClock:
    """A clock that moves only when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> ManualClock:
    """A manual UTC clock starting at a fixed instant."""
    return ManualClock()


def strict_definitions(openapi: dict[str, Any]) -> dict[str, Any]:
    """A contract's definitions for checking our own bodies: every object closed to fields it
    does not declare (a misspelt or stray field fails), and enums opened where
    ``x-ms-enum.modelAsString`` says other values are legal."""
    definitions = copy.deepcopy(openapi["definitions"])
    for schema in definitions.values():
        stack = [schema]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if node.get("x-ms-enum", {}).get("modelAsString") is True:
                    node.pop("enum", None)
                if node.get("type") == "object" and "properties" in node:
                    # Catch misspelt or stray fields in our own bodies.
                    node["additionalProperties"] = False
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return definitions


def _strict_definitions() -> dict[str, Any]:
    """Read v3.2's definitions, strict, and tightened where the contract's prose is stricter
    than its schema."""
    definitions = strict_definitions(contract.openapi())
    # "The eight numbers represent the four points ..."
    definitions["BoundingBox"]["minItems"] = 8
    definitions["BoundingBox"]["maxItems"] = 8
    return definitions


ContractValidator = Callable[[str, Any], None]


@pytest.fixture(scope="session")
def validate() -> ContractValidator:
    """``validate("ReadOperationResult", body)`` raises if ``body`` breaks the contract."""
    definitions = _strict_definitions()

    def check(definition: str, body: Any) -> None:
        schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions}
        Draft4Validator(schema).validate(body)

    return check


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans when installed, else Pillow's scalable default font."""
    for path in _FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def text_image(lines: Sequence[str], size: tuple[int, int] = (900, 300)) -> Image.Image:
    """Black printed lines on a white page."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((40, 40 + index * 70), line, fill="black", font=font(40))
    return image


def encode(image: Image.Image, fmt: str = "PNG", **params: Any) -> bytes:
    """``image`` encoded in ``fmt``."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@pytest.fixture
def png() -> Callable[..., bytes]:
    """``png(width, height, marker=None)``: a blank PNG; ``marker`` goes into a tEXt chunk so
    the document's own bytes contain a known string (for the no-plaintext-on-disk check)."""
    from PIL.PngImagePlugin import PngInfo

    def make(width: int = 200, height: int = 100, marker: str | None = None) -> bytes:
        info = PngInfo()
        if marker is not None:
            info.add_text("Comment", marker)
        return encode(Image.new("RGB", (width, height), "white"), "PNG", pnginfo=info)

    return make


@pytest.fixture
def text_png() -> Callable[[Sequence[str]], bytes]:
    """``text_png(["line one", ...])``: a PNG of clearly printed text."""
    return lambda lines: encode(text_image(lines))


@pytest.fixture
def multipage_tiff() -> Callable[[int], bytes]:
    """``multipage_tiff(n)``: an n-page TIFF of blank pages of different sizes."""

    def make(pages: int) -> bytes:
        frames = [Image.new("RGB", (100 + 10 * i, 80), "white") for i in range(pages)]
        return encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])

    return make


@pytest.fixture
def pdf() -> Callable[[int], bytes]:
    """``pdf(n)``: an n-page US-letter PDF (8.5 x 11 in)."""

    def make(pages: int) -> bytes:
        frames = [Image.new("RGB", (850, 1100), "white") for _ in range(pages)]
        return encode(frames[0], "PDF", save_all=True, append_images=frames[1:], resolution=100.0)

    return make


__all__ = ["ContractValidator", "ManualClock", "encode", "strict_definitions", "text_image"]
