"""The recogniser cascade (a cheap model for every line, the strong one where its gate doubts
it) and the cutting of detected lines at wide blank gaps, on drawn pages and crops."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _img import font, text_page
from PIL import Image, ImageDraw

from emulator.engine import cascade, gaps
from emulator.engine.rapid import RapidOcrEngine
from emulator.engine.recognition import RecLine

LINES = [
    "Invoice No. 4471 dated 12 March 2024",
    "Total due: $1,234.56 (incl. 19% VAT)",
    "Ship to: 27 Baker Street, London NW1 6XE",
]


def _crop(words: list[tuple[str, int]], height: int = 40, invert: bool = False) -> np.ndarray:
    """A line crop (BGR) with each word drawn at its x offset."""
    width = max(x for _, x in words) + 400
    img = Image.new("RGB", (width, height), "black" if invert else "white")
    draw = ImageDraw.Draw(img)
    for text, x in words:
        draw.text((x, 6), text, fill="white" if invert else "black", font=font(26))
    return np.asarray(img)[:, :, ::-1].copy()


# -- gaps ------------------------------------------------------------------------------------


def test_a_line_is_not_cut_at_its_word_spaces() -> None:
    crop = _crop([("The quick brown fox jumps over the lazy dog", 10)])
    assert gaps.pieces(crop) == [(0, crop.shape[1])]


def test_a_line_bridging_a_gutter_is_cut_into_its_two_pieces() -> None:
    crop = _crop([("Left column text", 10), ("Side note here", 330)])
    found = gaps.pieces(crop)
    assert len(found) == 2
    (a0, a1), (b0, b1) = found
    assert a0 == 0 and b1 == crop.shape[1]
    # The cut lies in the blank between the pieces, each keeping a margin of it.
    left_ink_end = 10 + 200  # "Left column text" at 26 px is under 200 px wide
    assert left_ink_end <= a1 < b0 <= 330


def test_light_text_on_a_dark_ground_is_cut_too() -> None:
    crop = _crop([("Left column text", 10), ("Side note here", 330)], invert=True)
    assert len(gaps.pieces(crop)) == 2


def test_a_short_crop_or_a_blank_one_stays_whole() -> None:
    short = _crop([("ab", 5)])[:, :100]
    assert gaps.pieces(short) == [(0, 100)]
    blank = np.full((40, 600, 3), 255, dtype=np.uint8)
    assert gaps.pieces(blank) == [(0, 600)]


# -- the gate ---------------------------------------------------------------------------------


def test_the_shipped_gate_matches_the_features_and_the_shipped_cheap_model() -> None:
    data = json.loads(cascade.GATE_FILE.read_text(encoding="utf-8"))
    assert tuple(data["features"]) == cascade.FEATURES
    import hashlib

    assert (
        data["cheap_model_sha256"] == hashlib.sha256(cascade.CHEAP_MODEL.read_bytes()).hexdigest()
    )
    gate = cascade.Gate.load()
    assert 0.0 < gate.threshold < 1.0
    assert gate.height >= 33  # the network's final pooling needs 33 px


def test_the_gate_sends_an_unsure_or_empty_reading_on_and_keeps_a_sure_one() -> None:
    gate = cascade.Gate.load()
    sure = cascade.line_features("Total due: $12.00", [0.999] * 17, 40, 400)
    unsure = cascade.line_features("Tota1 duc: $l2.00", [0.99, 0.4, 0.6] * 5 + [0.5, 0.5], 40, 400)
    empty = cascade.line_features("", [], 40, 400)
    p_sure, p_unsure = gate.p_wrong([sure, unsure])
    assert p_sure < gate.threshold < p_unsure
    assert gate.unsure([sure, unsure, empty]) == [1, 2]
    assert gate.unsure([sure, unsure], threshold=1.0) == []


# -- the engine --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine(intra_op_threads=1, cascade=True, split_gaps=True)


def test_the_cascade_reads_a_clean_page_exactly(engine: RapidOcrEngine) -> None:
    page = engine.recognize(text_page(LINES, size=(1100, 400)))
    assert [line.text for line in page.lines] == LINES


def test_a_sure_cheap_reading_never_reaches_the_strong_model(
    engine: RapidOcrEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    strong: list[int] = []
    original = engine._read_strong

    def spy(crops: list[np.ndarray]) -> list[RecLine]:
        strong.append(len(crops))
        return original(crops)

    monkeypatch.setattr(engine, "_read_strong", spy)
    monkeypatch.setattr(engine, "_gate_threshold", 1.0)  # nothing is doubted
    page = engine.recognize(text_page(LINES, size=(1100, 400)))
    assert [line.text for line in page.lines] == LINES
    assert sum(strong) == 0
    monkeypatch.setattr(engine, "_gate_threshold", 0.0)  # everything is doubted
    page = engine.recognize(text_page(LINES, size=(1100, 400)))
    assert [line.text for line in page.lines] == LINES
    assert sum(strong) >= len(LINES)


def test_the_cheap_model_leaves_cjk_to_the_strong_one(engine: RapidOcrEngine) -> None:
    chars = engine._cheap.decoder.character if engine._cheap else []
    assert "A" in chars and "é" in chars and "€" in chars
    assert not any("\u4e00" <= c <= "\u9fff" for c in chars)


@pytest.mark.parametrize("gap", [40, 60])
def test_a_line_bridging_a_gutter_comes_out_as_two_lines(engine: RapidOcrEngine, gap: int) -> None:
    # 40 px (1.3 em): the detector joins the two into one box, which is cut at the gap;
    # 60 px: two boxes, the first reaching into the second's first letter.
    img = Image.new("RGB", (1200, 200), "white")
    draw = ImageDraw.Draw(img)
    first = "Quarterly revenue rose"
    draw.text((40, 60), first, fill="black", font=font(30))
    draw.text(
        (40 + draw.textlength(first, font=font(30)) + gap, 60),
        "Figure 3: sales by region",
        fill="black",
        font=font(30),
    )
    page = engine.recognize(img, reading_order="natural")
    assert [line.text for line in page.lines] == [first, "Figure 3: sales by region"]


def test_a_page_in_a_language_the_cheap_model_cannot_read_goes_to_the_strong_one(
    engine: RapidOcrEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cascade.needs_strong("zh-Hans") and cascade.needs_strong("ja")
    assert not cascade.needs_strong("de") and not cascade.needs_strong(None)
    cheap: list[int] = []
    original = engine._read_at

    def spy(crops: list[np.ndarray], height: int, model: object = None) -> list[RecLine]:
        if model is not None and model is engine._cheap:
            cheap.append(len(crops))
        return original(crops, height, model)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "_read_at", spy)
    page = engine.recognize(text_page(LINES, size=(1100, 400)), language="zh-Hans")
    assert [line.text for line in page.lines] == LINES
    assert cheap == []
    engine.recognize(text_page(LINES, size=(1100, 400)))
    assert sum(cheap) >= len(LINES)
