"""Make the handwriting classifier's training data: synthetic pages (``synth.py``) run through
the real engine's detector and line crops (as ``RapidOcrEngine._orient_and_read`` makes them),
each crop labelled by the drawn line it lies in, and saved in gray (``train.py`` computes the
features, so changing them does not need the detector again).

    PYTHONPATH=. .venv/bin/python training/handwriting/make_data.py --split train \\
        --pages 240 --out /tmp/hw-train.npz [--jobs 2]

Deterministic: page ``k`` of a split is drawn from ``SEEDS[split] + k``.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from statistics import median
from typing import Any

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

import synth  # noqa: E402

from emulator.engine.orientation import (  # noqa: E402
    _poly_height,
    _with_min_height,
    crop_line,
    dominant_axis,
    line_axes,
    order_quad,
)
from emulator.engine.rapid import RapidOcrEngine  # noqa: E402

_engine: RapidOcrEngine | None = None


def page_crops(engine: RapidOcrEngine, bgr: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(quad, crop)`` per detected line along the page's axis, cropped as the engine does."""
    quads = engine.detect(bgr).quads
    if len(quads) == 0:
        return []
    axes, lengths, aspects = line_axes(quads)
    axis = dominant_axis(axes, lengths, aspects)
    offsets = (axes - axis + 90.0) % 180.0 - 90.0
    offsets = np.where(aspects >= 2.0, offsets, 0.0)
    polys = [order_quad(q, axis + o) for q, o in zip(quads, offsets, strict=True)]
    typical = median(_poly_height(p) for p in polys)
    return [(p, crop_line(bgr, _with_min_height(p, typical))) for p in polys]


def one_page(args: tuple[str, int]) -> list[tuple[Any, ...]]:
    global _engine
    split, k = args
    if _engine is None:
        _engine = RapidOcrEngine(intra_op_threads=1)
    rng = np.random.default_rng(synth.SEEDS[split] + k)  # type: ignore[index]
    image, truths = synth.make_page(rng, split)  # type: ignore[arg-type]
    bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
    rows = []
    for quad, crop in page_crops(_engine, bgr):
        truth = synth.match(quad, truths)
        if truth is None:
            continue
        gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        rows.append((gray, int(truth.style == "handwriting"), truth.font, k))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", choices=["train", "heldout"], default="train")
    parser.add_argument("--pages", type=int, default=240)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    tasks = [(args.split, k) for k in range(args.pages)]
    rows: list[tuple[Any, ...]] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for n, page_rows in enumerate(pool.map(one_page, tasks), start=1):
            rows.extend(page_rows)
            if n % 20 == 0:
                print(f"{n} pages, {len(rows)} lines", flush=True)
    np.savez_compressed(
        args.out,
        crops=np.array([r[0] for r in rows] + [None], dtype=object)[:-1],
        y=np.array([r[1] for r in rows]),
        font=np.array([r[2] for r in rows]),
        page=np.array([r[3] for r in rows]),
    )
    hand = sum(r[1] for r in rows)
    print(f"{len(rows)} lines ({hand} handwritten) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
