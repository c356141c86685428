"""Reading order measured on generated pages (``training/layouts``) and on ``../shared/eval``.

Generated pages carry their truth from the DOM that drew them: every line's text, polygon,
words, block, role and the block's place in the reading order (``order: null`` for a block
whose place is a matter of taste, such as a pull quote or a side column; a ``group`` for
side-by-side blocks that may be read block by block or across). Each page is read **once**
by the engine (:meth:`RapidOcrEngine.analyse`: lines, orientation, separators, figures) and
cached, so the order code can be changed and measured again in seconds. What is drawn on a
page (separators and figures) is cached apart, labelled with a digest of the code that finds it,
and found again (a minute for a few hundred pages) when that code changes.

Per layout kind and pooled, for ``readingOrder=natural`` (and ``basic``):

* **right %**: the share of pages whose order is fully right. Each word the engine read is
  matched to the true line under its centre; the page is right when every true block's lines
  come together and in their order, and the blocks come in the true order (floating blocks
  anywhere, but whole; a group's blocks together, each in its own order).
* **CER / WER** (jiwer, pooled, whitespace normalised) of the page text against the true text
  in reading order; a floating block or a group is put where the engine read it, so only
  order that a person would call wrong costs.
* the same for Tesseract (``tesseract IMG - tsv``, ``-l eng``, one thread), its words and
  lines in its own order, with ``--tesseract``.

``--lines truth`` orders the true lines themselves (their DOM boxes and words, no OCR): order
alone, thousands of pages a minute, with nothing the detector merged or missed.

    .venv/bin/python benchmarks/order.py generated --pages 40 --cache /tmp/order \\
        [--kinds columns paper ...] [--degrade mixed] [--jobs 2] [--tesseract] [--lines ocr]
    .venv/bin/python benchmarks/order.py eval --cache /tmp/order-eval [--jobs 2]

Pages are generated with ``python -m training.layouts`` into ``CACHE/pages`` (seeded: the same
``--seed`` gives the same pages); OCR goes to ``CACHE/ocr``, Tesseract's words to
``CACHE/tesseract``. ``--show-wrong N`` lists up to N pages per kind whose order is wrong, with
the first place it goes wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import inspect
import itertools
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
import types
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import jiwer
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._support import generate_pages  # noqa: E402
from benchmarks.accuracy import normalise  # noqa: E402
from emulator.documents import formats as documents  # noqa: E402
from emulator.engine import figures as figures_module  # noqa: E402
from emulator.engine import reading_order as rapid  # noqa: E402
from emulator.engine import separators as separators_module  # noqa: E402
from emulator.engine.base import TextLine, TextWord  # noqa: E402
from emulator.engine.figures import find_figures  # noqa: E402
from emulator.engine.orientation import Orientation  # noqa: E402
from emulator.engine.rapid import PageAnalysis  # noqa: E402
from emulator.engine.separators import find_separators  # noqa: E402

DEFAULT_EVAL = ROOT.parent / "shared" / "eval"

Point = tuple[float, float]


# -- truth --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TruthLine:
    text: str
    block: int
    index: int
    polygon: np.ndarray  # (N, 2) float32, image pixels
    bbox: tuple[float, float, float, float]
    height: float
    words: tuple[tuple[str, np.ndarray], ...]


@dataclass(frozen=True)
class Block:
    id: int
    role: str
    order: int | None
    group: int | None


@dataclass
class Truth:
    """A generated page's truth (``training/layouts``' JSON), scaled to the image read."""

    kind: str
    name: str
    blocks: dict[int, Block]
    lines: list[TruthLine]
    size: tuple[int, int]

    @staticmethod
    def load(path: Path, scale: float = 1.0) -> Truth:
        data = json.loads(path.read_text(encoding="utf-8"))
        blocks = {
            int(b["id"]): Block(int(b["id"]), str(b["role"]), b.get("order"), b.get("group"))
            for b in data["blocks"]
        }
        lines = []
        for line in data["lines"]:
            poly = np.asarray(line["polygon"], dtype=np.float32) * scale
            x0, y0 = poly.min(axis=0)
            x1, y1 = poly.max(axis=0)
            words = tuple(
                (str(w["text"]), np.asarray(w["polygon"], dtype=np.float32) * scale)
                for w in line["words"]
            )
            lines.append(
                TruthLine(
                    text=str(line["text"]),
                    block=int(line["block"]),
                    index=int(line["index"]),
                    polygon=poly,
                    bbox=(float(x0), float(y0), float(x1), float(y1)),
                    height=_poly_height(poly),
                    words=words,
                )
            )
        size = (round(data["size"][0] * scale), round(data["size"][1] * scale))
        return Truth(str(data["kind"]), path.stem, blocks, lines, size)

    def unit(self, block: int) -> tuple[str, int]:
        """What must be read together: a group of blocks, or one block."""
        b = self.blocks[block]
        return ("group", b.group) if b.group is not None else ("block", block)

    def unit_order(self, unit: tuple[str, int]) -> float | None:
        """A unit's place in the order; ``None`` when it floats."""
        if unit[0] == "block":
            order = self.blocks[unit[1]].order
            return None if order is None else float(order)
        orders = [b.order for b in self.blocks.values() if b.group == unit[1]]
        known = [o for o in orders if o is not None]
        return float(min(known)) if known else None

    def canonical(self) -> list[int]:
        """Line indices in the true reading order, floating blocks last."""
        return sorted(
            range(len(self.lines)),
            key=lambda i: (
                self.blocks[self.lines[i].block].order is None,
                self.blocks[self.lines[i].block].order or 0,
                self.lines[i].block,
                self.lines[i].index,
            ),
        )


def _poly_height(poly: np.ndarray) -> float:
    if len(poly) == 4:
        return float((np.linalg.norm(poly[3] - poly[0]) + np.linalg.norm(poly[2] - poly[1])) / 2)
    half = len(poly) // 2
    top, bottom = poly[:half], poly[half:][::-1]
    return float(np.median(np.linalg.norm(bottom - top, axis=1)))


# -- matching and judging ---------------------------------------------------------------------


def _centre(polygon: Sequence[float]) -> Point:
    xs, ys = polygon[0::2], polygon[1::2]
    return (sum(xs) / len(xs), sum(ys) / len(ys))


def word_sequence(lines: Sequence[TextLine], truth: Truth) -> list[int]:
    """The true line under each word the engine read, in the engine's order (-1: none)."""
    boxes = np.array([tl.bbox for tl in truth.lines], dtype=np.float64).reshape(-1, 4)
    out = []
    for line in lines:
        for word in line.words or (TextWord(line.text, line.polygon, 1.0),):
            x, y = _centre(word.polygon)
            out.append(_line_at(x, y, boxes, truth))
    return out


def _line_at(x: float, y: float, boxes: np.ndarray, truth: Truth) -> int:
    if len(boxes) == 0:
        return -1
    slack = 0.5 * np.array([tl.height for tl in truth.lines])
    near = np.nonzero(
        (boxes[:, 0] - slack <= x)
        & (x <= boxes[:, 2] + slack)
        & (boxes[:, 1] - slack <= y)
        & (y <= boxes[:, 3] + slack)
    )[0]
    best, best_dist = -1, -np.inf
    for i in near:
        # Signed distance: positive inside, negative outside.
        d = cv2.pointPolygonTest(truth.lines[i].polygon.reshape(-1, 1, 2), (x, y), True)
        if d >= 0:
            d = 1e6 + d  # inside wins over any nearby line
        if d > best_dist:
            best, best_dist = int(i), d
    if best >= 0 and best_dist < 1e6 and -best_dist > 0.5 * truth.lines[best].height:
        return -1
    return best


@dataclass
class Verdict:
    right: bool
    why: str = ""


def judge(seq: Sequence[int], truth: Truth) -> Verdict:
    """Whether the engine's order of the true lines ``seq`` (one entry per word) is right."""
    runs = _runs([i for i in seq if i >= 0])
    seen: set[int] = set()
    for i in runs:
        if i in seen:
            return Verdict(False, f"line split apart: {truth.lines[i].text[:40]!r}")
        seen.add(i)
    # Units together.
    units = _runs([truth.unit(truth.lines[i].block) for i in runs])
    if len(set(units)) != len(units):
        unit = next(u for u in units if units.count(u) > 1)
        first = next(i for i in runs if truth.unit(truth.lines[i].block) == unit)
        return Verdict(False, f"block broken up: {truth.lines[first].text[:40]!r}")
    # Lines of each block in order, and a single block's lines together.
    last_index: dict[int, int] = {}
    for i in runs:
        line = truth.lines[i]
        if last_index.get(line.block, -1) > line.index:
            return Verdict(False, f"lines of a block out of order at {line.text[:40]!r}")
        last_index[line.block] = line.index
    blocks = _runs([truth.lines[i].block for i in runs])
    for block in set(blocks):
        if truth.unit(block)[0] == "block" and blocks.count(block) > 1:
            first = next(i for i in runs if truth.lines[i].block == block)
            return Verdict(False, f"block broken up: {truth.lines[first].text[:40]!r}")
    # Units in order.
    placed = [(u, truth.unit_order(u)) for u in units]
    ordered = [(u, o) for u, o in placed if o is not None]
    for (u0, o0), (u1, o1) in itertools.pairwise(ordered):
        if o1 < o0:
            a = _first_text(truth, runs, u0)
            b = _first_text(truth, runs, u1)
            return Verdict(False, f"{b!r} read after {a!r}")
    return Verdict(True)


def _first_text(truth: Truth, runs: list[int], unit: tuple[str, int]) -> str:
    return next(truth.lines[i].text[:40] for i in runs if truth.unit(truth.lines[i].block) == unit)


def _runs(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not out or out[-1] != v:
            out.append(v)
    return out


def reference_text(seq: Sequence[int], truth: Truth) -> str:
    """The true text in reading order, with floating blocks and groups where the engine read
    them (so a free choice costs nothing) and everything else in the true order."""
    runs = _runs([i for i in seq if i >= 0])
    first_seen: list[int] = []
    for i in runs:
        if i not in first_seen:
            first_seen.append(i)
    pred_units = _runs([truth.unit(truth.lines[i].block) for i in first_seen])
    units_once: list[tuple[str, int]] = []
    for u in pred_units:
        if u not in units_once:
            units_once.append(u)
    all_units: list[tuple[str, int]] = []
    for i in truth.canonical():
        u = truth.unit(truth.lines[i].block)
        if u not in all_units:
            all_units.append(u)
    fixed = sorted(
        (u for u in all_units if truth.unit_order(u) is not None),
        key=lambda u: truth.unit_order(u) or 0.0,
    )
    # Floating units go after the fixed unit the engine read before them.
    out_units: list[tuple[str, int]] = []
    floating_after: dict[tuple[str, int] | None, list[tuple[str, int]]] = defaultdict(list)
    previous: tuple[str, int] | None = None
    for u in units_once:
        if truth.unit_order(u) is None:
            floating_after[previous].append(u)
        else:
            previous = u
    unread = [u for u in all_units if truth.unit_order(u) is None and u not in units_once]
    out_units.extend(floating_after[None])
    for u in fixed:
        out_units.append(u)
        out_units.extend(floating_after[u])
    out_units.extend(unread)
    texts = []
    for u in out_units:
        members = [i for i in truth.canonical() if truth.unit(truth.lines[i].block) == u]
        if u[0] == "group":
            # As the engine read the group when it kept each block's own order.
            read = [i for i in first_seen if i in set(members)]
            if _each_block_in_order(read, truth):
                members = read + [i for i in members if i not in set(read)]
        texts.extend(truth.lines[i].text for i in members)
    return "\n".join(texts)


def _each_block_in_order(lines: list[int], truth: Truth) -> bool:
    last: dict[int, int] = {}
    for i in lines:
        line = truth.lines[i]
        if last.get(line.block, -1) > line.index:
            return False
        last[line.block] = line.index
    return True


# -- reading pages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PageFiles:
    kind: str
    name: str
    truth: Path
    image: Path
    pdf: Path | None

    def document(self, prefer_pdf: bool) -> Path:
        return self.pdf if prefer_pdf and self.pdf is not None else self.image


def _ocr_path(cache: Path, page: PageFiles, prefer_pdf: bool) -> Path:
    """Where the engine's analysis of ``page`` is cached."""
    suffix = "pdf" if prefer_pdf and page.pdf else "img"
    return cache / "ocr" / page.kind / f"{page.name}.{suffix}.pkl"


def generated_pages(pages_dir: Path, kinds: Sequence[str] | None) -> list[PageFiles]:
    found = []
    for truth in sorted(pages_dir.glob("*/*.json")):
        kind = truth.parent.name
        if kinds and kind not in kinds:
            continue
        data = json.loads(truth.read_text(encoding="utf-8"))
        pdf = truth.parent / data["pdf"] if data.get("pdf") else None
        found.append(PageFiles(kind, truth.stem, truth, truth.parent / data["image"], pdf))
    return found


def _page_image(path: Path) -> Any:
    data = path.read_bytes()
    limits = documents.Limits()
    info = documents.inspect(data, limits)
    [page] = list(documents.iter_pages(data, info, [1], dpi=documents.PDF_DPI))
    return page.image


_ENGINE: Any = None


def _engine() -> Any:
    """This process's engine (one intra-op thread, as a worker runs it), made on first use."""
    global _ENGINE
    if _ENGINE is None:
        from emulator.engine.rapid import RapidOcrEngine

        _ENGINE = RapidOcrEngine(1)
    return _ENGINE


def _ocr_one(args: tuple[Path, Path]) -> float:
    """Read one page with the engine and cache its analysis; returns CPU seconds."""
    source, target = args
    start = time.process_time()
    image = _page_image(source)
    payload = {"analysis": _engine().analyse(image), "width": image.width}
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(payload))
    tmp.replace(target)
    return time.process_time() - start


def _tesseract_one(args: tuple[Path, Path]) -> float:
    source, target = args
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    image = _page_image(source)
    png = target.with_suffix(".png")
    image.save(png)
    before = os.times()
    out = subprocess.run(
        ["tesseract", str(png), "-", "-l", "eng", "tsv"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    after = os.times()
    png.unlink()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    target.write_text(
        json.dumps({"tsv": out.stdout, "width": image.width, "cpu": cpu}), encoding="utf-8"
    )
    return cpu


def _run_all(func: Any, jobs: list[tuple[Path, Path]], workers: int, label: str) -> None:
    if not jobs:
        return
    print(f"{label}: {len(jobs)} pages with {workers} processes", file=sys.stderr)
    start = time.perf_counter()
    done = 0
    cpu = 0.0
    if workers <= 1:
        for job in jobs:
            cpu += func(job)
            done += 1
    else:
        with ProcessPoolExecutor(workers) as pool:
            for seconds in pool.map(func, jobs, chunksize=1):
                cpu += seconds
                done += 1
                if done % 20 == 0:
                    rate = done / (time.perf_counter() - start) * 60
                    print(f"  {done}/{len(jobs)} ({rate:.0f} pages/min)", file=sys.stderr)
    print(
        f"  done in {time.perf_counter() - start:.0f} s, {1000 * cpu / len(jobs):.0f} CPU ms a job",
        file=sys.stderr,
    )


def tesseract_lines(tsv: str, scale: float) -> list[TextLine]:
    """Tesseract's words, grouped into its lines, in its own order."""
    lines: dict[tuple[int, int, int, int], list[TextWord]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        page, block, par, line = (int(c) for c in cols[1:5])
        x, y, w, h = (float(c) * scale for c in cols[6:10])
        poly = (x, y, x + w, y, x + w, y + h, x, y + h)
        lines.setdefault((page, block, par, line), []).append(TextWord(cols[11], poly, 1.0))
    out = []
    for words in lines.values():
        xs = [v for w in words for v in w.polygon[0::2]]
        ys = [v for w in words for v in w.polygon[1::2]]
        poly = (min(xs), min(ys), max(xs), min(ys), max(xs), max(ys), min(xs), max(ys))
        out.append(TextLine(" ".join(w.text for w in words), poly, tuple(words)))
    return out


def truth_analysis(truth: Truth, image: Path | None) -> PageAnalysis:
    """The true lines as if the engine had read them perfectly (for ``--lines truth``)."""
    lines = []
    for tl in truth.lines:
        words = tuple(TextWord(text, _quad(poly), 1.0) for text, poly in tl.words)
        if not words:
            continue
        lines.append(TextLine(tl.text, _quad(tl.polygon), words))
    # The text's angle as the engine measures it: the lines' mean direction, by length.
    vectors = np.array([[q[2] - q[0], q[3] - q[1]] for q in (ln.polygon for ln in lines)])
    angle = 0.0
    if len(vectors):
        angle = float(np.degrees(np.arctan2(*vectors.sum(axis=0)[::-1])))
    analysis = PageAnalysis(Orientation(angle), tuple(lines), ())
    if image is not None:
        bgr = cv2.imread(str(image))
        if bgr is not None:
            analysis = with_drawings(analysis, bgr)
    return analysis


def with_drawings(analysis: PageAnalysis, bgr: np.ndarray) -> PageAnalysis:
    """``analysis`` with the separators and figures found again on ``bgr`` (the page image
    it was read from), as :meth:`RapidOcrEngine.analyse` finds them."""
    angle = analysis.orientation.angle
    separators = tuple(find_separators(bgr, angle))
    figures = tuple(find_figures(bgr, [line.polygon for line in analysis.lines], angle))
    return dataclasses.replace(analysis, separators=separators, figures=figures)


def _drawings_version() -> str:
    """A digest of the code that finds what is drawn on a page: cached drawings are found
    again when it changes, while the (slow) OCR stays cached. Taken once, when this module
    is loaded with the code it runs (an edit during a run must not label old results new)."""
    digest = hashlib.sha256()
    for module in (separators_module, figures_module):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:12]


DRAWINGS_VERSION = _drawings_version()


def _drawn_one(args: tuple[Path, Path, Path]) -> float:
    """Find the drawings of one cached page (or document) again; returns the CPU seconds
    spent finding them (separators and figures, not decoding the page)."""
    source, analysed, target = args
    spent = 0.0
    payload = pickle.loads(analysed.read_bytes())
    analyses = payload if isinstance(payload, list) else [payload["analysis"]]
    data = source.read_bytes()
    limits = documents.Limits()
    info = documents.inspect(data, limits)
    numbers = documents.select_pages(None, info.page_count, limits)
    drawn = []
    for analysis, page in zip(
        analyses, documents.iter_pages(data, info, numbers, dpi=documents.PDF_DPI), strict=False
    ):
        bgr = np.ascontiguousarray(np.asarray(page.image.convert("RGB"))[:, :, ::-1])
        start = time.process_time()
        found = with_drawings(analysis, bgr)
        spent += time.process_time() - start
        drawn.append((found.separators, found.figures))
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(drawn))
    tmp.replace(target)
    return spent


def _drawn_path(analysed: Path) -> Path:
    return analysed.parent / f"{analysed.name}.drawn-{DRAWINGS_VERSION}"


def _find_drawings(jobs: list[tuple[Path, Path]], workers: int) -> None:
    """Find the drawings of each ``(source, cached analysis)`` whose drawings are stale."""
    todo = [(src, pkl, _drawn_path(pkl)) for src, pkl in jobs if not _drawn_path(pkl).exists()]
    for _, pkl, _ in todo:
        for old in pkl.parent.glob(f"{pkl.name}.drawn-*"):
            old.unlink()
    _run_all(_drawn_one, todo, workers, "drawings")


def _drawn(analyses: list[PageAnalysis], analysed: Path) -> list[PageAnalysis]:
    drawn = pickle.loads(_drawn_path(analysed).read_bytes())
    return [
        PageAnalysis(a.orientation, a.lines, separators, figures)
        for a, (separators, figures) in zip(analyses, drawn, strict=True)
    ]


def _quad(poly: np.ndarray) -> tuple[float, float, float, float, float, float, float, float]:
    if len(poly) != 4:
        half = len(poly) // 2
        poly = np.array([poly[0], poly[half - 1], poly[half], poly[-1]])
    flat = [float(v) for v in poly.reshape(-1)]
    return (flat[0], flat[1], flat[2], flat[3], flat[4], flat[5], flat[6], flat[7])


# -- scoring ----------------------------------------------------------------------------------


@dataclass
class Tally:
    refs: list[str] = field(default_factory=list)
    hyps: list[str] = field(default_factory=list)
    right: int = 0
    pages: int = 0
    wrong: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, ref: str, hyp: str, verdict: Verdict | None) -> None:
        self.refs.append(normalise(ref))
        self.hyps.append(normalise(hyp))
        self.pages += 1
        if verdict is not None:
            self.right += verdict.right
            if not verdict.right:
                self.wrong.append((name, verdict.why))

    def merge(self, other: Tally) -> None:
        self.refs += other.refs
        self.hyps += other.hyps
        self.right += other.right
        self.pages += other.pages
        self.wrong += other.wrong

    def cells(self, with_right: bool = True) -> list[str]:
        if not self.pages:
            return ["-"] * (3 if with_right else 2)
        cer = 100 * float(jiwer.cer(self.refs, self.hyps))
        wer = 100 * float(jiwer.wer(self.refs, self.hyps))
        out = [f"{100 * self.right / self.pages:.1f}"] if with_right else []
        return [*out, f"{cer:.2f}", f"{wer:.2f}"]


def score_page(lines: Sequence[TextLine], truth: Truth) -> tuple[str, str, Verdict]:
    seq = word_sequence(lines, truth)
    hyp = "\n".join(line.text for line in lines)
    return reference_text(seq, truth), hyp, judge(seq, truth)


def run_generated(args: argparse.Namespace) -> int:
    cache: Path = args.cache
    pages_dir = cache / "pages"
    kinds = args.kinds
    if not args.no_generate:
        generate_pages(
            pages_dir,
            kinds or ["all"],
            args.pages,
            args.seed,
            args.degrade,
            jobs=args.jobs,
            pdf=True,
        )
    pages = generated_pages(pages_dir, kinds)
    pages = [p for p in pages if _seed_of(p.name) < args.seed + args.pages]
    if not pages:
        print("no pages", file=sys.stderr)
        return 1
    prefer_pdf = not args.images
    if args.lines == "ocr":
        jobs = []
        for p in pages:
            target = _ocr_path(cache, p, prefer_pdf)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                jobs.append((p.document(prefer_pdf), target))
        _run_all(_ocr_one, jobs, args.jobs, "engine")
        _find_drawings(
            [(p.document(prefer_pdf), _ocr_path(cache, p, prefer_pdf)) for p in pages], args.jobs
        )
    if args.tesseract:
        if not shutil.which("tesseract"):
            print("tesseract not found (apt-get install tesseract-ocr)", file=sys.stderr)
            return 1
        jobs = []
        for p in pages:
            target = (
                cache
                / "tesseract"
                / p.kind
                / f"{p.name}.{'pdf' if prefer_pdf and p.pdf else 'img'}.json"
            )
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                jobs.append((p.document(prefer_pdf), target))
        _run_all(_tesseract_one, jobs, args.jobs, "tesseract")

    earlier = _layout_at(args.layout_from) if args.layout_from else None
    changed: dict[str, int] = defaultdict(int)
    systems = ["natural", "basic"] + (["tesseract"] if args.tesseract else [])
    systems += ["earlier"] if earlier is not None else []
    per_kind: dict[str, dict[str, Tally]] = defaultdict(lambda: {s: Tally() for s in systems})
    order_seconds = 0.0
    for p in pages:
        suffix = "pdf" if prefer_pdf and p.pdf else "img"
        truth_scale = 1.0
        if args.lines == "ocr":
            analysed = _ocr_path(cache, p, prefer_pdf)
            payload = pickle.loads(analysed.read_bytes())
            [analysis] = _drawn([payload["analysis"]], analysed)
            raw = json.loads(p.truth.read_text(encoding="utf-8"))
            truth_scale = payload["width"] / raw["size"][0]
        truth = Truth.load(p.truth, truth_scale)
        if args.lines == "truth":
            analysis = truth_analysis(truth, p.image)
        tallies = per_kind[p.kind]
        start = time.perf_counter()
        natural = analysis.page("natural")
        order_seconds += time.perf_counter() - start
        for system, page in (("natural", natural), ("basic", analysis.page("basic"))):
            ref, hyp, verdict = score_page(page.lines, truth)
            tallies[system].add(p.name, ref, hyp, verdict)
        if earlier is not None:
            with _layout_swapped(earlier):
                before = analysis.page("natural")
            ref, hyp, verdict = score_page(before.lines, truth)
            tallies["earlier"].add(p.name, ref, hyp, verdict)
            changed[p.kind] += [line.text for line in before.lines] != [
                line.text for line in natural.lines
            ]
        if args.tesseract:
            data = json.loads(
                (cache / "tesseract" / p.kind / f"{p.name}.{suffix}.json").read_text("utf-8")
            )
            scale_t = truth.size[0] / data["width"]
            t_lines = tesseract_lines(data["tsv"], scale_t)
            ref, hyp, verdict = score_page(t_lines, truth)
            tallies["tesseract"].add(p.name, ref, hyp, verdict)

    print(_table(per_kind, systems))
    if earlier is not None:
        share = ", ".join(
            f"{kind} {100 * changed[kind] / per_kind[kind]['natural'].pages:.0f} %"
            for kind in sorted(per_kind)
        )
        total = sum(changed.values())
        print(
            f"\nnatural order differs from {args.layout_from}'s layout.py on {total} of "
            f"{len(pages)} pages ({100 * total / len(pages):.1f} %): {share}"
        )
    print(
        f"\n{len(pages)} pages, lines from {args.lines}; natural order took "
        f"{1000 * order_seconds / len(pages):.1f} ms a page"
    )
    if args.show_wrong:
        for kind, tallies in sorted(per_kind.items()):
            for name, why in tallies["natural"].wrong[: args.show_wrong]:
                print(f"  {kind} {name}: {why}")
    if args.json:
        payload_out = {
            kind: {
                s: {"right": t.right, "pages": t.pages, "cells": t.cells()} for s, t in v.items()
            }
            for kind, v in per_kind.items()
        }
        args.json.write_text(json.dumps(payload_out, indent=1), encoding="utf-8")
    return 0


def _layout_at(revision: str) -> types.ModuleType:
    """``emulator/engine/layout.py`` as it was at git ``revision`` (the module is pure: boxes
    in, orders out), to measure what a change to it changes."""
    source = subprocess.run(
        ["git", "show", f"{revision}:emulator/engine/layout.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType(f"layout_at_{revision}")
    module.__dict__["__name__"] = module.__name__
    sys.modules[module.__name__] = module
    exec(compile(source, f"layout.py@{revision}", "exec"), module.__dict__)
    known = inspect.signature(module.natural_order).parameters
    if "texts" not in known:
        # A layout from before figures, vertical rules or the lines' words were passed: it
        # orders with what it knows of.
        ordered = module.natural_order

        def natural_order(
            boxes: Any, rules: Any = (), figures: Any = (), uprights: Any = (), texts: Any = ()
        ) -> list[int]:
            given = {"figures": figures, "uprights": uprights}
            return ordered(  # type: ignore[no-any-return]
                boxes, rules, *(v for k, v in given.items() if k in known)
            )

        module.__dict__["natural_order"] = natural_order
    return module


@contextlib.contextmanager
def _layout_swapped(module: types.ModuleType) -> Iterator[None]:
    current = rapid.layout
    rapid.layout = module
    try:
        yield
    finally:
        rapid.layout = current


def _seed_of(name: str) -> int:
    try:
        return int(name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def _table(per_kind: dict[str, dict[str, Tally]], systems: list[str]) -> str:
    head = ["kind", "pages"]
    for s in systems:
        head += [f"{s} right %", "CER %", "WER %"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    pooled = {s: Tally() for s in systems}
    for kind in sorted(per_kind):
        tallies = per_kind[kind]
        cells = [kind, str(tallies[systems[0]].pages)]
        for s in systems:
            cells += tallies[s].cells()
            pooled[s].merge(tallies[s])
        rows.append("| " + " | ".join(cells) + " |")
    cells = ["**pooled**", str(pooled[systems[0]].pages)]
    for s in systems:
        cells += [f"**{c}**" for c in pooled[s].cells()]
    rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


# -- ../shared/eval ---------------------------------------------------------------------------


def _eval_one(args: tuple[Path, Path]) -> float:
    """Read every page of one document and cache the analyses."""
    source, target = args
    engine = _engine()
    start = time.process_time()
    data = source.read_bytes()
    limits = documents.Limits()
    info = documents.inspect(data, limits)
    pages = documents.select_pages(None, info.page_count, limits)
    analyses = [
        engine.analyse(page.image)
        for page in documents.iter_pages(data, info, pages, dpi=documents.PDF_DPI)
    ]
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(analyses))
    tmp.replace(target)
    return time.process_time() - start


def run_eval(args: argparse.Namespace) -> int:
    corpus: Path = args.corpus
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    cache = args.cache / "eval"
    cache.mkdir(parents=True, exist_ok=True)
    jobs = []
    for doc in manifest:
        target = cache / f"{doc['name']}.pkl"
        if not target.exists():
            jobs.append((corpus / doc["file"], target))
    _run_all(_eval_one, jobs, args.jobs, "engine")
    _find_drawings(
        [(corpus / doc["file"], cache / f"{doc['name']}.pkl") for doc in manifest], args.jobs
    )
    earlier = json.loads(args.compare.read_text("utf-8")) if args.compare else {}
    refs, hyps = [], []
    rows = ["| document | CER % | WER % |", "|---|---|---|"]
    figures: dict[str, float] = {}
    worse = []
    for doc in manifest:
        analysed = cache / f"{doc['name']}.pkl"
        analyses = _drawn(pickle.loads(analysed.read_bytes()), analysed)
        hyp = "\n".join("\n".join(line.text for line in a.page("natural").lines) for a in analyses)
        ref = (corpus / doc["truth"]).read_text(encoding="utf-8")
        ref, hyp = normalise(ref), normalise(hyp)
        refs.append(ref)
        hyps.append(hyp)
        cer = float(jiwer.cer(ref, hyp))
        figures[doc["name"]] = cer
        rows.append(f"| {doc['name']} | {100 * cer:.1f} | {100 * float(jiwer.wer(ref, hyp)):.1f} |")
        if doc["name"] in earlier and cer > earlier[doc["name"]] + 0.005:
            worse.append(f"{doc['name']}: {100 * earlier[doc['name']]:.1f} -> {100 * cer:.1f}")
    rows.append(
        f"| **pooled** | **{100 * float(jiwer.cer(refs, hyps)):.2f}** | "
        f"**{100 * float(jiwer.wer(refs, hyps)):.2f}** |"
    )
    print("\n".join(rows))
    if args.compare:
        print(f"\nworse than {args.compare} by over 0.5 pt: {len(worse)}")
        print("\n".join(worse))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="corpus_kind", required=True)
    gen = sub.add_parser("generated", help="pages from training/layouts")
    gen.add_argument("--cache", type=Path, required=True)
    gen.add_argument("--pages", type=int, default=40, help="pages per kind")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--kinds", nargs="*")
    gen.add_argument("--degrade", default="mixed", choices=["clean", "scan", "photo", "mixed"])
    gen.add_argument("--jobs", type=int, default=2)
    gen.add_argument("--lines", default="ocr", choices=["ocr", "truth"])
    gen.add_argument("--images", action="store_true", help="read the images, not the PDFs")
    gen.add_argument("--tesseract", action="store_true")
    gen.add_argument("--no-generate", action="store_true", help="use the pages in the cache")
    gen.add_argument("--show-wrong", type=int, default=0)
    gen.add_argument(
        "--layout-from",
        metavar="REV",
        help="also order with emulator/engine/layout.py at this git revision, and count the "
        "pages whose natural order differs",
    )
    gen.add_argument("--json", type=Path)
    ev = sub.add_parser("eval", help="the real pages of ../shared/eval (CER/WER only)")
    ev.add_argument("--cache", type=Path, required=True)
    ev.add_argument("--corpus", type=Path, default=DEFAULT_EVAL)
    ev.add_argument("--jobs", type=int, default=2)
    ev.add_argument("--json", type=Path, help="write each document's CER here")
    ev.add_argument("--compare", type=Path, help="an earlier --json: list documents now worse")
    args = parser.parse_args(argv)
    if args.corpus_kind == "generated":
        return run_generated(args)
    return run_eval(args)


if __name__ == "__main__":
    raise SystemExit(main())
