"""Selection marks (check boxes) found by :func:`emulator.structure.marks.find_selection_marks`
on generated pages (``training/layouts``), measured against the boxes the DOM drew.

Form pages (``--kinds form``) carry ``checkboxes[]`` in their truth: a polygon and whether the
box is ticked. A found mark matches a true box when their axis-aligned boxes overlap by
IoU >= 0.3 (each truth box and each mark matched at most once, best overlap first):

* **P / R**: detection precision and recall over all form pages, pooled;
* **state**: the share of matched marks whose ``selected`` agrees with the truth;
* **false/page**: marks found per page on every other kind (none of them draws a box);
* **ms/page**: :func:`find_selection_marks` alone, wall clock, median over the pages.

``--lines truth`` gives the function the true lines (DOM boxes and words, no OCR);
``--lines ocr`` the lines :meth:`RapidOcrEngine.analyse` read, and its page angle. Each page
is read **once** (about 3 s) and its lines cached in ``CACHE/ocr-DEGRADE``, so the mark code
can be changed and measured again in seconds. Pages are generated (seeded) into
``CACHE/pages-DEGRADE`` when missing.

    .venv/bin/python benchmarks/selection_marks.py --cache /tmp/marks --degrade clean \\
        --seeds 1000-1019 --other-seeds 1000-1003 --lines truth [--jobs 1] [--show 5]

Tuning used seeds 0-19 (all six rows 1.000 / 1.000 / 1.000, no false marks but one on a
photographed table page); the figures below are for seeds 1000-1019 (20 form pages, 200 true
boxes, 72 ticked) and, for false marks, seeds 1000-1003 of the nine other kinds (36 pages).
ms/page is wall clock on a 2-core machine shared with other work (load about 3), so it is
high by up to half; the pages are 1300-2600 px wide:

    degrade lines   P      R      state  false/page  ms/page
    clean   truth   1.000  1.000  1.000  0.00        30
    clean   ocr     1.000  1.000  1.000  0.00        24
    scan    truth   1.000  1.000  1.000  0.00        42
    scan    ocr     1.000  0.995  1.000  0.00        44
    photo   truth   1.000  1.000  0.995  0.03        79 (a noisy run; 39 on seeds 0-19)
    photo   ocr     1.000  1.000  1.000  0.00        31

The one box missed (scan, ocr) is one the engine read into one word with the labels on both
sides ("YesNo"): such a mark is kept only with white as wide as a space on both sides, and
on that scan there is less (not looked into further: held-out seed); the one state wrong
(photo, truth) and the false mark (a photographed ruled table) are single cases.

The generator draws one style only: a CSS square (1-1.6 px border, corners square or 2 px
round) about 0.95 em, ticked with an SVG check or an inner filled square; no circles, crosses,
glyph boxes (☐ ☑) or hand ticks, so those are covered by the unit tests alone.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._support import generate_pages  # noqa: E402
from emulator.engine.base import TextLine, TextWord  # noqa: E402
from emulator.structure.marks import SelectionMark, find_selection_marks  # noqa: E402

OTHER_KINDS = (
    "columns",
    "paper",
    "table_ruled",
    "table_unruled",
    "invoice",
    "letter",
    "lists",
    "figures",
    "sidebar",
)
# A found mark and a true box are the same when their boxes overlap at least this much.
MATCH_IOU = 0.3

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Page:
    kind: str
    name: str
    truth: Path
    image: Path


def _seeds(text: str) -> range:
    a, _, b = text.partition("-")
    return range(int(a), int(b or a) + 1)


def _generate(pages_dir: Path, kinds: list[str], seeds: range, degrade: str) -> None:
    """Render the pages with ``training.layouts`` (existing ones are kept)."""
    generate_pages(pages_dir, kinds, len(seeds), seeds.start, degrade)


def _pages(pages_dir: Path, kinds: list[str], seeds: range) -> list[Page]:
    out = []
    for kind in kinds:
        for seed in seeds:
            truth = pages_dir / kind / f"{kind}-{seed}.json"
            data = json.loads(truth.read_text(encoding="utf-8"))
            out.append(Page(kind, truth.stem, truth, truth.parent / data["image"]))
    return out


def _flat(points: Any) -> tuple[float, float, float, float, float, float, float, float]:
    """A truth polygon as the engine's quad. A curled (photographed) page's polygons run
    along the top and back along the bottom: their ends and the turn make the quad."""
    n = len(points)
    corners = [points[0], points[n // 2 - 1], points[n // 2], points[n - 1]]
    p = [float(v) for pt in corners for v in pt]
    return (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7])


def _truth_lines(data: dict[str, Any]) -> tuple[list[TextLine], float]:
    """The page's true lines as the engine would give them, and their median angle."""
    lines = []
    angles = []
    for line in data["lines"]:
        words = tuple(TextWord(str(w["text"]), _flat(w["polygon"]), 1.0) for w in line["words"])
        lines.append(TextLine(str(line["text"]), _flat(line["polygon"]), words))
        poly = line["polygon"]
        (x0, y0), (x1, y1) = poly[0], poly[len(poly) // 2 - 1]
        angles.append(math.degrees(math.atan2(y1 - y0, x1 - x0)))
    return lines, statistics.median(angles) if angles else 0.0


_ENGINE: Any = None


def _ocr_one(args: tuple[Path, Path]) -> None:
    """Read one page with the engine (one thread) and cache its lines and angle."""
    global _ENGINE
    from PIL import Image

    source, target = args
    if _ENGINE is None:
        from emulator.engine.rapid import RapidOcrEngine

        _ENGINE = RapidOcrEngine(1)
    with Image.open(source) as image:
        analysis = _ENGINE.analyse(image.convert("RGB"))
    payload = {"lines": analysis.lines, "angle": analysis.orientation.angle}
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(payload))
    tmp.replace(target)


def _ocr(pages: list[Page], cache: Path, jobs: int) -> None:
    todo = []
    for page in pages:
        target = cache / page.kind / f"{page.name}.pkl"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            todo.append((page.image, target))
    if not todo:
        return
    print(f"reading {len(todo)} pages with the engine...", file=sys.stderr)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(_ocr_one, todo))


def _box(points: Any) -> Box:
    a = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return float(a[:, 0].min()), float(a[:, 1].min()), float(a[:, 0].max()), float(a[:, 1].max())


def _iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _match(found: list[SelectionMark], truth: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Pairs (found, truth), greedily by best overlap, each side used once."""
    pairs = []
    for i, mark in enumerate(found):
        for j, box in enumerate(truth):
            iou = _iou(_box(mark.polygon), _box(box["polygon"]))
            if iou >= MATCH_IOU:
                pairs.append((iou, i, j))
    used_f: set[int] = set()
    used_t: set[int] = set()
    out = []
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
            out.append((i, j))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/marks"))
    parser.add_argument("--degrade", choices=("clean", "scan", "photo"), default="clean")
    parser.add_argument("--seeds", default="1000-1019", help="form pages, e.g. 0-19")
    parser.add_argument("--other-seeds", default="1000-1003", help="pages of the other kinds")
    parser.add_argument("--kinds", nargs="*", default=list(OTHER_KINDS), help="other kinds")
    parser.add_argument("--lines", choices=("truth", "ocr"), default="truth")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--show", type=int, default=0, help="list up to N pages with errors")
    args = parser.parse_args()

    pages_dir = args.cache / f"pages-{args.degrade}"
    seeds, other_seeds = _seeds(args.seeds), _seeds(args.other_seeds)
    for kinds, rng in ((["form"], seeds), (args.kinds, other_seeds)):
        if kinds and any(
            not (pages_dir / k / f"{k}-{s}.json").exists() for k in kinds for s in rng
        ):
            _generate(pages_dir, kinds, rng, args.degrade)
    pages = _pages(pages_dir, ["form"], seeds) + _pages(pages_dir, args.kinds, other_seeds)
    ocr_dir = args.cache / f"ocr-{args.degrade}"
    if args.lines == "ocr":
        _ocr(pages, ocr_dir, args.jobs)

    tp = n_found = n_truth = state_right = 0
    false_other = 0
    n_other = 0
    times = []
    shown = 0
    for page in pages:
        data = json.loads(page.truth.read_text(encoding="utf-8"))
        bgr = cv2.imread(str(page.image), cv2.IMREAD_COLOR)
        if args.lines == "truth":
            lines, angle = _truth_lines(data)
        else:
            cached = pickle.loads((ocr_dir / page.kind / f"{page.name}.pkl").read_bytes())
            lines, angle = list(cached["lines"]), float(cached["angle"])
        start = time.perf_counter()
        found = find_selection_marks(bgr, lines, angle)
        times.append((time.perf_counter() - start) * 1000)
        if page.kind != "form":
            n_other += 1
            false_other += len(found)
            if found and shown < args.show:
                shown += 1
                print(f"  {page.name}: {len(found)} false", [_box(m.polygon) for m in found])
            continue
        truth = data["checkboxes"]
        pairs = _match(found, truth)
        right = sum(found[i].selected == truth[j]["selected"] for i, j in pairs)
        tp += len(pairs)
        n_found += len(found)
        n_truth += len(truth)
        state_right += right
        if (len(pairs) < max(len(found), len(truth)) or right < len(pairs)) and shown < args.show:
            shown += 1
            missed = [
                _box(t["polygon"]) for j, t in enumerate(truth) if j not in {b for _, b in pairs}
            ]
            extra = [_box(m.polygon) for i, m in enumerate(found) if i not in {a for a, _ in pairs}]
            print(
                f"  {page.name}: found {len(found)} truth {len(truth)} matched {len(pairs)} "
                f"state right {right}; missed {missed}; extra {extra}"
            )

    precision = tp / n_found if n_found else 1.0
    recall = tp / n_truth if n_truth else 1.0
    state = state_right / tp if tp else 1.0
    print("degrade lines   P      R      state  false/page  ms/page  (form pages, boxes, others)")
    print(
        f"{args.degrade:7} {args.lines:7} {precision:.3f}  {recall:.3f}  {state:.3f}  "
        f"{false_other / max(n_other, 1):<10.2f}  {statistics.median(times):<7.1f}  "
        f"({len(seeds)}, {n_truth}, {n_other})"
    )


if __name__ == "__main__":
    main()
