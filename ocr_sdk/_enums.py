"""The Read API's enumerations, apart from the models so that they need no pydantic.

The pollers compare statuses, and ``import ocr_sdk`` exports these, without loading the wire
models (pydantic); :mod:`ocr_sdk._models` uses them and re-exports them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OperationStatus", "TextUnit", "TextStyleName"]


class OperationStatus(StrEnum):
    """Status of a Read operation (``OperationStatusCodes``)."""

    NOT_STARTED = "notStarted"
    RUNNING = "running"
    FAILED = "failed"
    SUCCEEDED = "succeeded"


class TextUnit(StrEnum):
    """Unit of a page's width, height and bounding boxes: pixels for images, inches for PDF."""

    PIXEL = "pixel"
    INCH = "inch"


class TextStyleName(StrEnum):
    """Style of a line of text."""

    OTHER = "other"
    HANDWRITING = "handwriting"
