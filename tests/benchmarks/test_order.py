"""``benchmarks/order.py``'s judge: which readings of a page count as right, and what the
reference text is, on a small page whose truth is written here by hand (no browser, no OCR)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import jiwer
import pytest

from emulator.engine.base import TextLine, TextWord

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "order.py"


@pytest.fixture(scope="module")
def order() -> ModuleType:
    spec = importlib.util.spec_from_file_location("order_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# A title; two author blocks side by side (a group); two columns of two lines each; a pull
# quote (floating) under the columns. Lines are 20 px high, words 40 px wide.
LAYOUT = [
    # block, role, order, group, x, y, words
    (0, "title", 0, None, 100, 20, ["Big", "Title"]),
    (1, "authors", 1, 0, 50, 60, ["Ann", "Lee"]),
    (1, "authors", 1, 0, 50, 85, ["Uni", "A"]),
    (2, "authors", 2, 0, 400, 60, ["Bob", "Ray"]),
    (2, "authors", 2, 0, 400, 85, ["Uni", "B"]),
    (3, "paragraph", 3, None, 50, 140, ["left", "one"]),
    (3, "paragraph", 3, None, 50, 165, ["left", "two"]),
    (4, "paragraph", 4, None, 400, 140, ["right", "one"]),
    (4, "paragraph", 4, None, 400, 165, ["right", "two"]),
    (5, "quote", None, None, 200, 220, ["a", "quote"]),
]


def _quad(x: float, y: float, w: float, h: float) -> list[list[float]]:
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


@pytest.fixture()
def truth(order: ModuleType, tmp_path: Path) -> object:
    blocks: dict[int, dict[str, object]] = {}
    lines = []
    index: dict[int, int] = {}
    for block, role, position, group, x, y, words in LAYOUT:
        blocks[block] = {"id": block, "role": role, "order": position, "group": group}
        word_boxes = [
            {"text": w, "polygon": _quad(x + 50 * k, y, 40, 20)} for k, w in enumerate(words)
        ]
        lines.append(
            {
                "text": " ".join(words),
                "block": block,
                "index": index.setdefault(block, 0),
                "role": role,
                "polygon": _quad(x, y, 50 * len(words) - 10, 20),
                "words": word_boxes,
            }
        )
        index[block] += 1
    page = {"kind": "test", "seed": 0, "size": [600, 300], "blocks": list(blocks.values())}
    page["lines"] = lines
    path = tmp_path / "test-0.json"
    path.write_text(json.dumps(page))
    return order.Truth.load(path)


def _read(truth: object, picks: list[tuple[int, slice]]) -> list[TextLine]:
    """Engine lines made of the true lines' words: ``(line number, which words)``."""
    out = []
    for i, words in picks:
        line = truth.lines[i]  # type: ignore[attr-defined]
        chosen = line.words[words]
        tw = tuple(TextWord(t, _flat(p), 1.0) for t, p in chosen)
        out.append(TextLine(" ".join(t for t, _ in chosen), _flat(line.polygon), tw))
    return out


def _flat(poly: object) -> tuple[float, ...]:
    return tuple(float(v) for v in poly.reshape(-1))  # type: ignore[attr-defined]


def _score(order: ModuleType, truth: object, sequence: list[int]) -> tuple[bool, float]:
    lines = _read(truth, [(i, slice(None)) for i in sequence])
    ref, hyp, verdict = order.score_page(lines, truth)
    return verdict.right, float(jiwer.cer(order.normalise(ref), order.normalise(hyp)))


def test_columns_read_one_after_the_other_are_right(order: ModuleType, truth: object) -> None:
    assert _score(order, truth, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) == (True, 0.0)


def test_reading_across_the_columns_is_wrong_and_costs(order: ModuleType, truth: object) -> None:
    right, cer = _score(order, truth, [0, 1, 2, 3, 4, 5, 7, 6, 8, 9])
    assert not right
    assert cer > 0.1


def test_a_floating_block_may_go_anywhere_but_whole(order: ModuleType, truth: object) -> None:
    assert _score(order, truth, [9, 0, 1, 2, 3, 4, 5, 6, 7, 8]) == (True, 0.0)
    assert _score(order, truth, [0, 1, 2, 3, 4, 9, 5, 6, 7, 8]) == (True, 0.0)
    # Inside a paragraph it breaks the paragraph up.
    assert not _score(order, truth, [0, 1, 2, 3, 4, 5, 9, 6, 7, 8])[0]


def test_a_group_may_be_read_across_or_block_by_block(order: ModuleType, truth: object) -> None:
    # Authors row by row: Ann Lee, Bob Ray, Uni A, Uni B.
    assert _score(order, truth, [0, 1, 3, 2, 4, 5, 6, 7, 8, 9]) == (True, 0.0)
    # Right block first.
    assert _score(order, truth, [0, 3, 4, 1, 2, 5, 6, 7, 8, 9]) == (True, 0.0)
    # But a block's own lines stay in order.
    assert not _score(order, truth, [0, 2, 1, 3, 4, 5, 6, 7, 8, 9])[0]


def test_blocks_out_of_order_are_wrong(order: ModuleType, truth: object) -> None:
    right, cer = _score(order, truth, [0, 1, 2, 3, 4, 7, 8, 5, 6, 9])
    assert not right and cer > 0


def test_a_line_whose_words_are_read_apart_is_wrong(order: ModuleType, truth: object) -> None:
    lines = _read(truth, [(0, slice(None)), (5, slice(0, 1)), (6, slice(None)), (5, slice(1, 2))])
    assert not order.score_page(lines, truth)[2].right


def test_a_line_the_engine_missed_does_not_make_the_order_wrong(
    order: ModuleType, truth: object
) -> None:
    right, cer = _score(order, truth, [0, 1, 2, 3, 4, 5, 7, 8, 9])
    assert right and 0 < cer < 0.2  # the missed line costs its characters only


def test_lines_merged_across_a_row_keep_their_words_order(order: ModuleType, truth: object) -> None:
    # The detector merged each author row into one line: still right.
    merged = []
    for a, b in ((1, 3), (2, 4)):
        la, lb = truth.lines[a], truth.lines[b]  # type: ignore[attr-defined]
        words = tuple(TextWord(t, _flat(p), 1.0) for t, p in (*la.words, *lb.words))
        merged.append(TextLine(f"{la.text} {lb.text}", words[0].polygon, words))
    lines = _read(truth, [(0, slice(None))]) + merged
    lines += _read(truth, [(i, slice(None)) for i in (5, 6, 7, 8, 9)])
    assert order.score_page(lines, truth)[2].right


def test_tesseract_tsv_becomes_lines_in_its_order(order: ModuleType) -> None:
    head = "\t".join(
        [
            "level",
            "page_num",
            "block_num",
            "par_num",
            "line_num",
            "word_num",
            "left",
            "top",
            "width",
            "height",
            "conf",
            "text",
        ]
    )
    rows = [
        "5\t1\t1\t1\t1\t1\t10\t10\t30\t10\t95\tHello",
        "5\t1\t1\t1\t1\t2\t50\t10\t30\t10\t95\tworld",
        "5\t1\t2\t1\t1\t1\t10\t40\t30\t10\t95\tNext",
        "4\t1\t2\t1\t1\t0\t10\t40\t30\t10\t-1\t",
    ]
    lines = order.tesseract_lines("\n".join([head, *rows]), 2.0)
    assert [line.text for line in lines] == ["Hello world", "Next"]
    assert lines[0].polygon[:2] == (20.0, 20.0)
