"""Wire models of the Read API v3.2, as lenient as the service's own (msrest) clients.

Attributes are snake_case; the service's camelCase JSON names are aliases, and either may
be used to build a model. Like msrest:

* unknown fields are kept (``model_extra``) and written back out;
* enum values (``status``, ``unit``, ``appearance.style.name``) match case-insensitively,
  and a value the SDK does not know is kept as a plain ``str`` instead of failing;
* every field is optional, because the service is not consistent about required ones;
* numbers keep the JSON type they arrived with (``600`` stays an ``int``), so
  ``model_dump(by_alias=True, exclude_unset=True)`` reproduces the wire JSON exactly.

``ReadResult`` is not a wire type: it is what ``read()`` returns, the pages of a
succeeded operation plus ``.text``.

``Page`` and ``ReadResult`` also show themselves in notebooks (``_repr_html_``, ``draw``):
those methods import :mod:`ocr_sdk.output.notebook` when called, so this module imports
nothing from ``ocr_sdk.output`` (the writers build on the models, not the other way round).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainValidator
from pydantic.alias_generators import to_camel

from ._enums import OperationStatus, TextStyleName, TextUnit

if TYPE_CHECKING:
    import os
    from typing import IO

    from PIL import Image

    ImageSource: TypeAlias = Image.Image | str | os.PathLike[str] | bytes | IO[bytes]
    """A Pillow image, a path, the bytes of an image file, or a binary file object."""

__all__ = [
    "OperationStatus",
    "TextUnit",
    "TextStyleName",
    "Style",
    "Appearance",
    "Word",
    "Line",
    "Page",
    "AnalyzeResult",
    "ReadOperationResult",
    "ReadResult",
    "ImagePoint",
    "ImageWord",
    "ImageLine",
    "ImageBlock",
    "ImageReadResult",
    "ImageMetadata",
    "ImageAnalysisResult",
]

_E = TypeVar("_E", bound=StrEnum)

# int | float rather than float: pydantic would turn 600 into 600.0 and break the round trip.
Number: TypeAlias = int | float

# The outline colours ``Page.draw`` and ``ReadResult.draw`` use unless told otherwise.
DEFAULT_LINE_COLOR = "#1f6fd1"
DEFAULT_WORD_COLOR = "#e8590c"


def _lenient_enum(enum: type[_E]) -> PlainValidator:
    """Validator that matches ``enum`` case-insensitively and keeps unknown strings as ``str``."""
    by_folded = {member.value.casefold(): member for member in enum}

    def validate(value: object) -> _E | str:
        if isinstance(value, enum):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected a string for {enum.__name__}, got {type(value).__name__}")
        # A newer service may add values; keeping them beats rejecting a whole result.
        return by_folded.get(value.casefold(), value)

    return PlainValidator(validate, json_schema_input_type=str)


StatusValue: TypeAlias = Annotated[OperationStatus | str, _lenient_enum(OperationStatus)]
UnitValue: TypeAlias = Annotated[TextUnit | str, _lenient_enum(TextUnit)]
StyleNameValue: TypeAlias = Annotated[TextStyleName | str, _lenient_enum(TextStyleName)]


class _WireModel(BaseModel):
    # defer_build: validators are built on first use, not at import (``import ocr_sdk`` stays
    # fast for programs that import it without reading anything yet).
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        defer_build=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON object as the service sends it: camelCase names, only fields that were set."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class Style(_WireModel):
    """Appearance style of a line (``appearance.style``)."""

    name: StyleNameValue | None = None
    """``other`` or ``handwriting`` (unknown values kept as ``str``)."""
    confidence: Number | None = None
    """Confidence of the style classification, 0 to 1."""


class Appearance(_WireModel):
    """Appearance of a line (``appearance``)."""

    style: Style | None = None
    """The line's style and its confidence."""


class Word(_WireModel):
    """A recognised word."""

    bounding_box: list[Number] | None = None
    """Eight numbers: four (x, y) corners clockwise from the top left, in the page's unit."""
    text: str | None = None
    """The word's text."""
    confidence: Number | None = None
    """Recognition confidence, 0 to 1."""


class Line(_WireModel):
    """A recognised line of text and its words."""

    language: str | None = None
    """BCP-47 language of the line, sent only when it differs from the page's."""
    bounding_box: list[Number] | None = None
    """Eight numbers: four (x, y) corners clockwise from the top left, in the page's unit."""
    appearance: Appearance | None = None
    """Style (handwriting or other) of the line."""
    text: str | None = None
    """The line's text."""
    words: list[Word] = Field(default_factory=list)
    """The words of the line, in reading order."""


class Page(_WireModel):
    """One page of the result (the service's ``ReadResult`` schema)."""

    page: int | None = None
    """1-based page number in the input document."""
    language: str | None = None
    """BCP-47 language detected on the page (or requested)."""
    angle: Number | None = None
    """Text orientation in degrees clockwise, in [-180, 180)."""
    width: Number | None = None
    """Page width in ``unit``."""
    height: Number | None = None
    """Page height in ``unit``."""
    unit: UnitValue | None = None
    """``pixel`` for images, ``inch`` for PDF."""
    lines: list[Line] = Field(default_factory=list)
    """Lines of text, in the reading order the service chose."""

    @property
    def text(self) -> str:
        """The page's lines, one per line of text."""
        return "\n".join(line.text or "" for line in self.lines)

    def draw(
        self,
        image: ImageSource,
        *,
        lines: bool = True,
        words: bool = True,
        line_color: str = DEFAULT_LINE_COLOR,
        word_color: str = DEFAULT_WORD_COLOR,
        width: int | None = None,
    ) -> Image.Image:
        """Draw this page's line and word polygons over its image; return a new RGB image.

        ``image`` is the page as a Pillow image, a path, the bytes of an image file or a binary
        file object. A multi-page image (TIFF) is read at this page's frame (``page - 1``);
        the image passed in is not modified. Coordinates are scaled from the page's
        ``width``/``height`` to the image's size, so an ``inch`` page (PDF) is drawn over any
        rendering of it, and a smaller preview of a ``pixel`` page works too. PDF files
        themselves are refused (``ValueError``): render the page first, e.g. with
        ``pypdfium2``.

        Lines are outlined in ``line_color`` and words in ``word_color``; ``lines=False`` or
        ``words=False`` leaves one out. ``width`` is the word outline in pixels (lines get
        twice that); by default it grows with the image.

        Needs Pillow: ``pip install 'ocr-sdk[notebook]'``. Without it, raises ``ImportError``.
        """
        from .output import notebook

        return notebook.draw_page(
            self,
            image,
            lines=lines,
            words=words,
            line_color=line_color,
            word_color=word_color,
            width=width,
        )

    def _repr_html_(self) -> str:
        """Jupyter's rich display: size, unit, angle, counts, mean confidence, then the text."""
        from .output import notebook

        return notebook.page_html(self)


class AnalyzeResult(_WireModel):
    """The ``analyzeResult`` of a succeeded operation."""

    version: str | None = None
    """API version of the result, e.g. ``v3.2``."""
    model_version: str | None = None
    """OCR model version, e.g. ``2022-04-30``."""
    read_results: list[Page] = Field(default_factory=list)
    """One entry per page, in page order."""

    @property
    def pages(self) -> list[Page]:
        """Alias of ``read_results`` under a clearer name."""
        return self.read_results

    @property
    def text(self) -> str:
        """All lines of all pages in order, one per line of text."""
        return _join_pages(self.read_results)


class ReadOperationResult(_WireModel):
    """What ``GET /read/analyzeResults/{operationId}`` returns.

    The date fields are kept as the service's strings (as msrest does), so a round trip is
    exact; ``created_at`` and ``last_updated_at`` parse them.
    """

    status: StatusValue | None = None
    """``notStarted``, ``running``, ``failed`` or ``succeeded`` (unknown values kept as str)."""
    created_date_time: str | None = None
    """When the operation was submitted, ISO 8601."""
    last_updated_date_time: str | None = None
    """When the status last changed, ISO 8601."""
    analyze_result: AnalyzeResult | None = None
    """The result, present once ``status`` is ``succeeded``."""

    @property
    def created_at(self) -> datetime | None:
        """``created_date_time`` parsed, or ``None`` when absent or unparseable."""
        return _parse_datetime(self.created_date_time)

    @property
    def last_updated_at(self) -> datetime | None:
        """``last_updated_date_time`` parsed, or ``None`` when absent or unparseable."""
        return _parse_datetime(self.last_updated_date_time)


class ReadResult(BaseModel):
    """The outcome of a succeeded Read operation, as returned by ``read()`` and ``result()``.

    ``pages`` holds the typed pages; ``text`` joins every line of every page.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    operation_id: str
    """The id of the operation that produced this result."""
    pages: list[Page]
    """The pages, in page order."""
    model_version: str | None = None
    """OCR model version the service used."""
    created_date_time: str | None = None
    """When the operation was submitted, ISO 8601."""
    last_updated_date_time: str | None = None
    """When the operation finished, ISO 8601."""
    operation: ReadOperationResult
    """The full wire result, for anything not surfaced above."""

    @property
    def text(self) -> str:
        """All lines of all pages in order, one line of text per line."""
        return _join_pages(self.pages)

    def draw(
        self,
        images: ImageSource | Sequence[ImageSource],
        *,
        lines: bool = True,
        words: bool = True,
        line_color: str = DEFAULT_LINE_COLOR,
        word_color: str = DEFAULT_WORD_COLOR,
        width: int | None = None,
    ) -> list[Image.Image]:
        """Draw every page's line and word polygons over its image; one new image per page.

        ``images`` is either the document that was read, when Pillow can open all of its
        pages (an image, or a multi-page TIFF: page ``n`` is frame ``n - 1``), or a list with
        one image per entry of ``pages``, in that order (for PDF, render the pages first).
        Each entry may be a Pillow image, a path, bytes or a binary file object. The keyword
        options are those of :meth:`Page.draw`.

        Needs Pillow: ``pip install 'ocr-sdk[notebook]'``. Without it, raises ``ImportError``.
        """
        from .output import notebook

        return notebook.draw_result(
            self,
            images,
            lines=lines,
            words=words,
            line_color=line_color,
            word_color=word_color,
            width=width,
        )

    def _repr_html_(self) -> str:
        """Jupyter's rich display: a summary (pages, lines, words, mean confidence) and text."""
        from .output import notebook

        return notebook.result_html(self)

    @classmethod
    def from_operation(cls, operation_id: str, operation: ReadOperationResult) -> ReadResult:
        """Build from a succeeded :class:`ReadOperationResult`."""
        analyze = operation.analyze_result
        return cls(
            operation_id=operation_id,
            pages=list(analyze.read_results) if analyze else [],
            model_version=analyze.model_version if analyze else None,
            created_date_time=operation.created_date_time,
            last_updated_date_time=operation.last_updated_date_time,
            operation=operation,
        )


def _join_pages(pages: list[Page]) -> str:
    return "\n".join(line.text or "" for page in pages for line in page.lines)


def _parse_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


# --- Image Analysis 4.0, features=read ----------------------------------------------------------


class ImagePoint(_WireModel):
    """A corner of a polygon, in whole pixels."""

    x: int | None = None
    y: int | None = None


class ImageWord(_WireModel):
    """A word Image Analysis read."""

    text: str | None = None
    bounding_polygon: list[ImagePoint] = Field(default_factory=list)
    """Four corners clockwise from the top left, in pixels."""
    confidence: Number | None = None
    """Recognition confidence, 0 to 1."""


class ImageLine(_WireModel):
    """A line of text and its words (Image Analysis lines carry no confidence)."""

    text: str | None = None
    bounding_polygon: list[ImagePoint] = Field(default_factory=list)
    words: list[ImageWord] = Field(default_factory=list)


class ImageBlock(_WireModel):
    """A block of lines (the service sends one)."""

    lines: list[ImageLine] = Field(default_factory=list)


class ImageReadResult(_WireModel):
    """The ``readResult`` of an analysis: its text as blocks of lines; none without text."""

    blocks: list[ImageBlock] = Field(default_factory=list)


class ImageMetadata(_WireModel):
    """The analysed image's size in pixels."""

    width: int | None = None
    height: int | None = None


class ImageAnalysisResult(_WireModel):
    """What ``analyze_image`` returns: Image Analysis 4.0's ``ImageAnalysisResult`` with the
    ``read`` feature, plus ``.lines`` and ``.text``."""

    model_version: str | None = None
    metadata: ImageMetadata | None = None
    read_result: ImageReadResult | None = None

    @property
    def lines(self) -> list[ImageLine]:
        """Every line of every block, in reading order."""
        blocks = self.read_result.blocks if self.read_result is not None else []
        return [line for block in blocks for line in block.lines]

    @property
    def text(self) -> str:
        """The lines' text, one per line."""
        return "\n".join(line.text or "" for line in self.lines)
