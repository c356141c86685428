"""``training/layouts``: generated pages whose truth comes from the DOM. Every kind renders a
page with text; the truth lies on the ink, in the image and on the PDF's characters; the
same seed gives the same truth; table cells sit where the HTML puts them; the reading order
is a permutation of the ordered blocks; scan and photo degradations move the truth with the
ink.

Debian's ``chromium`` and ``chromium-driver`` drive the pages (``.ci/run`` installs them and
sets ``OCR_TESTS_REQUIRE_BROWSER``, so there a missing browser fails instead of skipping).
"""

from __future__ import annotations

import dataclasses
import html.parser
import itertools
import json
import random
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests._browser import require_browser

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from training.layouts import KINDS, Browser, Page, generate, render_page  # noqa: E402
from training.layouts import degrade as degrading  # noqa: E402
from training.layouts.__main__ import main  # noqa: E402
from training.layouts.truth import ROLES, Truth  # noqa: E402

SEED = 3


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_browser()
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def pages(browser: Browser) -> dict[str, Page]:
    """One clean page of every kind."""
    return {kind: render_page(browser, kind, SEED) for kind in KINDS}


def _grey(page: Page) -> np.ndarray[Any, Any]:
    return cv2.cvtColor(page.pixels, cv2.COLOR_BGR2GRAY)


def _mask(shape: tuple[int, ...], polygons: list[list[tuple[float, float]]], grow: int = 0) -> Any:
    mask = np.zeros(shape[:2], dtype=np.uint8)
    for poly in polygons:
        cv2.fillPoly(mask, [np.round(np.array(poly)).astype(np.int32)], 1)
    if grow:
        mask = cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    return mask.astype(bool)


def _words(truth: Truth) -> list[tuple[str, list[tuple[float, float]]]]:
    return [(w.text, w.polygon) for line in truth.lines for w in line.words]


def test_every_kind_renders_a_page_whose_lines_lie_in_the_image(pages: dict[str, Page]) -> None:
    for kind, page in pages.items():
        truth = page.truth
        width, height = truth.size
        assert (page.pixels.shape[1], page.pixels.shape[0]) == (width, height)
        assert truth.kind == kind and truth.seed == SEED and truth.degradations["mode"] == "clean"
        assert len(truth.lines) >= 4, kind
        for line in truth.lines:
            assert line.text.strip() and line.text == " ".join(w.text for w in line.words)
            assert line.role in ROLES
            pts = np.array(line.polygon)
            assert (pts >= 0).all() and (pts[:, 0] <= width).all() and (pts[:, 1] <= height).all()
        assert unicodedata.is_normalized("NFC", " ".join(line.text for line in truth.lines))


def test_the_ink_lies_in_the_word_boxes_and_the_word_boxes_hold_ink(
    pages: dict[str, Page],
) -> None:
    for kind in ("columns", "paper", "sidebar", "figures", "letter", "lists"):
        page = pages[kind]
        dark = _grey(page) < 140
        boxes = _mask(dark.shape, [p for _, p in _words(page.truth)], grow=2)
        inside = (dark & boxes).sum() / dark.sum()
        # Rules, bars and drawn figures are the only ink of these pages outside words.
        assert inside > 0.9, (kind, inside)
        empty = [
            text
            for text, poly in _words(page.truth)
            if not (dark & _mask(dark.shape, [poly])).any()
        ]
        assert len(empty) <= 0.01 * len(_words(page.truth)), (kind, empty[:10])


def test_the_pdf_characters_land_in_their_truth_words(pages: dict[str, Page]) -> None:
    import pypdfium2 as pdfium

    for kind, page in pages.items():
        assert page.pdf is not None
        pdf = pdfium.PdfDocument(page.pdf)
        text_page = pdf[0].get_textpage()
        height_pt = pdf[0].get_size()[1]
        to_pt = 72 / page.truth.dpi
        words = []
        for text, poly in _words(page.truth):
            pts = np.array(poly) * to_pt
            words.append((text, pts.min(0), pts.max(0), []))
        found: list[str] = []
        for i in range(text_page.count_chars()):
            char = text_page.get_text_range(i, 1)
            if not char.strip():
                continue
            left, bottom, right, top = text_page.get_charbox(i)
            x, y = (left + right) / 2, height_pt - (bottom + top) / 2
            hits = [
                w
                for w in words
                if w[1][0] - 1 <= x <= w[2][0] + 1 and w[1][1] - 1 <= y <= w[2][1] + 1
            ]
            if not hits:
                found.append(char)
                continue
            hits[0][3].append(char)
        assert not found, (kind, "characters outside every word", "".join(found)[:80])
        wrong = [
            (text, "".join(chars))
            for text, _, _, chars in words
            if unicodedata.normalize("NFKC", "".join(chars)) != unicodedata.normalize("NFKC", text)
        ]
        assert len(wrong) <= 0.005 * len(words), (kind, wrong[:10])
        pdf.close()


def test_the_same_seed_gives_the_same_truth_and_another_seed_another(browser: Browser) -> None:
    assert generate("invoice", 11).html == generate("invoice", 11).html
    first = render_page(browser, "invoice", 11).truth.dumps()
    again = render_page(browser, "invoice", 11).truth.dumps()
    other = render_page(browser, "invoice", 12).truth.dumps()
    assert first == again
    assert first != other
    assert Truth.from_dict(json.loads(first)).dumps() == first


class _Grid(html.parser.HTMLParser):
    """Cells of each ``data-table-id`` table, placed by HTML's own rules (row spans reserve
    the slots below them), with their text."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, list[tuple[str, int, int, int, int, bool]]] = defaultdict(list)
        self._table: str | None = None
        self._taken: set[tuple[int, int]] = set()
        self._row = -1
        self._col = 0
        self._cell: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and "data-table-id" in a:
            self._table, self._taken, self._row = a["data-table-id"], set(), -1
        elif tag == "tr" and self._table:
            self._row += 1
            self._col = 0
        elif tag in ("td", "th") and self._table:
            while (self._row, self._col) in self._taken:
                self._col += 1
            rs, cs = int(a.get("rowspan") or 1), int(a.get("colspan") or 1)
            for dr in range(rs):
                for dc in range(cs):
                    self._taken.add((self._row + dr, self._col + dc))
            self._cell = {"row": self._row, "col": self._col, "rs": rs, "cs": cs, "th": tag == "th"}
            self._cell["text"] = []
            self._col += cs

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table:
            c = self._cell
            text = " ".join("".join(c["text"]).split())
            self.cells[self._table].append((text, c["row"], c["col"], c["rs"], c["cs"], c["th"]))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell["text"].append(data)


def test_table_cells_sit_where_the_html_puts_them(browser: Browser) -> None:
    for kind, seed in (("table_ruled", 5), ("table_unruled", 6), ("invoice", 7)):
        page = render_page(browser, kind, seed)
        truth = page.truth
        grid = _Grid()
        grid.feed(page.html)
        expected = {cell for cells in grid.cells.values() for cell in cells if cell[0]}
        by_block: dict[int, list[Any]] = defaultdict(list)
        for line in truth.lines:
            if line.cell is not None:
                by_block[line.block].append(line)
        assert by_block, kind
        dims = {t.id: t for t in truth.tables}
        for lines in by_block.values():
            c = lines[0].cell
            assert c is not None and all(line.cell == c for line in lines)
            text = " ".join(line.text for line in lines)
            key = (text, c.row, c.col, c.rowSpan, c.colSpan, c.header)
            assert key in expected, (kind, key)
            table = dims[c.table]
            assert c.row + c.rowSpan <= table.rows and c.col + c.colSpan <= table.cols
        if kind != "invoice":
            assert {t.ruled for t in truth.tables} == {kind == "table_ruled"}
        spans = [line.cell for line in truth.lines if line.cell and line.cell.colSpan > 1]
        assert spans or kind == "invoice", kind


def test_the_reading_order_covers_the_ordered_blocks_once(pages: dict[str, Page]) -> None:
    for kind, page in pages.items():
        truth = page.truth
        assert [b.id for b in truth.blocks] == list(range(len(truth.blocks)))
        orders = sorted(b.order for b in truth.blocks if b.order is not None)
        assert orders == list(range(len(orders))), kind
        blocks = {b.id: b for b in truth.blocks}
        seen: dict[int, list[int]] = defaultdict(list)
        for line in truth.lines:
            assert line.role == blocks[line.block].role
            seen[line.block].append(line.index)
        assert set(seen) == set(blocks), kind  # every block has lines
        assert all(indexes == list(range(len(indexes))) for indexes in seen.values())
        roles = {b.role for b in truth.blocks}
        if kind != "multilang":
            assert roles <= set(ROLES)
        # Page furniture: a page number is read after everything else on the page.
        numbers = [b.order for b in truth.blocks if b.role == "pageNumber" and b.order is not None]
        if numbers:
            assert max(numbers) == len(orders) - 1, kind
    paper = pages["paper"].truth
    authors = [b for b in paper.blocks if b.role == "authors"]
    assert authors and len({b.group for b in authors}) == 1 and authors[0].group is not None
    floating = {b.role for p in pages.values() for b in p.truth.blocks if b.order is None}
    assert floating <= {"quote", "sidebar", "caption", "figureText", "label", "value"}
    form = pages["form"].truth
    assert form.checkboxes and any(c.selected for c in form.checkboxes)


def test_no_block_is_read_after_a_block_it_stands_above(browser: Browser) -> None:
    # Blocks take their place in the order as they are composed: a heading made after its
    # section's fields was once read after them. Within one column, the next block in the
    # order never lies wholly above the one before it (groups may go either way).
    for kind in KINDS:
        for seed in (SEED, SEED + 1):
            truth = render_page(browser, kind, seed).truth
            boxes: dict[int, list[float]] = {}
            for line in truth.lines:
                xs = [p[0] for p in line.polygon]
                ys = [p[1] for p in line.polygon]
                box = boxes.setdefault(line.block, [min(xs), min(ys), max(xs), max(ys)])
                box[:] = [min(box[0], *xs), min(box[1], *ys), max(box[2], *xs), max(box[3], *ys)]
            ordered = sorted(
                (b for b in truth.blocks if b.order is not None), key=lambda b: b.order or 0
            )
            for a, c in itertools.pairwise(ordered):
                if a.group is not None and a.group == c.group:
                    continue
                upper, lower = boxes[c.id], boxes[a.id]
                across = min(upper[2], lower[2]) - max(upper[0], lower[0])
                narrower = min(upper[2] - upper[0], lower[2] - lower[0])
                assert not (across > 0.5 * narrower and upper[3] < lower[1]), (kind, seed, c.role)


def _ink_coverage(grey: Any, truth: Truth, shift: float = 0.0) -> float:
    """Share of the dark pixels of the text area that lie in the (dilated) word polygons;
    ``shift`` moves every polygon down by that share of its height (a wrong truth)."""
    lines = [np.array(line.polygon) for line in truth.lines]
    hull = cv2.convexHull(np.concatenate(lines).astype(np.float32)).reshape(-1, 2)
    area = _mask(grey.shape, [[tuple(p) for p in hull]])
    paper = np.median(grey[area])
    dark = (grey < 0.6 * paper) & area
    polys = []
    for _, poly in _words(truth):
        pts = np.array(poly)
        height = pts[:, 1].max() - pts[:, 1].min()
        polys.append([(x, y + shift * height) for x, y in pts])
    return float((dark & _mask(grey.shape, polys, grow=2)).sum() / max(1, dark.sum()))


def test_scan_and_photo_move_the_truth_with_the_ink(browser: Browser) -> None:
    kind, seed = "letter", 4
    clean = render_page(browser, kind, seed, "clean")
    base = _ink_coverage(_grey(clean), clean.truth)
    assert base > 0.9
    for mode in ("scan", "photo"):
        page = render_page(browser, kind, seed, mode)
        d = page.truth.degradations
        assert d["mode"] == mode and (d["rotate"] or d["curl"])
        assert [line.text for line in page.truth.lines] == [line.text for line in clean.truth.lines]
        width, height = page.truth.size
        for line in page.truth.lines:
            pts = np.array(line.polygon)
            assert (pts >= 0).all() and (pts[:, 0] <= width).all() and (pts[:, 1] <= height).all()
        coverage = _ink_coverage(_grey(page), page.truth)
        assert coverage > base - 0.06, (mode, coverage, base)
        # The measure notices a truth half a line off.
        assert _ink_coverage(_grey(page), page.truth, shift=0.6) < coverage - 0.15, mode
        if mode == "photo":
            assert any(len(line.polygon) > 4 for line in page.truth.lines)


def test_the_degradations_map_points_where_the_image_moves_them() -> None:
    rng = random.Random(1)
    width, height = 900, 1200
    image = np.full((height, width, 3), 255, np.uint8)
    points = np.array(
        [(x, y) for x in range(60, width, 130) for y in range(60, height, 150)], float
    )
    for x, y in points:
        cv2.circle(image, (int(x), int(y)), 4, (0, 0, 0), -1)
    centres = points + 0.5  # a disc drawn at pixel (x, y) is centred on its pixel's centre
    for mode in ("scan", "photo"):
        for _ in range(3):
            params = degrading.draw(mode, rng)
            params = dataclasses.replace(params, blur=0.0, noise=0.0, light=0.0, jpeg=None)
            out, transform = degrading.apply(image, params)
            grey = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
            expected = transform(centres)
            for ex, ey in expected:
                x0, y0 = int(ex) - 12, int(ey) - 12
                patch = 255 - grey[y0 : y0 + 25, x0 : x0 + 25].astype(float)
                patch[patch < 60] = 0
                ys, xs = np.mgrid[y0 : y0 + 25, x0 : x0 + 25]
                cx, cy = (
                    (xs * patch).sum() / patch.sum() + 0.5,
                    (ys * patch).sum() / patch.sum() + 0.5,
                )
                assert abs(cx - ex) < 1 and abs(cy - ey) < 1, (mode, params, (ex, ey), (cx, cy))


def test_the_command_line_writes_images_truth_pdf_and_drawings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_browser()
    assert (
        main(
            [
                "--out",
                str(tmp_path),
                "--kinds",
                "letter",
                "lists",
                "--pages",
                "2",
                "--seed",
                "20",
                "--pdf",
                "--draw",
            ]
        )
        == 0
    )
    assert "pages/min" in capsys.readouterr().out
    for kind in ("letter", "lists"):
        for seed in (20, 21):
            stem = tmp_path / kind / f"{kind}-{seed}"
            data = json.loads(stem.with_suffix(".json").read_text("utf-8"))
            assert data["image"] == f"{kind}-{seed}.png" and data["pdf"] == f"{kind}-{seed}.pdf"
            assert (tmp_path / kind / data["image"]).is_file()
            assert stem.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
            assert Path(f"{stem}.boxes.png").is_file()
            image = cv2.imread(str(tmp_path / kind / data["image"]))
            assert [image.shape[1], image.shape[0]] == data["size"]
