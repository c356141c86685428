"""Selection marks found on drawn pages: empty, ticked, crossed and filled boxes, radio
buttons, a box turned with the page and a scanned page; and what is no mark: round letters
and digits in words, a box glyph inside a word, a table's grid, bullets and an underline."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import pytest
from _img import font
from PIL import Image, ImageDraw

from emulator.engine.base import TextLine, TextWord
from emulator.structure.marks import SelectionMark, find_selection_marks

FONT_SIZE = 28
# The height of a drawn line's polygon, as the detector gives it.
LINE_H = 40
# A box's side: about 0.7 of a line, as forms draw them.
SIDE = 28

Box = tuple[float, float, float, float]


class Page:
    """A white page with words (recorded as the engine's lines) and marks drawn on it."""

    def __init__(self, size: tuple[int, int] = (1200, 800)) -> None:
        self.img = Image.new("RGB", size, "white")
        self.draw = ImageDraw.Draw(self.img)
        self.face = font(FONT_SIZE)
        self.lines: list[TextLine] = []

    def text(self, x: float, y: float, words: Sequence[str], gap: float = 14) -> float:
        """Words from ``(x, y)`` (the line's top) as one line; returns where the line ends."""
        found = []
        for word in words:
            left, _, right, _ = self.draw.textbbox((x, y + 4), word, font=self.face)
            self.draw.text((x, y + 4), word, font=self.face, fill="black")
            found.append(TextWord(word, _quad((left, y, right, y + LINE_H)), 0.99))
            x = right + gap
        self.add_line(found)
        return x - gap

    def add_line(self, words: Sequence[TextWord]) -> None:
        x0 = min(w.polygon[0] for w in words)
        x1 = max(w.polygon[2] for w in words)
        y0 = min(w.polygon[1] for w in words)
        text = " ".join(w.text for w in words)
        self.lines.append(TextLine(text, _quad((x0, y0, x1, y0 + LINE_H)), tuple(words)))

    def box(self, x: float, y: float, inner: str = "", side: float = SIDE) -> Box:
        """A square check box at ``(x, y)``: empty, or holding a "tick", "cross" or "fill"."""
        d = self.draw
        d.rectangle([(x, y), (x + side - 1, y + side - 1)], outline="black", width=2)
        s = side / 10
        if inner == "tick":
            d.line(
                [(x + 2 * s, y + 5 * s), (x + 4 * s, y + 7.5 * s), (x + 8 * s, y + 2.5 * s)],
                fill="black",
                width=3,
            )
        elif inner == "cross":
            d.line([(x + 2.5 * s, y + 2.5 * s), (x + 7.5 * s, y + 7.5 * s)], fill="black", width=2)
            d.line([(x + 7.5 * s, y + 2.5 * s), (x + 2.5 * s, y + 7.5 * s)], fill="black", width=2)
        elif inner == "fill":
            d.rectangle([(x + 2.4 * s, y + 2.4 * s), (x + 7.6 * s, y + 7.6 * s)], fill="black")
        return (x, y, x + side, y + side)

    def radio(self, x: float, y: float, selected: bool, side: float = SIDE) -> Box:
        self.draw.ellipse([(x, y), (x + side - 1, y + side - 1)], outline="black", width=2)
        if selected:
            c = side / 2
            self.draw.ellipse([(x + c - 6, y + c - 6), (x + c + 6, y + c + 6)], fill="black")
        return (x, y, x + side, y + side)

    def bgr(self) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(self.img)[:, :, ::-1])


def _quad(box: Box) -> tuple[float, float, float, float, float, float, float, float]:
    x0, y0, x1, y1 = box
    return (x0, y0, x1, y0, x1, y1, x0, y1)


def _bounds(mark: SelectionMark) -> Box:
    xs, ys = mark.polygon[0::2], mark.polygon[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _options(page: Page, y: float, kinds: Sequence[str]) -> list[Box]:
    """A row of boxes, each followed by its label, and a question line above them."""
    page.text(60, y - 60, ["Which", "options", "apply", "to", "you?"])
    boxes = []
    x = 60.0
    for k, inner in enumerate(kinds):
        boxes.append(page.box(x, y + 6, inner))
        x = page.text(x + SIDE + 12, y, [f"Option{k}"]) + 40
    return boxes


def _assert_marks(found: list[SelectionMark], boxes: Sequence[Box], states: Sequence[bool]) -> None:
    assert len(found) == len(boxes), [_bounds(m) for m in found]
    for mark, box, state in zip(found, boxes, states, strict=True):
        assert _iou(_bounds(mark), box) >= 0.6, (_bounds(mark), box)
        assert mark.selected is state
        assert 0.5 <= mark.confidence <= 1.0


def test_empty_ticked_crossed_and_filled_boxes() -> None:
    page = Page()
    boxes = _options(page, 200, ["", "tick", "cross", "fill"])
    found = find_selection_marks(page.bgr(), page.lines)
    _assert_marks(found, boxes, [False, True, True, True])
    assert all(m.words == () for m in found)


def test_clear_marks_are_confident() -> None:
    page = Page()
    _options(page, 200, ["", "fill"])
    found = find_selection_marks(page.bgr(), page.lines)
    assert [m.selected for m in found] == [False, True]
    assert all(m.confidence >= 0.9 for m in found)


def test_radio_buttons() -> None:
    page = Page()
    page.text(60, 140, ["Pick", "one:"])
    first = page.radio(60, 206, selected=False)
    page.text(100, 200, ["Monthly"])
    second = page.radio(300, 206, selected=True)
    page.text(340, 200, ["Yearly"])
    found = find_selection_marks(page.bgr(), page.lines)
    _assert_marks(found, [first, second], [False, True])


def test_marks_come_top_to_bottom_then_left_to_right() -> None:
    page = Page()
    # The right-hand box of the first row sits a little higher than the left-hand one.
    boxes = [page.box(400, 203, "tick"), page.box(60, 206), page.box(60, 306, "fill")]
    page.text(100, 200, ["First"])
    page.text(440, 197, ["Second"])
    page.text(100, 300, ["Third"])
    found = find_selection_marks(page.bgr(), page.lines)
    _assert_marks(found, [boxes[1], boxes[0], boxes[2]], [False, True, True])


def _turned(page: Page, degrees: float) -> tuple[np.ndarray, list[TextLine], np.ndarray]:
    """The page turned clockwise by ``degrees`` (text angle ``degrees``), its lines turned
    with it, and the turn (2x3) for other points."""
    bgr = page.bgr()
    h, w = bgr.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), -degrees, 1.0)
    out = cv2.warpAffine(bgr, turn, (w, h), borderValue=(255, 255, 255), flags=cv2.INTER_LINEAR)

    def move(
        poly: Sequence[float],
    ) -> tuple[float, float, float, float, float, float, float, float]:
        p = np.asarray(poly, dtype=np.float64).reshape(-1, 2) @ turn[:, :2].T + turn[:, 2]
        v = [float(x) for x in p.reshape(-1)]
        return (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])

    lines = [
        TextLine(
            ln.text,
            move(ln.polygon),
            tuple(TextWord(wd.text, move(wd.polygon), wd.confidence) for wd in ln.words),
        )
        for ln in page.lines
    ]
    return out, lines, turn


@pytest.mark.parametrize("told", [True, False], ids=["angle-given", "angle-unknown"])
def test_box_on_a_page_turned_by_three_degrees(told: bool) -> None:
    page = Page()
    boxes = _options(page, 300, ["", "tick"])
    bgr, lines, turn = _turned(page, 3.0)
    found = find_selection_marks(bgr, lines, 3.0 if told else 0.0)
    assert [m.selected for m in found] == [False, True]
    for mark, box in zip(found, boxes, strict=True):
        x0, y0, x1, y1 = box
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2]) @ turn[:, :2].T + turn[:, 2]
        got = np.array(mark.polygon).reshape(-1, 2).mean(axis=0)
        assert np.hypot(*(got - centre)) < 3
        if told:
            # The polygon is turned with the page: its top edge climbs at 3 degrees.
            (ax, ay), (bx, by) = np.array(mark.polygon).reshape(-1, 2)[:2]
            assert math.degrees(math.atan2(by - ay, bx - ax)) == pytest.approx(3.0, abs=0.5)


def test_scanned_page_blurred_noisy_and_compressed() -> None:
    page = Page()
    boxes = _options(page, 200, ["", "tick", "cross", "fill", ""])
    bgr, lines, _ = _turned(page, 1.2)
    bgr = cv2.GaussianBlur(bgr, (0, 0), 1.0)
    noisy = bgr.astype(np.float64) * 0.8 + 30 + np.random.default_rng(7).normal(0, 8, bgr.shape)
    bgr = np.clip(noisy, 0, 255).astype(np.uint8)
    _, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 60])
    bgr = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    found = find_selection_marks(bgr, lines, 1.2)
    assert [m.selected for m in found] == [False, True, True, True, False]
    assert len(boxes) == len(found)


def test_small_page_read_without_lines() -> None:
    """No lines to measure the text by: the text height is guessed from the page's size."""
    page = Page((900, 1100))
    box = page.box(100, 100, "tick", side=18)
    found = find_selection_marks(page.bgr(), [])
    _assert_marks(found, [box], [True])


def test_blank_page_has_no_marks() -> None:
    assert find_selection_marks(np.full((600, 400, 3), 255, np.uint8), []) == []


# -- what is no mark ---------------------------------------------------------------------------


def _round_letters(page: Page) -> None:
    page.text(60, 420, ["ZOO", "BOOK", "O'Neil", "moon", "2000", "100%", "door", "QED"])


def _box_glyph_in_word(page: Page) -> None:
    # A square drawn between two letters of one word, as a font's "□" sits in "a□b".
    page.draw.text((60, 424), "ab", font=page.face, fill="black")
    a_right = page.draw.textbbox((60, 424), "a", font=page.face)[2]
    page.img.paste("white", (int(a_right), 420, 400, 470))
    page.box(a_right + 2, 428)
    page.draw.text((a_right + SIDE + 4, 424), "b", font=page.face, fill="black")
    page.add_line([TextWord("a□b", _quad((60, 420, a_right + SIDE + 22, 420 + LINE_H)), 0.9)])


def _table_grid(page: Page) -> None:
    # A ruled table whose cells are about as tall as a box, some of them square.
    xs = [60, 100, 140, 180, 300, 420]
    ys = [400, 436, 472, 508]
    for x in xs:
        page.draw.line([(x, ys[0]), (x, ys[-1])], fill="black", width=2)
    for y in ys:
        page.draw.line([(xs[0], y), (xs[-1], y)], fill="black", width=2)


def _bullets(page: Page) -> None:
    for k, y in enumerate((420, 470, 520)):
        page.draw.ellipse([(60, y + 14), (72, y + 26)], fill="black")
        page.draw.rectangle([(300, y + 10), (318, y + 28)], fill="black")
        page.text(90, y, [f"Item{k}"])
        page.text(330, y, [f"Point{k}"])


def _underline_field(page: Page) -> None:
    end = page.text(60, 420, ["Name:"])
    page.draw.line([(end + 10, 452), (end + 400, 452)], fill="black", width=2)
    page.draw.rectangle([(end + 420, 420), (end + 700, 460)], outline="black", width=2)


@pytest.mark.parametrize(
    "draw",
    [_round_letters, _box_glyph_in_word, _table_grid, _bullets, _underline_field],
    ids=["round-letters", "box-glyph-in-word", "table-grid", "bullets", "underline-field"],
)
def test_only_the_real_box_is_a_mark(draw: object) -> None:
    page = Page()
    box = page.box(60, 206, "tick")
    page.text(100, 200, ["Agree"])
    assert callable(draw)
    draw(page)
    found = find_selection_marks(page.bgr(), page.lines)
    _assert_marks(found, [box], [True])


# -- words read from a mark ------------------------------------------------------------------


def test_a_box_read_as_a_glyph_hands_back_that_word() -> None:
    page = Page()
    box = page.box(60, 206)
    page.text(100, 200, ["Agree"])
    # The engine read the box as "口", a line of its own.
    page.add_line([TextWord("口", _quad((58, 200, 90, 200 + LINE_H)), 0.6)])
    found = find_selection_marks(page.bgr(), page.lines)
    _assert_marks(found, [box], [False])
    assert found[0].words == ((1, 0),)


def test_a_box_read_with_its_label_keeps_the_label() -> None:
    page = Page()
    box = page.box(60, 206, "tick")
    end = page.text(100, 200, ["Agree"])
    # The engine read box and label as one word, "☑Agree"; the word is the label's too.
    page.lines[0] = TextLine(
        "☑Agree",
        _quad((58, 200, end, 200 + LINE_H)),
        (TextWord("☑Agree", _quad((58, 200, end, 200 + LINE_H)), 0.7),),
    )
    found = find_selection_marks(page.bgr(), page.lines)
    _assert_marks(found, [box], [True])
    assert found[0].words == ()


def test_a_letter_read_inside_a_word_is_no_mark() -> None:
    """A box-shaped glyph the engine read as a letter of a word (no space either side)."""
    page = Page()
    box = page.box(60, 206, "tick")
    page.text(100, 200, ["Agree"])
    page.draw.text((60, 304), "H", font=page.face, fill="black")
    h_right = page.draw.textbbox((60, 304), "H", font=page.face)[2]
    page.box(h_right + 2, 308)
    page.draw.text((h_right + SIDE + 4, 304), "LE", font=page.face, fill="black")
    page.add_line([TextWord("HOLE", _quad((60, 300, h_right + SIDE + 50, 300 + LINE_H)), 0.9)])
    _assert_marks(find_selection_marks(page.bgr(), page.lines), [box], [True])
