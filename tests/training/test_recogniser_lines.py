# ruff: noqa: RUF001 - typographic characters are what these tests look for
"""``training/recogniser/lines.py``: rendered text lines are deterministic, use only the
recogniser's characters, look like detector crops (BGR ``uint8``, 12-120 px high) and vary
(fonts, languages, digits, typographic punctuation); shards round-trip without pickles; page
lines are cropped from generated pages (a hand-made page always, a Chromium one when the
browser is there); the command line writes non-overlapping shards.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from tests._browser import require_browser

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from training.recogniser import lines  # noqa: E402
from training.recogniser.lines import (  # noqa: E402
    LineSample,
    Recipe,
    charset,
    page_lines,
    read_shard,
    render_lines,
    render_recipes,
    write_shard,
)

SEED = 11
N = 300


@pytest.fixture(scope="module")
def rendered() -> list[tuple[LineSample, Recipe]]:
    return list(render_recipes(SEED, N))


def _same(a: list[LineSample], b: list[LineSample]) -> bool:
    return len(a) == len(b) and all(
        x.text == y.text and x.source == y.source and np.array_equal(x.image, y.image)
        for x, y in zip(a, b, strict=True)
    )


def test_charset_is_the_models_characters_and_the_space() -> None:
    chars = charset()
    assert " " in chars and len(chars) == 622
    assert {"a", "Z", "0", "€", "“", "”", "‘", "’", "–", "—", "…", "ł", "ß", "½", "×"} <= chars
    assert "\n" not in chars and "\u00a0" not in chars and "„" not in chars


def test_fonts_cover_the_kinds_of_type_documents_use() -> None:
    fonts = lines.fonts()
    styles = {f.style for f in fonts}
    assert {"serif", "sans", "mono", "condensed"} <= styles
    assert any(f.bold for f in fonts) and any(f.italic for f in fonts)
    assert len(set(lines.font_names())) == len(fonts)


def test_the_same_seed_gives_the_same_lines() -> None:
    first = list(render_lines(SEED, 12))
    assert _same(first, list(render_lines(SEED, 12)))
    # Interleaved generators share cached Faker instances: still the same samples.
    a, b = render_lines(SEED, 12), render_lines(SEED, 12)
    pairs = [(x, y) for x, y in zip(a, b, strict=True)]
    assert _same([x for x, _ in pairs], first) and _same([y for _, y in pairs], first)
    assert [s.text for s in render_lines(SEED + 1, 12)] != [s.text for s in first]
    # Sample i depends only on (seed, i).
    assert _same(list(render_lines(SEED, 5)), first[:5])


def test_lines_are_detector_crops_with_clean_truth(
    rendered: list[tuple[LineSample, Recipe]],
) -> None:
    chars = charset()
    for sample, _ in rendered:
        image, text = sample.image, sample.text
        assert sample.source == "render"
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert 12 <= image.shape[0] <= 120 and image.shape[1] >= 2, image.shape
        assert image.flags.c_contiguous
        assert text and text == text.strip() and "  " not in text, repr(text)
        assert set(text) <= chars, repr(text)
        assert len(text) <= 80
        # Something is printed: the crop is not one flat colour.
        assert int(image.max()) - int(image.min()) > 20


def test_lines_vary(rendered: list[tuple[LineSample, Recipe]]) -> None:
    texts = [s.text for s, _ in rendered]
    recipes = [r for _, r in rendered]
    joined = "".join(texts)
    assert len({r.font for r in recipes}) >= 5
    assert {r.style for r in recipes} >= {"serif", "sans", "mono", "condensed"}
    groups = ("äöüß", "éèêàçë", "ñáíóú", "ąęłńśźżć", "ãõ", "ìò")
    assert sum(any(c in joined for c in g) for g in groups) >= 4
    assert len({r.language for r in recipes}) >= 6
    assert sum(any(c.isdigit() for c in t) for t in texts) > N // 4
    assert any(c in joined for c in "“”‘’") and any(c in joined for c in "–—")
    assert any(t.isupper() and len(t) > 5 for t in texts)
    assert any(len(t) <= 3 for t in texts) and any(len(t) >= 50 for t in texts)
    # Tight spaces a model must learn to emit.
    assert any(" " in t and len(t) <= 8 for t in texts)
    kinds = Counter(r.kind for r in recipes)
    assert len(kinds) >= 12 and kinds["table"] > 5
    clean = sum(not r.degradations for r in recipes) / N
    assert 0.1 < clean < 0.5
    done = Counter(d for r in recipes for d in r.degradations)
    for what in ("blur", "jpeg", "noise", "resample", "rotate", "perspective"):
        assert done[what] > 10, what
    assert len({r.colours for r in recipes}) >= 4
    heights = np.array([s.image.shape[0] for s, _ in rendered])
    assert 20 <= np.median(heights) <= 45
    assert heights.min() < 20 and heights.max() > 60


def test_only_the_characters_given() -> None:
    chars = frozenset("0123456789 .,-/")
    samples = list(render_lines(3, 25, chars))
    assert all(s.text and set(s.text) <= chars for s in samples)
    assert all(s.text == s.text.strip() and "  " not in s.text for s in samples)


def test_shards_round_trip_without_pickles(tmp_path: Path) -> None:
    samples = list(render_lines(SEED, 15))
    samples.append(LineSample(np.zeros((20, 7, 3), np.uint8), "½ “x”", "page"))
    path = tmp_path / "a" / "shard.npz"
    assert write_shard(path, samples) == len(samples)
    assert path.is_file() and not list(path.parent.glob("*.tmp"))
    back = read_shard(path)
    assert _same(back, samples)
    with np.load(path, allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
    assert write_shard(tmp_path / "empty.npz", []) == 0
    assert read_shard(tmp_path / "empty.npz") == []


def _hand_made_page(directory: Path) -> list[tuple[str, float]]:
    """A page image with three lines and its truth (one polygon curled, one with a character
    the recogniser lacks); returns the texts page_lines should give and their heights."""
    directory.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (900, 300), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(next(f.path for f in lines.fonts() if f.style == "serif")), 40)
    texts = ["Invoice No. 4471", "Total: 1.234,56 €", "Привет"]
    polys = []
    for i, text in enumerate(texts):
        y = 30 + 90 * i
        draw.text((40, y), text, fill="black", font=font)
        x0, y0, x1, y1 = draw.textbbox((40, y), text, font=font)
        polys.append([[x0 - 4, y0 - 6], [x1 + 4, y0 - 6], [x1 + 4, y1 + 6], [x0 - 4, y1 + 6]])
    # The second line's polygon as a curled page gives it: top edge then bottom edge.
    (a, b, c, d) = polys[1]
    mid = (a[0] + b[0]) / 2
    polys[1] = [a, [mid, a[1] - 1], b, c, [mid, c[1] + 1], d]
    image.save(directory / "p-0.png")
    truth = {
        "image": "p-0.png",
        "lines": [{"text": t, "polygon": p} for t, p in zip(texts, polys, strict=True)],
    }
    (directory / "p-0.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    (directory / "other.json").write_text('{"not": "a page"}', encoding="utf-8")
    return [(t, p[-1][1] - p[0][1]) for t, p in zip(texts[:2], polys, strict=False)]


def test_page_lines_crop_a_page_with_the_engines_crop(tmp_path: Path) -> None:
    expected = _hand_made_page(tmp_path)
    samples = list(page_lines(tmp_path))
    assert [s.text for s in samples] == [t for t, _ in expected]
    for s, (_, height) in zip(samples, expected, strict=True):
        assert s.source == "page" and s.image.dtype == np.uint8 and s.image.shape[2] == 3
        assert abs(s.image.shape[0] - height) <= 3, (s.image.shape, height)
        grey = cv2.cvtColor(s.image, cv2.COLOR_BGR2GRAY)
        assert grey[:, :3].min() > 200 and grey.min() < 60  # margin first, then ink
    padded = list(page_lines(tmp_path, pad=0.2))
    assert all(p.image.shape[0] > s.image.shape[0] for p, s in zip(padded, samples, strict=True))
    only = frozenset("Invoice No.4471 ")
    assert [s.text for s in page_lines(tmp_path, only)] == [expected[0][0]]


def test_quads_of_curled_polygons_start_top_left() -> None:
    poly = [[10.0, 20.0], [60.0, 18.0], [110.0, 20.0], [110.0, 50.0], [60.0, 52.0], [10.0, 50.0]]
    quad = lines._quad(poly)
    assert quad.shape == (4, 2)
    tl, tr, br, bl = quad
    assert tl[0] < tr[0] and tl[1] < bl[1] and br[0] > bl[0] and br[1] > tr[1]


def test_page_lines_of_a_generated_page(tmp_path: Path) -> None:
    require_browser()
    from training.layouts import render_pages

    render_pages(["invoice"], [2], tmp_path, degrade="scan", jobs=1)
    (truth_path,) = tmp_path.rglob("*.json")
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    chars = charset()
    keep = [line["text"] for line in truth["lines"] if set(line["text"]) <= chars]
    samples = list(page_lines(tmp_path))
    assert [s.text for s in samples] == keep and len(keep) >= 10
    assert all(s.source == "page" and s.image.shape[0] >= 8 for s in samples)


def test_command_line_writes_non_overlapping_shards(tmp_path: Path) -> None:
    _hand_made_page(tmp_path / "pages")
    out = tmp_path / "out"
    args = ["--out", str(out), "--seed", "3", "--count", "9", "--shard-size", "4"]
    assert lines.main([*args, "--jobs", "1", "--pages", str(tmp_path / "pages")]) == 0
    names = sorted(p.name for p in out.glob("*.npz"))
    assert names == ["page-0.npz", "render-3-0.npz", "render-3-1.npz", "render-3-2.npz"]
    assert [len(read_shard(out / f"render-3-{k}.npz")) for k in range(3)] == [4, 4, 1]
    assert _same(read_shard(out / "render-3-1.npz"), list(render_lines(3 * 1000 + 1, 4)))
    assert [s.source for s in read_shard(out / "page-0.npz")] == ["page", "page"]
