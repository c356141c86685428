"""Paragraph roles (:func:`emulator.structure.roles.paragraph_roles`) measured on generated pages.

    .venv/bin/python benchmarks/roles.py --paragraphs truth --seed 1000 --pages 20 [--show 3]
    .venv/bin/python benchmarks/roles.py --paragraphs ocr --seed 1000 --pages 4 [--cached]

Pages are generated into ``CACHE/pages-SEED`` (``--cache``, default ``/tmp/roles``). Tuned on
seeds 0-19; figures on seeds 1000-1019 (P / R / F1 per role, pooled over all kinds):

============== =============== =============== =============== ===============
role           truth, 220 pp.  (n)             ocr, 26 pp.(*)  (n)
============== =============== =============== =============== ===============
title          100 / 99 / 99   220             96 / 71 / 81    31
sectionHeading  99 / 57 / 72   531             80 / 40 / 53    30
pageHeader     100 / 98 / 99   105             95 / 100 / 97   19
pageFooter      89 / 100 / 94   96             100 / 100 / 100 11
pageNumber     100 / 100 / 100 108             100 / 100 / 100 12
footnote       100 / 48 / 65    99             100 / 38 / 55    8
============== =============== =============== =============== ===============

(*) the engine reads ~3 s a page alone and far slower on a shared machine: the ocr figures are
the 26 pages of seeds 1000-1003 read before time ran out (``--cached``), so they are noisy. A
multi-line title the engine cut into two paragraphs counts as two titles, one of them missed.
Misses are mostly body-sized bold headings (forms, letters, papers: no font weight to see),
unmarked table notes, and footers that are a form's last check-box line (precision 89 %).

Pages come from ``training/layouts`` (``--degrade clean``); each is its own one-page document,
so repetition across pages is not measured here (the unit tests cover it). The true role of a
paragraph is its truth block's role (``heading`` counts as ``sectionHeading``; ``title``,
``pageHeader``, ``pageFooter``, ``pageNumber`` and ``footnote`` as they are; every other role,
``paragraph``, ``cell``, ``label``, ``address`` and so on, as none). Paragraphs are either

* ``--paragraphs truth``: the true blocks, their lines as drawn, in the true reading order
  (what the roles can do with perfect lines and paragraphs), or
* ``--paragraphs ocr``: what the emulator serves: the engine's lines in ``natural`` order
  (:meth:`RapidOcrEngine.recognize`, cached in ``CACHE/ocr`` since a page costs ~3 s), cut
  into paragraphs by :func:`emulator.pages.paragraphs.paragraphs_of`; each paragraph's true role is
  that of the true line under most of its words.

Per role: precision, recall and F1 of the paragraphs given that role, per layout kind and
pooled, then the confusions (true role -> role given, with counts) that cost most.
``--show N`` lists up to N wrong paragraphs per confusion.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._support import generate_pages  # noqa: E402
from benchmarks.order import Truth, word_sequence  # noqa: E402
from emulator.structure.roles import (  # noqa: E402
    PageParagraphs,
    Paragraph,
    Role,
    paragraph_roles,
)
from training.layouts.pipeline import KINDS  # noqa: E402

ROLES: tuple[Role, ...] = (
    "title",
    "sectionHeading",
    "pageHeader",
    "pageFooter",
    "pageNumber",
    "footnote",
)

TRUTH_ROLE: dict[str, Role] = {
    "title": "title",
    "heading": "sectionHeading",
    "pageHeader": "pageHeader",
    "pageFooter": "pageFooter",
    "pageNumber": "pageNumber",
    "footnote": "footnote",
}
"""Generated truth roles that are Document Intelligence roles; every other is body (none)."""


@dataclass(frozen=True)
class Scored:
    """One page's paragraphs with the true role of each and what it names the paragraph."""

    kind: str
    name: str
    page: PageParagraphs
    truth: list[Role | None]


# -- paragraphs from the truth --------------------------------------------------------------------


def _box_of(points: Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return (min(xs), min(ys), max(xs), max(ys))


def truth_paragraphs(truth: Truth) -> Scored:
    """The page's true blocks as paragraphs, in the true reading order (a floating block after
    the ordered block that starts above it)."""
    by_block: dict[int, list[int]] = defaultdict(list)
    for i, line in enumerate(truth.lines):
        by_block[line.block].append(i)
    tops = {b: min(truth.lines[i].bbox[1] for i in idx) for b, idx in by_block.items()}
    ordered = sorted(
        (b for b in by_block if truth.blocks[b].order is not None),
        key=lambda b: truth.blocks[b].order or 0,
    )
    keys: dict[int, tuple[float, float]] = {}
    for rank, b in enumerate(ordered):
        keys[b] = (float(rank), 0.0)
    for b in by_block:
        if b in keys:
            continue
        above = [keys[o][0] for o in ordered if tops[o] <= tops[b]]
        keys[b] = (max(above) if above else -1.0, 1.0 + tops[b] / 1e6)
    paragraphs: list[Paragraph] = []
    roles: list[Role | None] = []
    for b in sorted(by_block, key=lambda b: keys[b]):
        idx = sorted(by_block[b], key=lambda i: truth.lines[i].index)
        lines = [truth.lines[i] for i in idx]
        boxes = [ln.bbox for ln in lines]
        paragraphs.append(
            Paragraph(
                text="\n".join(ln.text for ln in lines),
                box=(
                    min(bx[0] for bx in boxes),
                    min(bx[1] for bx in boxes),
                    max(bx[2] for bx in boxes),
                    max(bx[3] for bx in boxes),
                ),
                line_height=float(statistics.median(ln.height for ln in lines)),
                lines=len(lines),
            )
        )
        roles.append(TRUTH_ROLE.get(truth.blocks[b].role))
    width, height = truth.size
    page = PageParagraphs(float(width), float(height), paragraphs)
    return Scored(truth.kind, truth.name, page, roles)


# -- paragraphs from the engine -------------------------------------------------------------------


def _ocr_path(cache: Path, json_path: Path) -> Path:
    return cache / "ocr" / json_path.parent.name / f"{json_path.stem}.pkl"


_ENGINE: Any = None


def _read(json_path: Path, target: Path) -> None:
    """Read one page with the engine (natural order) and cache its ``PageText``."""
    global _ENGINE
    from PIL import Image

    from emulator.engine.rapid import RapidOcrEngine

    if _ENGINE is None:
        _ENGINE = RapidOcrEngine(1)
    import json

    data = json.loads(json_path.read_text(encoding="utf-8"))
    with Image.open(json_path.parent / data["image"]) as img:
        image = img.convert("RGB")
    text = _ENGINE.recognize(image, reading_order="natural")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps({"text": text, "size": image.size}))
    tmp.replace(target)


def ocr_paragraphs(truth: Truth, cached: dict[str, Any]) -> Scored:
    """The engine's paragraphs of the page, each with the true role of the true line under
    most of its words."""
    from PIL import Image

    from emulator.documents.formats import PageImage
    from emulator.pages.paragraphs import paragraphs_of
    from emulator.pages.records import read_result

    text = cached["text"]
    width, height = cached["size"]
    page_image = PageImage(1, Image.new("RGB", (1, 1)), "pixel", 1.0, float(width), float(height))
    record = read_result(page_image, text)
    groups = paragraphs_of(record)
    paragraphs: list[Paragraph] = []
    roles: list[Role | None] = []
    for group in groups:
        lines = [text.lines[i] for i in group]
        boxes = [
            _box_of(list(zip(ln.polygon[0::2], ln.polygon[1::2], strict=True))) for ln in lines
        ]
        heights = [_line_height(ln.polygon) for ln in lines]
        paragraphs.append(
            Paragraph(
                text="\n".join(ln.text for ln in lines),
                box=(
                    min(b[0] for b in boxes),
                    min(b[1] for b in boxes),
                    max(b[2] for b in boxes),
                    max(b[3] for b in boxes),
                ),
                line_height=float(statistics.median(heights)),
                lines=len(lines),
            )
        )
        under = [i for i in word_sequence(lines, truth) if i >= 0]
        if not under:
            roles.append(None)
            continue
        line_index = Counter(under).most_common(1)[0][0]
        block = truth.lines[line_index].block
        roles.append(TRUTH_ROLE.get(truth.blocks[block].role))
    page = PageParagraphs(float(width), float(height), paragraphs)
    return Scored(truth.kind, truth.name, page, roles)


def _line_height(polygon: Sequence[float]) -> float:
    """A quadrilateral's height: the mean of its left and right edges."""
    x0, y0, x1, y1, x2, y2, x3, y3 = polygon[:8]
    left = ((x3 - x0) ** 2 + (y3 - y0) ** 2) ** 0.5
    right = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    return float((left + right) / 2)


# -- scoring ------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Per-role counts: true positives, false positives, false negatives."""

    tp: Counter[str]
    fp: Counter[str]
    fn: Counter[str]

    @staticmethod
    def new() -> Tally:
        return Tally(Counter(), Counter(), Counter())

    def add(self, truth: Role | None, given: Role | None) -> None:
        if truth == given:
            if truth is not None:
                self.tp[truth] += 1
            return
        if given is not None:
            self.fp[given] += 1
        if truth is not None:
            self.fn[truth] += 1

    def cell(self, role: str) -> str:
        tp, fp, fn = self.tp[role], self.fp[role], self.fn[role]
        if tp + fp + fn == 0:
            return f"{'':>21}"
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / (tp + fn) if tp + fn else float("nan")
        f = 2 * p * r / (p + r) if tp else 0.0
        return f"  {_pct(p)} {_pct(r)} {_pct(f)} {tp + fn:>4}"


def _pct(value: float) -> str:
    return " -- " if value != value else f"{100 * value:>3.0f}%"


def report(scored: list[Scored], show: int) -> str:
    """Per-kind and pooled P/R/F1 per role, and the confusions."""
    per_kind: dict[str, Tally] = defaultdict(Tally.new)
    pooled = Tally.new()
    confusions: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    start = time.perf_counter()
    given_all = paragraph_roles_each(scored)
    elapsed = time.perf_counter() - start
    for item, given in zip(scored, given_all, strict=True):
        for para, truth, role in zip(item.page.paragraphs, item.truth, given, strict=True):
            per_kind[item.kind].add(truth, role)
            pooled.add(truth, role)
            if truth != role:
                key = (str(truth), str(role))
                confusions[key] += 1
                if len(examples[key]) < show:
                    text = para.text.replace("\n", " | ")[:60]
                    examples[key].append(f"{item.name}: {text!r}")
    head = f"{'kind':<14}" + "".join(f"{r:>21}" for r in ROLES)
    sub = f"{'':<14}" + "".join(f"{'P    R   F1    n':>21}" for _ in ROLES)
    rows = [head, sub]
    for kind in sorted(per_kind):
        rows.append(f"{kind:<14}" + "".join(per_kind[kind].cell(r) for r in ROLES))
    rows.append(f"{'all':<14}" + "".join(pooled.cell(r) for r in ROLES))
    n_par = sum(len(s.page.paragraphs) for s in scored)
    rows.append(
        f"\n{len(scored)} pages, {n_par} paragraphs, roles in {1000 * elapsed:.0f} ms"
        "\nconfusions (true -> given):"
    )
    for (truth, given), count in confusions.most_common():
        rows.append(f"  {truth:>14} -> {given:<14} {count}")
        rows.extend(f"      {e}" for e in examples[(truth, given)])
    return "\n".join(rows)


def paragraph_roles_each(scored: list[Scored]) -> list[list[Role | None]]:
    """Roles of each page, each page read as a document of its own."""
    return [paragraph_roles([item.page])[0] for item in scored]


def _index(path: Path) -> int:
    """The page's seed, from its name (``<kind>-<seed>``)."""
    return int(path.stem.rsplit("-", 1)[1])


# -- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/roles"))
    parser.add_argument("--pages", type=int, default=20, help="pages per kind")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--kinds", nargs="*", default=None)
    parser.add_argument("--paragraphs", choices=("truth", "ocr"), default="truth")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--cached", action="store_true", help="score only the pages the engine has read already"
    )
    parser.add_argument("--show", type=int, default=0, help="wrong paragraphs to list each")
    args = parser.parse_args(argv)
    pages_dir = args.cache / f"pages-{args.seed}"
    wanted = args.pages * (len(args.kinds) if args.kinds else len(KINDS))
    if len(list(pages_dir.glob("*/*.json"))) < wanted:
        kinds = args.kinds or ["all"]
        generate_pages(pages_dir, kinds, args.pages, args.seed, jobs=args.jobs)
    scored: list[Scored] = []
    # Page by page across the kinds, so an interrupted first reading leaves every kind read.
    paths = sorted(pages_dir.glob("*/*.json"), key=lambda p: (_index(p), p.parent.name))
    if args.kinds:
        paths = [p for p in paths if p.parent.name in args.kinds]
    for path in paths:
        if _index(path) >= args.seed + args.pages:
            continue
        truth = Truth.load(path)
        if args.paragraphs == "truth":
            scored.append(truth_paragraphs(truth))
            continue
        target = _ocr_path(args.cache, path)
        if not target.exists():
            if args.cached:
                continue
            print(f"reading {path.stem}", file=sys.stderr)
            _read(path, target)
        scored.append(ocr_paragraphs(truth, pickle.loads(target.read_bytes())))
    print(report(scored, args.show))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
