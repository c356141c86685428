"""From a kind and a seed to the files of one page: compose the HTML (``generate``), lay it out
and print it in Chromium, rasterise, degrade, and write the image, the truth and the PDF
(``render_page``); many pages over one browser a process (``render_pages``).

Page ``k`` of a run with seed ``S`` has seed ``S + k``; the kind's name is mixed into it with
``zlib.crc32`` (stable across processes), so each kind draws its own pages from the same
seeds. A page whose content cannot be made to fit is composed again from the next attempt
of the same seed, so the result stays a function of the seed.
"""

from __future__ import annotations

import random
import sys
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import degrade as degrading
from .kinds import COMPOSERS, multilang
from .render import Browser, Layout, LayoutError, rasterise
from .text import OTHER_LANGUAGES, Text
from .truth import Block, Cell, Checkbox, Line, Polygon, Table, Truth, Word

KINDS: tuple[str, ...] = (*COMPOSERS, "multilang")
ATTEMPTS = 8
CURVE_STEP = 40.0  # px between the points of a polygon's edge on a curled page
MIN_LINES = 4


class Composition(NamedTuple):
    """One composed page: its HTML and what the renderer needs to know about it."""

    html: str
    kind: str
    seed: int
    language: str
    width: int  # CSS px
    height: int
    dpi: float
    degradation: degrading.Params
    attempt: int


def _base(kind: str, seed: int) -> int:
    return (zlib.crc32(kind.encode("utf-8")) << 40) ^ (seed & ((1 << 40) - 1))


def generate(kind: str, seed: int, degrade: str = "clean", attempt: int = 0) -> Composition:
    """Compose page ``seed`` of ``kind`` (``attempt`` > 0: the next try when the previous one
    could not be made to fit). The same arguments give the same HTML."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    base = _base(kind, seed)
    fixed = random.Random(base)  # noqa: S311 - what retries keep: language, dpi, degradation
    if kind == "multilang":
        language = fixed.choice(OTHER_LANGUAGES)
    else:
        language = "en" if fixed.random() < 0.8 else fixed.choice(OTHER_LANGUAGES)
    dpi = float(fixed.randint(150, 300))
    params = degrading.draw(degrade, fixed)
    rng = random.Random(base * 31 + attempt)  # noqa: S311 - layout, not secrets
    text = Text(language, base * 31 + attempt + 7)
    if kind == "multilang":
        html, style = multilang.compose(rng, text)
    else:
        html, style = COMPOSERS[kind](rng, text)
    return Composition(html, kind, seed, language, style.width, style.height, dpi, params, attempt)


@dataclass
class Page:
    """A rendered page: its truth, image file (bytes and extension) and PDF."""

    truth: Truth
    image: bytes
    ext: str
    pdf: bytes | None
    pixels: np.ndarray[Any, np.dtype[np.uint8]]
    html: str


def render_page(
    browser: Browser, kind: str, seed: int, degrade: str = "clean", *, name: str | None = None
) -> Page:
    """Compose, lay out, print, rasterise and degrade one page; ``name`` is the file stem."""
    name = name or f"{kind}-{seed}"
    error: Exception | None = None
    for attempt in range(ATTEMPTS):
        comp = generate(kind, seed, degrade, attempt)
        try:
            layout = browser.layout(comp.html, comp.width, comp.height)
        except LayoutError as exc:
            error = exc
            continue
        if sum(len(b["lines"]) for b in layout.blocks) >= MIN_LINES:
            break
        error = LayoutError("too little text left on the page")
    else:
        raise LayoutError(f"{name}: no attempt fits ({error})")
    clean = rasterise(layout.pdf, comp.dpi, comp.width, comp.height)
    pixels, transform = degrading.apply(clean, comp.degradation)
    data, ext = degrading.encode(pixels, comp.degradation)
    want_pdf = comp.degradation.mode == "clean"
    truth = build_truth(
        comp,
        layout,
        transform,
        image=name + ext,
        pdf=name + ".pdf" if want_pdf else None,
        size=(pixels.shape[1], pixels.shape[0]),
    )
    return Page(truth, data, ext, layout.pdf if want_pdf else None, pixels, comp.html)


def build_truth(
    comp: Composition,
    layout: Layout,
    transform: degrading.Transform,
    *,
    image: str,
    pdf: str | None,
    size: tuple[int, int],
) -> Truth:
    """The truth from the DOM's blocks: ids, orders, groups and tables numbered afresh (what
    was dropped or drew nothing leaves no gap), boxes scaled to the image and transformed."""
    scale = comp.dpi / 96

    def polygon(box: Sequence[float]) -> Polygon:
        x0, y0, x1, y1 = (v * scale for v in box)
        if transform.curved:
            n = max(2, int(np.ceil((x1 - x0) / CURVE_STEP)) + 1)
            xs = np.linspace(x0, x1, n)
            pts = np.concatenate(
                [np.stack([xs, np.full(n, y0)], 1), np.stack([xs[::-1], np.full(n, y1)], 1)]
            )
        else:
            pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
        if transform is not degrading.IDENTITY:
            pts = transform(pts)
        return [(float(x), float(y)) for x, y in pts]

    # Table grids from every cell left in the DOM (empty cells too).
    extent: dict[int, list[int]] = {}
    for raw in layout.blocks:
        if raw["cell"]:
            c = raw["cell"]
            grid = extent.setdefault(c["table"], [0, 0])
            grid[0] = max(grid[0], c["row"] + c["rowSpan"])
            grid[1] = max(grid[1], c["col"] + c["colSpan"])
    kept = [raw for raw in layout.blocks if raw["lines"]]
    orders = sorted(raw["order"] for raw in kept if raw["order"] is not None)
    rank = {key: i for i, key in enumerate(orders)}
    groups: dict[int, int] = {}
    tables: dict[int, int] = {}
    blocks: list[Block] = []
    lines: list[Line] = []
    for new_id, raw in enumerate(kept):
        group = raw["group"]
        if group is not None:
            group = groups.setdefault(group, len(groups))
        order = rank[raw["order"]] if raw["order"] is not None else None
        blocks.append(Block(new_id, raw["role"], order, group))
        cell = None
        if raw["cell"]:
            c = raw["cell"]
            table = tables.setdefault(c["table"], len(tables))
            cell = Cell(table, c["row"], c["col"], c["rowSpan"], c["colSpan"], c["header"])
        for index, words in enumerate(raw["lines"]):
            boxes = np.array([w["box"] for w in words], dtype=np.float64)
            union = (*boxes[:, :2].min(0), *boxes[:, 2:].max(0))
            lines.append(
                Line(
                    text=" ".join(w["text"] for w in words),
                    block=new_id,
                    index=index,
                    role=raw["role"],
                    polygon=polygon(union),
                    words=[Word(w["text"], polygon(w["box"])) for w in words],
                    cell=cell,
                )
            )
    table_info = {t["id"]: t for t in layout.tables}
    return Truth(
        kind=comp.kind,
        seed=comp.seed,
        language=comp.language,
        dpi=comp.dpi,
        image=image,
        pdf=pdf,
        size=size,
        degradations=degrading.record(comp.degradation, transform),
        blocks=blocks,
        lines=lines,
        tables=[
            Table(new, extent[old][0], extent[old][1], bool(table_info[old]["ruled"]))
            for old, new in tables.items()
        ],
        checkboxes=[Checkbox(polygon(c["box"]), bool(c["selected"])) for c in layout.checkboxes],
    )


def write_page(page: Page, directory: Path, *, pdf: bool, draw: bool) -> None:
    """Write the image, the truth JSON, the PDF (``pdf``, clean pages only) and the drawn
    boxes (``draw``)."""
    from .draw import draw_boxes

    directory.mkdir(parents=True, exist_ok=True)
    truth = page.truth
    stem = Path(truth.image).stem
    (directory / truth.image).write_bytes(page.image)
    if not pdf or page.pdf is None:
        truth.pdf = None
    else:
        (directory / f"{stem}.pdf").write_bytes(page.pdf)
    truth.save(directory / f"{stem}.json")
    if draw:
        import cv2

        cv2.imwrite(str(directory / f"{stem}.boxes.png"), draw_boxes(page.pixels, truth))


@dataclass(frozen=True)
class Job:
    """Pages one worker renders into ``out``."""

    pages: tuple[tuple[str, int], ...]
    out: Path
    degrade: str
    pdf: bool
    draw: bool
    skip_existing: bool


def _work(job: Job) -> list[tuple[str, int, int]]:
    """Render a job's pages with one browser: (kind, seed, lines) for each page made. A page
    that cannot be made is reported and skipped; a browser that dies is started again."""
    from selenium.common.exceptions import WebDriverException

    done: list[tuple[str, int, int]] = []
    todo = [
        (kind, seed)
        for kind, seed in job.pages
        if not (job.skip_existing and (job.out / kind / f"{kind}-{seed}.json").exists())
    ]
    browser: Browser | None = None
    try:
        for kind, seed in todo:
            for retry in (False, True):
                if browser is None:
                    browser = Browser()
                try:
                    page = render_page(browser, kind, seed, job.degrade)
                except LayoutError as exc:
                    print(f"{kind}-{seed}: skipped: {exc}", file=sys.stderr, flush=True)
                    break
                except WebDriverException:
                    browser.close()
                    browser = None
                    if retry:
                        raise
                    continue
                write_page(page, job.out / kind, pdf=job.pdf, draw=job.draw)
                done.append((kind, seed, len(page.truth.lines)))
                print(f"{kind}-{seed}: {len(page.truth.lines)} lines", file=sys.stderr, flush=True)
                break
    finally:
        if browser is not None:
            browser.close()
    return done


def render_pages(
    kinds: Sequence[str],
    seeds: Sequence[int],
    out: Path,
    *,
    degrade: str = "clean",
    pdf: bool = False,
    draw: bool = False,
    jobs: int = 1,
    skip_existing: bool = False,
) -> list[tuple[str, int, int]]:
    """Render every kind at every seed into ``out/<kind>/`` with ``jobs`` processes (one
    Chromium each); returns (kind, seed, lines) of the pages made, in no set order."""
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    if degrade not in degrading.MODES:
        raise ValueError(f"unknown degradation {degrade!r}")
    pages = [(kind, seed) for seed in seeds for kind in kinds]
    jobs = max(1, min(jobs, len(pages)))
    chunks = [
        Job(tuple(pages[i::jobs]), out, degrade, pdf, draw, skip_existing) for i in range(jobs)
    ]
    if jobs == 1:
        return _work(chunks[0])
    results: list[tuple[str, int, int]] = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for part in pool.map(_work, chunks):
            results += part
    return results


def iter_pages(
    kinds: Sequence[str], seeds: Sequence[int], degrade: str = "clean"
) -> Iterator[Page]:
    """Rendered pages in memory, one browser for all (for benchmarks that need no files)."""
    with Browser() as browser:
        for seed in seeds:
            for kind in kinds:
                yield render_page(browser, kind, seed, degrade)


def pages_per_minute(pages: int, seconds: float) -> float:
    """Throughput for the closing line of a run."""
    return pages * 60 / seconds if seconds > 0 else 0.0


__all__ = [
    "KINDS",
    "Composition",
    "Page",
    "build_truth",
    "generate",
    "iter_pages",
    "pages_per_minute",
    "render_page",
    "render_pages",
    "write_page",
]
