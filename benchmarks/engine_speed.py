"""Engine speed: ms per page over ``../shared/eval/`` for the emulator's pipeline against
``rapidocr`` called with its defaults, and what each engine setting costs and buys.

Every variant is a separate engine in this process; each document is run by every variant in
turn (the order rotating per document), so machine load hits them alike. For each variant it
prints pooled CER/WER (``readingOrder=natural``, the corpus's order; RapidOCR's defaults in its
own order) and wall and CPU ms per page, and the ratio to the defaults (goal: the emulator at
most 0.75x the defaults' time with CER within 0.5 points).

Settings varied one at a time from the emulator's: ONNX Runtime's CPU memory arena (rapidocr
turns it off), intra-op thread spinning (on by default), intra-op threads, recognition batch
size, detection resolution.

    .venv/bin/python benchmarks/engine_speed.py [--only NAME ...] [--variants NAME ...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.accuracy import (
    DEFAULT_CORPUS,
    PageRunner,
    Score,
    emulator_runner,
    rapidocr_default_runner,
)
from emulator import documents
from emulator.engine.rapid import RapidOcrEngine


@contextlib.contextmanager
def session_options(**entries: Any) -> Iterator[None]:
    """While engines are built, add ONNX Runtime session settings rapidocr does not expose:
    ``arena=True`` turns the CPU memory arena on, other keys are session config entries."""
    from rapidocr.inference_engine.onnxruntime import main as ort_main

    cls = ort_main.OrtInferSession
    descriptor = cls.__dict__["_init_sess_opts"]  # the staticmethod itself, to restore as is
    original = cls._init_sess_opts

    def patched(cfg: Any) -> Any:
        opts = original(cfg)
        for key, value in entries.items():
            if key == "arena":
                opts.enable_cpu_mem_arena = bool(value)
            else:
                opts.add_session_config_entry(key, str(value))
        return opts

    cls._init_sess_opts = staticmethod(patched)
    try:
        yield
    finally:
        cls._init_sess_opts = descriptor


def engine(threads: int = 2, batch: int | None = None, **kwargs: Any) -> RapidOcrEngine:
    """An emulator engine with one setting changed."""
    options = {k: kwargs.pop(k) for k in list(kwargs) if k == "arena" or "." in k}
    with session_options(**options):
        built = RapidOcrEngine(threads, **kwargs)
    if batch is not None:
        built._rec.rec_batch_num = batch
    return built


VARIANTS: dict[str, Callable[[float], PageRunner]] = {
    "rapidocr defaults": rapidocr_default_runner,
    "emulator": lambda dpi: emulator_runner(engine(), dpi),
    "arena on": lambda dpi: emulator_runner(engine(arena=True), dpi),
    "no spinning": lambda dpi: emulator_runner(
        engine(**{"session.intra_op.allow_spinning": "0"}), dpi
    ),
    "arena on + no spinning": lambda dpi: emulator_runner(
        engine(arena=True, **{"session.intra_op.allow_spinning": "0"}), dpi
    ),
    "1 intra-op thread": lambda dpi: emulator_runner(engine(threads=1), dpi),
    "rec batch 1": lambda dpi: emulator_runner(engine(batch=1), dpi),
    "rec batch 16": lambda dpi: emulator_runner(engine(batch=16), dpi),
    "det 1600 px": lambda dpi: emulator_runner(engine(det_max_side=1600), dpi),
    "det 1280 px": lambda dpi: emulator_runner(engine(det_max_side=1280), dpi),
}


def main() -> None:
    """Run the variants over the corpus and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--only", nargs="*", help="document names (default: all)")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    manifest = json.loads((args.corpus / "manifest.json").read_text(encoding="utf-8"))
    if args.only:
        manifest = [d for d in manifest if d["name"] in set(args.only)]
    runners = {name: VARIANTS[name](documents.PDF_DPI) for name in args.variants}
    warm = (args.corpus / manifest[0]["file"]).read_bytes()
    for runner in runners.values():
        runner(warm)
    scores = {name: Score() for name in runners}
    names = list(runners)
    for index, doc in enumerate(manifest):
        data = (args.corpus / doc["file"]).read_bytes()
        truth = (args.corpus / doc["truth"]).read_text(encoding="utf-8")
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            texts, timing, pages = runners[name](data)
            text = texts.get("natural", texts.get("default", ""))
            scores[name].add(truth, text, timing, pages)
        print(f"{doc['name']} done", file=sys.stderr, flush=True)
    base = scores.get("rapidocr defaults")
    print(
        "| variant | pooled CER % | WER % | ms/page | CPU ms/page | time vs defaults (wall, CPU) |"
    )
    print("|---|---|---|---|---|---|")
    for name, score in scores.items():
        ratio = ""
        if base is not None:
            ratio = (
                f"{score.ms_per_page() / base.ms_per_page():.2f}, "
                f"{score.cpu_ms_per_page() / base.cpu_ms_per_page():.2f}"
            )
        print(
            f"| {name} | {100 * score.cer():.1f} | {100 * score.wer():.1f} | "
            f"{score.ms_per_page():.0f} | {score.cpu_ms_per_page():.0f} | {ratio} |"
        )


if __name__ == "__main__":
    main()
