"""The real RapidOCR engine on pages the tests draw: clean print, columns, a table, a rotated
and a skewed page. Each recognition costs about a second, so the set is kept small."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest
from _img import columns_page, encode_pages, table_page, text_page
from PIL import Image

from emulator.documents.formats import Limits, inspect, iter_pages
from emulator.engine.base import PageText, Polygon, TextLine
from emulator.engine.orientation import order_quad
from emulator.engine.rapid import RapidOcrEngine
from emulator.engine.sessions import wheel_model_paths
from emulator.engine.words import split_words

CLEAN = [
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs.",
    "Invoice 4711 dated 2024-03-15, total 99.50 EUR",
]


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine(intra_op_threads=2)


def _texts(page: PageText) -> list[str]:
    return [line.text for line in page.lines]


def _points(poly: Polygon) -> np.ndarray:
    return np.asarray(poly, dtype=float).reshape(4, 2)


def _inside(point: np.ndarray, poly: np.ndarray, tol: float = 1.5) -> bool:
    """``point`` inside the convex quad ``poly`` (clockwise on screen), within ``tol`` px."""
    for k in range(4):
        a, b = poly[k], poly[(k + 1) % 4]
        edge, rel = b - a, point - a
        cross = edge[0] * rel[1] - edge[1] * rel[0]
        if cross < -tol * np.hypot(*edge):
            return False
    return True


def _check_words(line: TextLine) -> None:
    assert " ".join(w.text for w in line.words) == line.text
    line_poly = _points(line.polygon)
    starts = []
    for word in line.words:
        assert 0.0 <= word.confidence <= 1.0
        for point in _points(word.polygon):
            assert _inside(point, line_poly), (word.text, word.polygon, line.polygon)
        starts.append(_points(word.polygon)[0])
    along = line_poly[1] - line_poly[0]
    projections = [float(np.dot(s, along)) for s in starts]
    assert projections == sorted(projections)  # words in reading order along the line


def test_models_come_from_the_wheel() -> None:
    paths = wheel_model_paths()
    assert all(p.is_file() and "site-packages" in str(p) for p in paths.values())


def test_clean_page_exact_text_words_and_boxes(
    engine: RapidOcrEngine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        page = engine.recognize(text_page(CLEAN))
    assert _texts(page) == CLEAN
    assert page.angle == pytest.approx(0.0, abs=1.0)
    for line in page.lines:
        _check_words(line)
        assert line.style == "other"
        x = _points(line.polygon)
        assert x[0][0] < x[1][0] and x[0][1] < x[3][1]  # starts top-left, clockwise
    assert [w.text for w in page.lines[0].words][:3] == ["The", "quick", "brown"]
    assert not any("quick" in record.getMessage() for record in caplog.records)


def test_two_columns_natural_reads_column_by_column(engine: RapidOcrEngine) -> None:
    left = ["Left column starts here and", "continues on a second line", "and ends on the third."]
    right = ["Right column comes after", "the left one is complete", "when read naturally."]
    img = columns_page([left, right])
    natural = engine.recognize(img, reading_order="natural")
    assert _texts(natural) == left + right
    basic = engine.recognize(img, reading_order="basic")
    assert _texts(basic)[:2] == [left[0], right[0]]


def test_each_stage_of_the_last_page_says_how_long_it_took(engine: RapidOcrEngine) -> None:
    # A page read in natural order passes every stage that always runs; each stage's seconds
    # are its own, and together they are the page's time within the engine.
    img = columns_page([["A first column of text", "with a second line"], ["And another one"]])
    started = time.perf_counter()
    engine.recognize(img, reading_order="natural")
    elapsed = time.perf_counter() - started
    seconds = engine.last_seconds
    assert seconds is not None
    for stage in ("detection", "orientation", "recognition", "words", "drawings", "order"):
        assert getattr(seconds, stage) > 0, stage
    assert 0 < seconds.total <= elapsed


def test_table_reads_row_by_row_in_both_orders(engine: RapidOcrEngine) -> None:
    rows = [["Item", "Qty", "Price"], ["Apples", "3", "1.20"], ["Pears", "12", "4.80"]]
    img = table_page(rows)
    for order in ("basic", "natural"):
        page = engine.recognize(img, reading_order=order)  # type: ignore[arg-type]
        assert _texts(page) == [cell for row in rows for cell in row], order


def test_page_rotated_90_degrees_clockwise(engine: RapidOcrEngine) -> None:
    upright = text_page(CLEAN)
    rotated = upright.rotate(-90, expand=True)  # Pillow turns counter-clockwise; -90 is CW
    page = engine.recognize(rotated)
    assert page.angle == pytest.approx(90.0, abs=2.0)
    assert _texts(page) == CLEAN
    width, height = rotated.size
    first = _points(page.lines[0].polygon)
    # The first line is now a vertical strip near the right edge, read top to bottom; its
    # text's top-left corner is the strip's top-right in the image.
    assert first[:, 0].min() > width * 0.75
    assert first[0][0] > first[3][0] and first[0][1] < first[1][1]
    for line in page.lines:
        pts = _points(line.polygon)
        assert (
            (pts >= -1).all() and (pts[:, 0] <= width + 1).all() and (pts[:, 1] <= height + 1).all()
        )
        _check_words(line)


def test_upside_down_page(engine: RapidOcrEngine) -> None:
    page = engine.recognize(text_page(CLEAN).rotate(180))
    assert page.angle == pytest.approx(-180.0, abs=2.0)
    assert _texts(page) == CLEAN


def test_skewed_page_keeps_words_and_order(engine: RapidOcrEngine) -> None:
    img = text_page(CLEAN, size=(1100, 800), origin=(90, 160))
    skewed = img.rotate(-7, expand=False, fillcolor="white", resample=Image.Resampling.BICUBIC)
    page = engine.recognize(skewed, reading_order="natural")
    assert page.angle == pytest.approx(7.0, abs=1.5)
    assert _texts(page) == CLEAN


def test_pdf_page_end_to_end(engine: RapidOcrEngine) -> None:
    data = encode_pages([text_page(CLEAN[:2], size=(1000, 300))], "PDF", resolution=100.0)
    (pdf_page,) = iter_pages(data, inspect(data, Limits()), [1])
    page = engine.recognize(pdf_page.image)
    assert _texts(page) == CLEAN[:2]


# -- pure helpers -----------------------------------------------------------------------------


def test_order_quad_starts_at_the_texts_top_left() -> None:
    quad = np.array([[10.0, 0.0], [10.0, 100.0], [0.0, 100.0], [0.0, 0.0]])
    # Text read downwards (90 degrees clockwise): its top-left is the box's top-right.
    ordered = order_quad(quad, 90.0)
    assert ordered[0].tolist() == [10.0, 0.0]
    assert ordered[2].tolist() == [0.0, 100.0]


def test_split_words_cuts_at_spaces_with_char_probabilities() -> None:
    from emulator.engine.recognition import RecChar, RecLine

    chars = [
        RecChar(c, col, p)
        for c, col, p in [("a", 2, 0.9), ("b", 5, 0.7), (" ", 5, 0.99), ("\uff43", 12, 0.5)]
    ]
    words = split_words(RecLine("ab \uff43", 0.8, tuple(chars), column_px=4.0), crop_width=80.0)
    assert [w[0] for w in words] == ["ab", "c"]  # NFKC turns the full-width letter to ASCII
    assert words[0][3] == pytest.approx(0.8)
    assert words[1][3] == pytest.approx(0.5)
    assert 0.0 <= words[0][1] < words[0][2] <= words[1][1] < words[1][2] <= 80.0


def test_blank_page_has_no_lines(engine: RapidOcrEngine) -> None:
    page = engine.recognize(Image.new("RGB", (400, 300), "white"))
    assert page == PageText(angle=0.0, lines=())


def test_a_vertical_label_beside_horizontal_text_is_read_on_its_own(
    engine: RapidOcrEngine,
) -> None:
    img = text_page(CLEAN, size=(1000, 700), origin=(120, 80))
    label = text_page(["SIDEWAYS LABEL 2024"], size=(420, 60), origin=(10, 10))
    img.paste(label.rotate(90, expand=True), (20, 200))  # reads bottom to top
    page = engine.recognize(img, reading_order="natural")
    assert page.angle == pytest.approx(0.0, abs=1.0)
    texts = _texts(page)
    assert [t for t in texts if t in CLEAN] == CLEAN
    assert "SIDEWAYS LABEL 2024" in texts
    label_line = page.lines[texts.index("SIDEWAYS LABEL 2024")]
    first = _points(label_line.polygon)[0]
    assert first[1] > _points(label_line.polygon)[1][1]  # starts at the bottom, read upwards


def test_missing_bundled_model_fails_loudly_instead_of_downloading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import emulator.engine.sessions as rapid

    monkeypatch.setattr(rapid, "_DET_MODEL", "no-such-model.onnx")
    with pytest.raises(RuntimeError, match="never downloads"):
        RapidOcrEngine()


def test_page_axis_is_the_weighted_mean_of_long_lines_and_ignores_short_boxes() -> None:
    from emulator.engine.orientation import dominant_axis, line_axes

    def quad(angle: float, length: float, height: float = 20.0) -> np.ndarray:
        rad = np.radians(angle)
        along = np.array([np.cos(rad), np.sin(rad)]) * length
        down = np.array([-np.sin(rad), np.cos(rad)]) * height
        p0 = np.array([100.0, 100.0])
        return np.stack([p0, p0 + along, p0 + along + down, p0 + down])

    quads = np.stack([quad(3.0, 400), quad(3.4, 500), quad(40.0, 30)])  # the last is a blob
    axes, lengths, aspects = line_axes(quads)
    assert dominant_axis(axes, lengths, aspects) == pytest.approx(3.2, abs=0.1)
    # Text running downwards (page turned 90 degrees clockwise) has an axis near +-90.
    vertical = np.stack([quad(90.5, 400), quad(89.5, 400)])
    assert abs(dominant_axis(*line_axes(vertical))) == pytest.approx(90.0, abs=0.6)


def test_a_transcripts_lone_line_numbers_are_read(engine: RapidOcrEngine) -> None:
    """Numbered lines of a court transcript: each number stands alone three spaces before its
    line. The detector scores a lone digit under rapidocr's default box threshold, and a user
    lost line 4 of 5."""
    rows = [
        "1   THE COURT:   Good morning.",
        "2   MR. SMITH:   Thank you, Your Honor.",
        "3   - - - - - - - - - - - - - - - -",
        "4   THE WITNESS:   Yes.",
        "5   Q.   And then?",
    ]
    page = engine.recognize(
        text_page(rows, size=(1200, 420), font_size=26), reading_order="natural"
    )
    texts = _texts(page)
    numbers = [t.split()[0] for t in texts if t.split()[0].isdigit()]
    assert numbers == ["1", "2", "3", "4", "5"], texts
