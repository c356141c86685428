"""Engine output to wire JSON: units, rounding, angle range."""

from __future__ import annotations

from PIL import Image

from emulator.documents.formats import PageImage
from emulator.engine.base import PageText, TextLine, TextWord
from emulator.pages.records import read_result, timestamp

BOX = (10.4, 20.6, 110.5, 20.6, 110.5, 40.2, 10.4, 40.2)


def _text(angle: float = 0.0) -> PageText:
    word = TextWord("Hello", BOX, 0.98765)
    return PageText(angle=angle, lines=(TextLine("Hello", BOX, (word,), "other", 0.87654),))


def _page(unit: str, scale: float, width: float, height: float) -> PageImage:
    return PageImage(1, Image.new("RGB", (10, 10)), unit, scale, width, height)  # type: ignore[arg-type]


def test_pixel_coordinates_are_whole_numbers() -> None:
    entry = read_result(_page("pixel", 1.0, 640, 480), _text())
    line = entry["lines"][0]
    assert line["boundingBox"] == [10, 21, 110, 21, 110, 40, 10, 40]
    assert all(type(v) is int for v in line["boundingBox"])
    assert (entry["width"], entry["height"], entry["unit"]) == (640, 480, "pixel")
    assert line["words"][0]["confidence"] == 0.988
    assert line["appearance"]["style"] == {"name": "other", "confidence": 0.877}
    assert "language" not in entry


def test_inch_coordinates_have_four_decimals() -> None:
    entry = read_result(_page("inch", 1 / 300, 8.5, 11.0), _text(), language="en")
    assert entry["lines"][0]["boundingBox"][:2] == [0.0347, 0.0687]
    assert (entry["width"], entry["height"], entry["unit"]) == (8.5, 11.0, "inch")
    assert entry["language"] == "en"


def test_angle_is_in_range() -> None:
    page = _page("pixel", 1.0, 10, 10)
    assert read_result(page, _text(180.0))["angle"] == -180.0
    assert read_result(page, _text(270.0))["angle"] == -90.0
    assert read_result(page, _text(-0.00001))["angle"] == 0.0
    assert read_result(page, _text(1.23456))["angle"] == 1.2346


def test_timestamp_format() -> None:
    from datetime import datetime, timedelta, timezone

    moment = datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp(moment) == "2026-03-04T03:06:07Z"
