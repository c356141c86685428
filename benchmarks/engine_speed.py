"""Engine speed and memory: CPU ms per page of the emulator's engine against single-thread
Tesseract on the same pages, in one run, with the accuracy of each, and the engine's variants.

Over a default set of eleven corpus pages (synthetic and real, dense ones included; ``--only``
names documents, ``--all`` takes the whole corpus) every document is read in turn by:

* each engine variant of ``--variants`` (default: the emulator's settings, ``emulator``),
  built in this process with one intra-op thread, as a worker runs it;
* ``--worker``: the emulator's engine in a real worker process (``emulator.workers``,
  started with ``spawn`` as the service does), its CPU read from the child;
* Tesseract 5 (``tesseract img - -l eng``) with ``OMP_THREAD_LIMIT=1``, the CPU of the child
  process. Install it with ``apt-get install tesseract-ocr``; it is skipped only when absent.

The order of the systems rotates per document, so machine load hits them alike; CPU time
(getrusage), not wall time, is compared, since the machine is shared. Printed: per document,
each system's CER and CPU ms/page; then per system the pooled CER/WER (``readingOrder=natural``,
the corpus's order), CPU ms/page and its ratio to Tesseract's (goal: at most 0.75), and, with
``--worker``, the worker's peak RSS (VmHWM) and RSS after the pages (goal: at most 400 MB).
``--pages-repeat N`` then has the worker read N dense 200-dpi letter pages (the corpus's
``aws_invoice`` and ``hcw_engagement_letter`` in turn) and prints its RSS and CPU per page
every 25 pages.

    .venv/bin/python benchmarks/engine_speed.py [--only NAME ...] [--all]
        [--variants NAME ...] [--worker] [--no-tesseract] [--pages-repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.accuracy import (
    DEFAULT_CORPUS,
    PageRunner,
    Score,
    Stopwatch,
    Timing,
    _page_images,
    emulator_runner,
    tesseract_runner,
)
from emulator import documents
from emulator.engine.rapid import RapidOcrEngine

MB = 1024 * 1024

#: The default pages: clean prints, a multilingual page, a magazine scan, a brochure scan,
#: two image-only German scans, a receipt, born-digital invoice, letter, paper and table.
DEFAULT_DOCS = (
    "phototest",
    "eurotext",
    "unlv_8087_054",
    "linn_brochure",
    "multipage_scan_de",
    "oyo_receipt",
    "aws_invoice",
    "hcw_engagement_letter",
    "ieee_privacy_paper_2col",
    "argentina_votes_table_es_gray150",
)
#: Dense 200-dpi letter pages for ``--pages-repeat``.
DENSE_DOCS = ("aws_invoice", "hcw_engagement_letter")


@contextlib.contextmanager
def session_options(**entries: Any) -> Iterator[None]:
    """While engines are built, add ONNX Runtime session config entries (``key=value``) to
    the engine's sessions; ``arena=False`` turns the CPU memory arena off."""
    from emulator.engine import rapid

    original = rapid._session

    def patched(model: Path | bytes, intra_op_threads: int | None, *, arena: bool = True) -> Any:
        import onnxruntime

        real = onnxruntime.InferenceSession

        def build(source: Any, sess_options: Any, providers: Any) -> Any:
            for key, value in entries.items():
                if key == "arena":
                    sess_options.enable_cpu_mem_arena = sess_options.enable_cpu_mem_arena and value
                else:
                    sess_options.add_session_config_entry(key, str(value))
            return real(source, sess_options=sess_options, providers=providers)

        onnxruntime.InferenceSession = build
        try:
            return original(model, intra_op_threads, arena=arena)
        finally:
            onnxruntime.InferenceSession = real

    rapid._session = patched
    try:
        yield
    finally:
        rapid._session = original


def engine(threads: int = 1, **kwargs: Any) -> RapidOcrEngine:
    """An emulator engine with some settings changed: keyword arguments of
    :class:`RapidOcrEngine`, ``arena`` and ONNX Runtime config entries (keys with a dot)."""
    options = {k: kwargs.pop(k) for k in list(kwargs) if k == "arena" or "." in k}
    with session_options(**options):
        return RapidOcrEngine(threads, **kwargs)


#: Engine variants: settings changed from the emulator's defaults. Each lever of
#: docs/performance.md is one entry, so its gain and accuracy cost show in one run.
VARIANTS: dict[str, dict[str, Any]] = {
    "emulator": {},
    "2 intra-op threads": {"threads": 2},
    "arena off (recogniser too)": {"arena": False},
    "spinning": {"session.intra_op.allow_spinning": "1"},
    "rec height 48 (rapidocr's)": {"rec_height": 48, "rec_retry_height": None},
    "rec 36 px, no re-read": {"rec_retry_height": None},
    "rec as rapidocr (48 px, 320 floor, batch 6)": {
        "rec_height": 48,
        "rec_min_width": 320,
        "rec_retry_height": None,
    },
    "rec height 40": {"rec_height": 40, "rec_retry_height": None},
    "rec height 32": {"rec_height": 32, "rec_retry_height": None},
    "rec squeeze 0.75": {"rec_squeeze": 0.75},
    "rec 32 px, unsure lines again at 48": {"rec_height": 32, "rec_retry_height": 48},
    "rec 32 px, unsure lines again at 36": {"rec_height": 32, "rec_retry_height": 36},
    "rec 36 px, unsure lines again at 48": {"rec_height": 36, "rec_retry_height": 48},
    "rec min width 320 (rapidocr's)": {"rec_min_width": 320},
    "rec batch 1": {"rec_batch": 1},
    "rec batch 16": {"rec_batch": 16},
    "det fixed 2000 px (before)": {"det_text_height": None, "det_max_side": 2000},
    "det text height 12": {"det_text_height": 12.0},
    "det text height 20": {"det_text_height": 20.0},
    "det in one run (no strips)": {"det_strip": 0},
    "det strips of 256 rows": {"det_strip": 256},
    "det strips 512 + 128": {"det_strip": 512, "det_overlap": 128},
    "det strips 768 + 192": {"det_strip": 768, "det_overlap": 192},
    "rec batch columns 4096": {"rec_batch_columns": 4096},
    "no malloc trim / mmap threshold": {"trim": False},
}


class Worker:
    """The emulator's engine in a real worker process, as the service runs it."""

    def __init__(self) -> None:
        from emulator.app import rapid_engine_factory
        from emulator.workers import WorkerProcess

        self.process = WorkerProcess(rapid_engine_factory, 1, "bench-worker")
        error = self.process.wait_ready()
        if error:
            raise RuntimeError(error)
        self.pid = self.process.process.pid
        assert self.pid is not None
        self.proc = psutil.Process(self.pid)

    def cpu(self) -> float:
        """The child's user + system CPU seconds so far."""
        times = self.proc.cpu_times()
        return float(times.user + times.system)

    def status_mb(self, key: str) -> float:
        """``VmHWM`` (peak RSS) or ``VmRSS`` of the child, MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024 / MB
        return 0.0

    def runner(self, dpi: float) -> PageRunner:
        """Read every page of a document through the worker, in natural order."""

        def run(data: bytes) -> tuple[dict[str, str], Timing, int]:
            texts = []
            wall = cpu = 0.0
            for page in _page_images(data, dpi):
                before = self.cpu()
                watch = Stopwatch().start()
                result = self.process.recognize(page.image, "natural", None, None)
                wall += watch.stop().wall
                cpu += self.cpu() - before
                texts.append("\n".join(line.text for line in result.lines))
            return {"natural": "\n".join(texts)}, Timing(wall, cpu), len(texts)

        return run

    def close(self) -> None:
        """Stop the child."""
        self.process.close()


def repeat_dense(worker: Worker, corpus: Path, manifest: list[dict[str, Any]], n: int) -> None:
    """Have ``worker`` read ``n`` dense letter pages; print its RSS and CPU as it goes."""
    by_name = {d["name"]: d for d in manifest}
    images: list[Any] = []
    for name in DENSE_DOCS:
        data = (corpus / by_name[name]["file"]).read_bytes()
        images.extend(p.image for p in _page_images(data, documents.PDF_DPI))
    print(f"\n{n} dense pages ({', '.join(DENSE_DOCS)} in turn) through the worker:")
    print("| pages | VmHWM MB | VmRSS MB | CPU ms/page (last 25) |")
    print("|---|---|---|---|")
    start = worker.cpu()
    for k in range(1, n + 1):
        worker.process.recognize(images[k % len(images)], "natural", None, None)
        if k % 25 == 0 or k == n:
            cpu = worker.cpu()
            done = 25 if k % 25 == 0 else k % 25
            print(
                f"| {k} | {worker.status_mb('VmHWM'):.0f} | {worker.status_mb('VmRSS'):.0f} | "
                f"{1000 * (cpu - start) / done:.0f} |",
                flush=True,
            )
            start = cpu


def main() -> None:
    """Run the systems over the pages and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--only", nargs="*", help="document names (default: DEFAULT_DOCS)")
    parser.add_argument("--all", action="store_true", help="every document of the corpus")
    parser.add_argument(
        "--variants", nargs="*", default=["emulator"], choices=list(VARIANTS), metavar="NAME"
    )
    parser.add_argument("--worker", action="store_true", help="also a real worker process")
    parser.add_argument("--no-tesseract", action="store_true")
    parser.add_argument("--pages-repeat", type=int, default=0, help="dense pages via the worker")
    parser.add_argument("--json", type=Path, help="write per-document figures here")
    args = parser.parse_args()
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    full = json.loads((args.corpus / "manifest.json").read_text(encoding="utf-8"))
    wanted = None if args.all else set(args.only or DEFAULT_DOCS)
    manifest = [d for d in full if wanted is None or d["name"] in wanted]

    dpi = documents.PDF_DPI
    runners: dict[str, PageRunner] = {}
    for name in args.variants:
        runners[name] = emulator_runner(engine(**VARIANTS[name]), dpi)
    worker = Worker() if args.worker or args.pages_repeat else None
    if worker is not None and args.worker:
        runners["worker"] = worker.runner(dpi)
    if args.no_tesseract:
        pass
    elif shutil.which("tesseract"):
        runners["tesseract 1 thread"] = tesseract_runner(dpi, "natural")
    else:
        print("tesseract not found (apt-get install tesseract-ocr): skipped", file=sys.stderr)

    warm = (args.corpus / manifest[0]["file"]).read_bytes()
    for runner in runners.values():
        runner(warm)
    if worker is not None:
        worker_warm_hwm = worker.status_mb("VmHWM")
    names = list(runners)
    pooled = {name: Score() for name in names}
    per_doc: dict[str, dict[str, Score]] = {}
    for index, doc in enumerate(manifest):
        data = (args.corpus / doc["file"]).read_bytes()
        truth = (args.corpus / doc["truth"]).read_text(encoding="utf-8")
        shift = index % len(names)
        per_doc[doc["name"]] = {}
        for name in names[shift:] + names[:shift]:
            texts, timing, pages = runners[name](data)
            text = texts.get("natural", "")
            pooled[name].add(truth, text, timing, pages)
            one = Score()
            one.add(truth, text, timing, pages)
            per_doc[doc["name"]][name] = one
        print(f"{doc['name']} done", file=sys.stderr, flush=True)

    print("| document | pages | " + " | ".join(f"{n} CER % | CPU ms/page" for n in names) + " |")
    print("|---|---|" + "---|---|" * len(names))
    for doc_name, scores in per_doc.items():
        cells = [doc_name, str(scores[names[0]].pages)]
        for n in names:
            cells += [f"{100 * scores[n].cer():.1f}", f"{scores[n].cpu_ms_per_page():.0f}"]
        print("| " + " | ".join(cells) + " |")

    tess = pooled.get("tesseract 1 thread")
    print()
    print("| system | pooled CER % | WER % | CPU ms/page | CPU vs tesseract 1 thread |")
    print("|---|---|---|---|---|")
    for name, score in pooled.items():
        ratio = f"{score.cpu_ms_per_page() / tess.cpu_ms_per_page():.2f}" if tess else ""
        print(
            f"| {name} | {100 * score.cer():.1f} | {100 * score.wer():.1f} | "
            f"{score.cpu_ms_per_page():.0f} | {ratio} |"
        )
    if worker is not None and args.worker:
        print(
            f"\nworker RSS after {pooled['worker'].pages} pages: peak (VmHWM) "
            f"{worker.status_mb('VmHWM'):.0f} MB (after warm-up {worker_warm_hwm:.0f} MB), "
            f"now (VmRSS) {worker.status_mb('VmRSS'):.0f} MB"
        )
    if worker is not None and args.pages_repeat:
        repeat_dense(worker, args.corpus, full, args.pages_repeat)
    if worker is not None:
        worker.close()
    if args.json:
        payload = {d: {n: s.as_dict() for n, s in v.items()} for d, v in per_doc.items()}
        args.json.write_text(json.dumps(payload, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
