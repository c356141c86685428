"""Separators found on drawn pages: rules, a tinted box's edges, upright and turned scans."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from emulator.engine.separators import Separator, find_separators


def _page() -> Image.Image:
    """A 1600x1200 page: a thin rule across at y=200, a light-blue box from y=500 to 900, and
    a few words of text that must not count as separators."""
    img = Image.new("RGB", (1600, 1200), "white")
    draw = ImageDraw.Draw(img)
    draw.line([(100, 200), (1500, 200)], fill="black", width=2)
    draw.rectangle([(100, 500), (1500, 900)], fill=(205, 225, 245))
    for k in range(6):
        draw.text((120, 260 + 30 * k), "Words of body text, not a rule " * 3, fill="black")
    return img


def _bgr(img: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])


def _horizontal_at(seps: list[Separator], y: float, x0: float, x1: float) -> bool:
    """A separator running from about ``x0`` to ``x1`` at height about ``y``."""
    return any(
        abs((s.y0 + s.y1) / 2 - y) < 12
        and abs(s.y1 - s.y0) < 12
        and min(s.x0, s.x1) < x0 + 40
        and max(s.x0, s.x1) > x1 - 40
        for s in seps
    )


def test_a_rule_and_a_tinted_boxs_edges_are_found_and_text_is_not() -> None:
    seps = find_separators(_bgr(_page()))
    assert _horizontal_at(seps, 200, 100, 1500)
    assert _horizontal_at(seps, 500, 100, 1500)
    assert _horizontal_at(seps, 900, 100, 1500)
    # Nothing long runs through the lines of text between y=260 and y=440.
    assert not any(270 < (s.y0 + s.y1) / 2 < 430 and abs(s.y1 - s.y0) < 12 for s in seps)


def test_a_scan_turned_by_a_few_degrees_still_shows_its_rules() -> None:
    """A thin rule at 2.5 degrees climbs out of any straight run the search looks for; turned
    upright by the page's angle first, it is found, in the turned page's own pixels."""
    turned = _page().rotate(-2.5, expand=False, fillcolor="white")  # clockwise
    seps = find_separators(_bgr(turned), 2.5)
    centre = np.array([800.0, 600.0])
    rad = math.radians(2.5)
    rot = np.array([[math.cos(rad), -math.sin(rad)], [math.sin(rad), math.cos(rad)]])

    def where(x: float, y: float) -> np.ndarray:
        return rot @ (np.array([x, y]) - centre) + centre

    for y in (200, 500, 900):
        a, b = where(100, y), where(1500, y)
        assert any(
            np.hypot(*(np.array([s.x0, s.y0]) - a)) < 40
            and np.hypot(*(np.array([s.x1, s.y1]) - b)) < 40
            for s in seps
        ), (y, a, b)
    # Searched as if upright, the thin rule is lost.
    upright = find_separators(_bgr(turned))
    a, b = where(100, 200), where(1500, 200)
    assert not any(
        np.hypot(*(np.array([s.x0, s.y0]) - a)) < 40
        and np.hypot(*(np.array([s.x1, s.y1]) - b)) < 40
        for s in upright
    )
