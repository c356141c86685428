"""Accuracy of the emulator's OCR on the real documents in ``../shared/eval/``.

Runs the service's own code path (``emulator.documents`` to decode and rasterise, then
``RapidOcrEngine.recognize``) over every document of the manifest and prints, per document and
pooled over the corpus, for ``readingOrder=basic`` and ``natural``:

* CER and WER (jiwer; the page texts joined top to bottom, whitespace normalised as the
  corpus README prescribes);
* bag-of-words error, which ignores order: ``1 - 2 * |ref & hyp| / (|ref| + |hyp|)`` over word
  multisets, so that reading-order mistakes (high CER, low BoW) are told apart from reading
  mistakes (both high);
* ms/page: decoding plus recognition, wall clock on this machine; and CPU ms/page (all
  threads), which stays comparable when other processes load the machine.

The same is printed side by side for Tesseract, the peer (``tesseract`` binary, its defaults,
``-l eng``, one thread: ``OMP_THREAD_LIMIT=1``, its most CPU-efficient setting), and for
RapidOCR's own defaults (``RapidOCR()(image)``) with ``--baseline``. Tesseract is Debian's
``tesseract-ocr`` (``apt-get install tesseract-ocr``); when it is absent the benchmark says so
and runs without it.

``--compare FILE`` reads the ``--json`` of an earlier run and lists every document whose
natural-order CER is now worse by more than half a point.

    .venv/bin/python benchmarks/accuracy.py [--baseline] [--only NAME ...] [--json FILE]
        [--compare FILE]

The corpus is found at ``../shared/eval`` relative to the repository root (or ``--corpus``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import jiwer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator.documents import formats as documents  # noqa: E402
from emulator.engine.orientation import Orientation  # noqa: E402
from emulator.engine.rapid import RapidOcrEngine  # noqa: E402
from emulator.engine.reading_order import order_lines  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "eval"


def normalise(text: str) -> str:
    """Runs of whitespace become one space (the corpus README's scoring rule)."""
    return " ".join(text.split())


#: Typographic punctuation and its ASCII stand-in: transcriptions differ in which they use
#: for the same print (the corpus has both), so :meth:`Score.folded_cer` compares without it.
_TYPOGRAPHIC = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),  # single quotes
        **dict.fromkeys("\u201c\u201d\u201e\u00ab\u00bb", '"'),  # double quotes, guillemets
        **dict.fromkeys("\u2010\u2011\u2013\u2014\u2212", "-"),  # hyphens, dashes, minus
        "\u2026": "...",  # ellipsis
        "\u00d7": "x",  # multiplication sign
    }
)


def fold_typographic(text: str) -> str:
    """``text`` with curly quotes, dashes, the ellipsis and the multiplication sign as their
    ASCII stand-ins."""
    return text.translate(_TYPOGRAPHIC)


def bow_error(ref: str, hyp: str) -> float:
    """Order-free word error: ``1 - 2|R & H| / (|R| + |H|)`` over word multisets."""
    r, h = Counter(ref.split()), Counter(hyp.split())
    total = sum(r.values()) + sum(h.values())
    return 0.0 if total == 0 else 1.0 - 2.0 * sum((r & h).values()) / total


@dataclass
class Score:
    """Texts and timings of one system on one document (or pooled)."""

    refs: list[str] = field(default_factory=list)
    hyps: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    pages: int = 0

    def add(self, ref: str, hyp: str, timing: Timing, pages: int) -> None:
        self.refs.append(normalise(ref))
        self.hyps.append(normalise(hyp))
        self.seconds += timing.wall
        self.cpu_seconds += timing.cpu
        self.pages += pages

    def cer(self) -> float:
        return float(jiwer.cer(self.refs, self.hyps))

    def wer(self) -> float:
        return float(jiwer.wer(self.refs, self.hyps))

    def bow(self) -> float:
        return bow_error(" ".join(self.refs), " ".join(self.hyps))

    def folded_cer(self) -> float:
        """CER with typographic quotes, dashes and ellipses folded to ASCII on both sides
        (:func:`fold_typographic`): what is left are reading errors, not conventions."""
        refs = [normalise(fold_typographic(r)) for r in self.refs]
        hyps = [normalise(fold_typographic(h)) for h in self.hyps]
        return float(jiwer.cer(refs, hyps))

    def ms_per_page(self) -> float:
        return 1000.0 * self.seconds / max(self.pages, 1)

    def cpu_ms_per_page(self) -> float:
        return 1000.0 * self.cpu_seconds / max(self.pages, 1)

    def row(self) -> list[str]:
        return [
            f"{100 * self.cer():.1f}",
            f"{100 * self.wer():.1f}",
            f"{100 * self.bow():.1f}",
            f"{self.ms_per_page():.0f}",
            f"{self.cpu_ms_per_page():.0f}",
        ]

    def as_dict(self) -> dict[str, float]:
        return {
            "cer": self.cer(),
            "wer": self.wer(),
            "bow": self.bow(),
            "folded_cer": self.folded_cer(),
            "ms_per_page": self.ms_per_page(),
            "cpu_ms_per_page": self.cpu_ms_per_page(),
            "pages": self.pages,
        }


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds, and CPU seconds of this process and its children (all threads).

    CPU time is the fairer speed figure on a shared machine: it does not grow when other
    processes compete for the cores.
    """

    wall: float
    cpu: float


class Stopwatch:
    """Measures a :class:`Timing` between ``start()`` and ``stop()``."""

    def __init__(self) -> None:
        self._wall = 0.0
        self._cpu = 0.0

    @staticmethod
    def _cpu_now() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def start(self) -> Stopwatch:
        self._wall = time.perf_counter()
        self._cpu = self._cpu_now()
        return self

    def stop(self) -> Timing:
        return Timing(time.perf_counter() - self._wall, self._cpu_now() - self._cpu)


PageRunner = Callable[[bytes], tuple[dict[str, str], Timing, int]]


def emulator_runner(engine: RapidOcrEngine, dpi: float) -> PageRunner:
    """The service's path: inspect, select every page, decode/rasterise, recognise.

    Recognition runs once in ``natural`` order; ``basic`` is the same lines put in basic order
    by the same function the engine uses, so both are measured without paying twice.
    """

    def run(data: bytes) -> tuple[dict[str, str], Timing, int]:
        watch = Stopwatch().start()
        limits = documents.Limits()
        info = documents.inspect(data, limits)
        pages = documents.select_pages(None, info.page_count, limits)
        texts: dict[str, list[str]] = {"basic": [], "natural": []}
        for page in documents.iter_pages(data, info, pages, dpi=dpi):
            result = engine.recognize(page.image, reading_order="natural")
            texts["natural"].append("\n".join(line.text for line in result.lines))
            basic = order_lines(list(result.lines), Orientation(result.angle), "basic")
            texts["basic"].append("\n".join(line.text for line in basic))
        timing = watch.stop()
        return {k: "\n".join(v) for k, v in texts.items()}, timing, len(pages)

    return run


def _page_images(data: bytes, dpi: float) -> Iterable[documents.PageImage]:
    info = documents.inspect(data, documents.Limits())
    return documents.iter_pages(data, info, range(1, info.page_count + 1), dpi=dpi)


def rapidocr_default_runner(dpi: float) -> PageRunner:
    """RapidOCR as it comes (``RapidOCR()(image)``, its own line order) on the same pages."""
    from rapidocr import RapidOCR

    ocr = RapidOCR(params={"Global.log_level": "warning"})

    def run(data: bytes) -> tuple[dict[str, str], Timing, int]:
        watch = Stopwatch().start()
        texts = []
        n = 0
        for page in _page_images(data, dpi):
            out = ocr(page.image)
            texts.append("\n".join(out.txts or ()))
            n += 1
        return {"default": "\n".join(texts)}, watch.stop(), n

    return run


def tesseract_runner(dpi: float, key: str = "tesseract") -> PageRunner:
    """Tesseract's defaults (``-l eng``, automatic page segmentation) at one thread
    (``OMP_THREAD_LIMIT=1``) on the same page images, its text under ``key``; its timing is
    the child's CPU (``RUSAGE_CHILDREN``), the PNG writing excluded."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def run(data: bytes) -> tuple[dict[str, str], Timing, int]:
        texts = []
        wall = cpu = 0.0
        with tempfile.TemporaryDirectory() as tmp:
            for page in _page_images(data, dpi):
                path = Path(tmp) / f"p{page.number}.png"
                page.image.save(path)
                watch = Stopwatch().start()
                out = subprocess.run(
                    ["tesseract", str(path), "-", "-l", "eng"],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=env,
                )
                timing = watch.stop()
                wall += timing.wall
                cpu += timing.cpu
                texts.append(out.stdout)
        return {key: "\n".join(texts)}, Timing(wall, cpu), len(texts)

    return run


class _ScriptGuesses(logging.Handler):
    """Counts the engine's script guesses (its debug lines; no document text)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.gated = 0
        self.chosen = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("page confidence"):
            self.gated += 1
            self.chosen += "script model" in message and "no script model" not in message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--only", nargs="*", help="document names to run (default: all)")
    parser.add_argument("--dpi", type=float, default=documents.PDF_DPI, help="PDF raster dpi")
    parser.add_argument("--threads", type=int, default=None, help="ONNX intra-op threads")
    parser.add_argument("--det-max-side", type=int, default=None)
    parser.add_argument("--baseline", action="store_true", help="also run RapidOCR's defaults")
    parser.add_argument("--no-tesseract", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--show", action="store_true", help="print each hypothesis text")
    parser.add_argument("--compare", type=Path, help="an earlier run's --json: list regressions")
    args = parser.parse_args(argv)
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    guesses = _ScriptGuesses()
    engine_log = logging.getLogger("emulator.engine")
    engine_log.setLevel(logging.DEBUG)
    engine_log.addHandler(guesses)

    manifest = json.loads((args.corpus / "manifest.json").read_text(encoding="utf-8"))
    if args.only:
        manifest = [d for d in manifest if d["name"] in set(args.only)]

    engine_kwargs: dict[str, int] = {}
    if args.det_max_side:
        engine_kwargs["det_max_side"] = args.det_max_side
    engine = RapidOcrEngine(args.threads, **engine_kwargs)  # type: ignore[arg-type]
    runners: dict[str, PageRunner] = {"emulator": emulator_runner(engine, args.dpi)}
    if args.baseline:
        runners["rapidocr"] = rapidocr_default_runner(args.dpi)
    if not args.no_tesseract:
        if shutil.which("tesseract"):
            runners["tesseract"] = tesseract_runner(args.dpi)
        else:
            print(
                "tesseract not found: running without the peer (apt-get install tesseract-ocr)",
                file=sys.stderr,
            )

    # Warm every system up on the first document (ONNX Runtime's first runs allocate and
    # optimise), so ms/page measures steady-state work.
    if manifest:
        warm = (args.corpus / manifest[0]["file"]).read_bytes()
        for runner in runners.values():
            runner(warm)

    systems = ["basic", "natural"] + [k for k in ("default", "tesseract") if _wanted(k, runners)]
    per_doc: dict[str, dict[str, Score]] = {}
    pooled = {s: Score() for s in systems}
    for doc in manifest:
        data = (args.corpus / doc["file"]).read_bytes()
        truth = (args.corpus / doc["truth"]).read_text(encoding="utf-8")
        scores = {s: Score() for s in systems}
        for runner in runners.values():
            texts, timing, pages = runner(data)
            for system, text in texts.items():
                scores[system].add(truth, text, timing, pages)
                pooled[system].add(truth, text, timing, pages)
                if args.show:
                    print(f"--- {doc['name']} [{system}]\n{text}\n", file=sys.stderr)
        per_doc[doc["name"]] = scores
        print(
            f"{doc['name']}: " + "  ".join(f"{s} {scores[s].row()}" for s in systems),
            file=sys.stderr,
        )

    print(_table(per_doc, pooled, systems))
    # Every page here is Latin: a page read by another script's model would be a misreading.
    print(
        f"script guesses: {guesses.gated} page readings read poorly enough to guess the script, "
        f"{guesses.chosen} read by another script's model"
    )
    if args.json:
        payload = {
            "documents": {n: {s: sc.as_dict() for s, sc in v.items()} for n, v in per_doc.items()},
            "pooled": {s: sc.as_dict() for s, sc in pooled.items()},
        }
        args.json.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    if args.compare:
        print(_regressions(per_doc, json.loads(args.compare.read_text(encoding="utf-8"))))
    return 0


def _regressions(per_doc: dict[str, dict[str, Score]], earlier: dict[str, object]) -> str:
    """Documents whose natural-order CER is worse than in ``earlier`` by over half a point."""
    docs = earlier.get("documents", {})
    assert isinstance(docs, dict)
    worse = []
    for name, scores in per_doc.items():
        before = docs.get(name, {}).get("natural", {}).get("cer")
        if before is None:
            continue
        now = scores["natural"].cer()
        if now > before + 0.005:
            worse.append(f"- {name}: {100 * before:.1f} -> {100 * now:.1f} % CER")
    head = f"natural-order CER worse than the earlier run by over 0.5 pt: {len(worse)}"
    return "\n".join([head, *worse])


def _wanted(system: str, runners: dict[str, PageRunner]) -> bool:
    return {"default": "rapidocr", "tesseract": "tesseract"}[system] in runners


_LABEL = {
    "basic": "emulator basic",
    "natural": "emulator natural",
    "default": "rapidocr defaults",
    "tesseract": "tesseract",
}


def _table(
    per_doc: dict[str, dict[str, Score]], pooled: dict[str, Score], systems: list[str]
) -> str:
    head = ["document", "pages"]
    for s in systems:
        head += [f"{_LABEL[s]} CER %", "WER %", "BoW %", "ms/page", "CPU ms/page"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, scores in per_doc.items():
        first = scores[systems[0]]
        cells = [name, str(first.pages)]
        for s in systems:
            cells += scores[s].row()
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**pooled**", str(pooled[systems[0]].pages)]
    for s in systems:
        cells += [f"**{v}**" for v in pooled[s].row()]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
