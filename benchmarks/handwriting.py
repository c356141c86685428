"""Handwriting style on held-out mixed pages, through the real engine.

Renders pages of mixed printed and handwritten lines with the *held-out* fonts and seeds of
``training/handwriting/synth.py`` (families and random streams the classifier was not trained
on), reads each with ``RapidOcrEngine.recognize`` (the service's engine, whole pages), matches
every returned line to the drawn line it lies in, and prints:

* style accuracy over the returned lines (overall, handwritten, printed) and per font;
* calibration: per band of reported confidence, how many lines and how many were right;
* CER of the handwritten lines and of the printed ones (per drawn line, the texts of the
  returned lines in it joined left to right, against what was drawn: the text less the
  characters its font has no glyph for; without case for the fonts that draw every letter as
  a capital, ``synth.CAPITALS``), and also wholly case-folded;
* the classifier's cost per line (features and model, timed inside the engine).

    PYTHONPATH=. .venv/bin/python benchmarks/handwriting.py [--pages 40] [--strength S]
        [--reread none|48|deslant|deslant48|stretch|pad] [--split heldout|train]
    PYTHONPATH=. .venv/bin/python benchmarks/handwriting.py --corpus

``--strength 0`` draws handwriting in the fonts alone (no synthetic slant, baseline drift or
wobble): the fonts' own shapes, nothing the synthesis adds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
from PIL import ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "training" / "handwriting")]

import synth  # noqa: E402

from emulator.engine import handwriting  # noqa: E402
from emulator.engine.rapid import RapidOcrEngine  # noqa: E402
from emulator.engine.recognition import RecLine  # noqa: E402


class _Timed:
    """Wraps :func:`handwriting.classify` to add up its time and lines."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.lines = 0
        self._inner = handwriting.classify

    def __call__(self, crops: Sequence[Any], model: Any = None) -> Any:
        started = time.perf_counter()
        out = self._inner(crops, model)
        self.seconds += time.perf_counter() - started
        self.lines += len(crops)
        return out


def _none(self: RapidOcrEngine, crops: list[Any]) -> list[Any]:
    return [RecLine("", -1.0, (), 1.0) for _ in crops]


def _at48(self: RapidOcrEngine, crops: list[Any]) -> list[Any]:
    return self._read_at(crops, 48)


def _deslant(self: RapidOcrEngine, crops: list[Any]) -> list[Any]:
    return self._read_at([handwriting.deslant(c) for c in crops], self._rec_height)


def _deslant48(self: RapidOcrEngine, crops: list[Any]) -> list[Any]:
    return self._read_at([handwriting.deslant(c) for c in crops], 48)


def _stretch(self: RapidOcrEngine, crops: list[Any]) -> list[Any]:
    return self._read_at([handwriting.stretch(c) for c in crops], self._rec_height)


def _pad(self: RapidOcrEngine, crops: list[Any]) -> list[Any]:
    """Crops with a quarter of their height of background added above and below."""
    out = []
    for c in crops:
        m = max(1, c.shape[0] // 4)
        out.append(np.pad(c, ((m, m), (0, 0), (0, 0)), mode="edge"))
    return self._read_at(out, self._rec_height)


# Ways of reading handwritten lines again, for --reread (each replaces
# RapidOcrEngine._read_handwriting; the more confident reading is kept either way).
REREADS = {
    "none": _none,
    "48": _at48,
    "deslant": _deslant,
    "deslant48": _deslant48,
    "stretch": _stretch,
    "pad": _pad,
}


_FONT_PATHS = {
    Path(p).name: p
    for table in (synth.HANDWRITING, synth.PRINTED)
    for paths in table.values()
    for p in paths
}
_GLYPHS: dict[tuple[str, str], bool] = {}


def _drawn(char: str, font: str) -> bool:
    """Whether ``font`` (a file name of synth's) has a visible glyph for ``char``: a few
    handwriting fonts lack accented letters, which are then drawn as nothing."""
    key = (char, font)
    if key not in _GLYPHS:
        face = ImageFont.truetype(_FONT_PATHS[font], 32)
        _GLYPHS[key] = char.isspace() or face.getmask(char).getbbox() is not None
    return _GLYPHS[key]


def drawn_text(truth: Any) -> str:
    """What was drawn for ``truth``: its text without the characters its font has no glyph
    for, in capitals for the fonts that have only capitals (``synth.CAPITALS``)."""
    text = "".join(ch for ch in truth.text if _drawn(ch, truth.font))
    return text.upper() if truth.font in synth.CAPITALS else text


def evaluate(
    engine: RapidOcrEngine,
    pages: int,
    strength: float | None,
    first: int = 0,
    split: str = "heldout",
) -> dict[str, Any]:
    """Read ``pages`` held-out pages and return the counts behind the printed figures."""
    results: list[tuple[str, str, float, str]] = []  # truth, reported, confidence, font
    cer_pairs: dict[str, tuple[list[str], list[str]]] = {
        "handwriting": ([], []),
        "other": ([], []),
    }
    unmatched = 0
    missed = 0
    for k in range(first, first + pages):
        rng = np.random.default_rng(synth.SEEDS[split] + k)
        image, truths = synth.make_page(rng, split, strength=strength)
        page = engine.recognize(image)
        read: dict[int, list[tuple[float, str]]] = defaultdict(list)
        for line in page.lines:
            quad = np.asarray(line.polygon, dtype=np.float64).reshape(4, 2)
            truth = synth.match(quad, truths)
            if truth is None:
                unmatched += 1
                continue
            results.append((truth.style, line.style, line.style_confidence, truth.font))
            read[truths.index(truth)].append((float(quad[:, 0].min()), line.text))
        for i, truth in enumerate(truths):
            if i not in read:
                missed += 1
            hyp = " ".join(text for _, text in sorted(read.get(i, [])))
            refs, hyps = cer_pairs[truth.style]
            refs.append(drawn_text(truth))
            hyps.append(hyp.upper() if truth.font in synth.CAPITALS else hyp)
    return {"results": results, "cer": cer_pairs, "unmatched": unmatched, "missed": missed}


def cer(refs: list[str], hyps: list[str], *, fold: bool = False) -> float:
    if not refs:
        return float("nan")
    if fold:
        refs, hyps = [r.casefold() for r in refs], [h.casefold() for h in hyps]
    return float(jiwer.cer(refs, hyps))


def report(found: dict[str, Any]) -> None:
    results = found["results"]
    truth = np.array([r[0] == "handwriting" for r in results])
    said = np.array([r[1] == "handwriting" for r in results])
    conf = np.array([r[2] for r in results])
    right = truth == said
    print(
        f"lines: {len(results)} matched ({int(truth.sum())} handwritten), "
        f"{found['unmatched']} returned lines outside any drawn line, "
        f"{found['missed']} drawn lines not returned"
    )
    print(
        f"style accuracy: {right.mean():.3f} "
        f"(handwritten {right[truth].mean():.3f}, printed {right[~truth].mean():.3f})"
    )
    by_font: dict[str, list[bool]] = defaultdict(list)
    for r, ok in zip(results, right, strict=True):
        by_font[r[3]].append(bool(ok))
    for font, oks in sorted(by_font.items()):
        print(f"  {font}: {sum(oks)}/{len(oks)}")
    print("calibration (reported confidence band: lines, mean confidence, accuracy):")
    for lo, hi in ((0.5, 0.7), (0.7, 0.9), (0.9, 0.97), (0.97, 1.01)):
        sel = (conf >= lo) & (conf < hi)
        if sel.any():
            print(
                f"  {lo:.2f}-{min(hi, 1.0):.2f}: {int(sel.sum())}, "
                f"{conf[sel].mean():.3f}, {right[sel].mean():.3f}"
            )
    for style in ("handwriting", "other"):
        refs, hyps = found["cer"][style]
        print(
            f"CER of {style} lines: {cer(refs, hyps):.3f}, case-folded "
            f"{cer(refs, hyps, fold=True):.3f}, over {len(refs)} drawn lines"
        )


def corpus(engine: RapidOcrEngine) -> None:
    """Per document of ``../shared/eval`` (real printed pages, no handwriting): how many of
    its lines the engine calls handwritten."""
    import json

    from benchmarks._support import CORPUS
    from emulator.documents import formats as documents

    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    total = called = 0
    for document in manifest:
        data = (CORPUS / document["file"]).read_bytes()
        info = documents.inspect(data, documents.Limits())
        lines = hand = 0
        for page in documents.iter_pages(data, info, range(1, info.page_count + 1)):
            result = engine.recognize(page.image)
            lines += len(result.lines)
            hand += sum(line.style == "handwriting" for line in result.lines)
        total, called = total + lines, called + hand
        print(f"  {document['name']}: {hand}/{lines} lines called handwritten")
    print(f"real printed corpus: {called}/{total} lines called handwritten")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument(
        "--split",
        choices=["heldout", "train"],
        default="heldout",
        help="train: the training fonts and seeds (for CER only; style accuracy there is not "
        "a held-out figure)",
    )
    parser.add_argument(
        "--strength", type=float, default=None, help="fixed hand warp (default: drawn per line)"
    )
    parser.add_argument(
        "--reread",
        choices=sorted(REREADS),
        default=None,
        help="how handwritten lines are read again (default: the engine's own)",
    )
    parser.add_argument(
        "--corpus",
        action="store_true",
        help="instead: the share of lines called handwritten on ../shared/eval (all print)",
    )
    args = parser.parse_args(argv)
    if args.corpus:
        corpus(RapidOcrEngine(intra_op_threads=1))
        return 0
    if args.reread:
        RapidOcrEngine._read_handwriting = REREADS[args.reread]  # type: ignore[method-assign]
    timer = _Timed()
    handwriting.classify = timer  # type: ignore[assignment]
    engine = RapidOcrEngine(intra_op_threads=1)
    started = time.perf_counter()
    found = evaluate(engine, args.pages, args.strength, args.first, args.split)
    elapsed = time.perf_counter() - started
    report(found)
    print(
        f"classifier: {1000 * timer.seconds / max(timer.lines, 1):.3f} ms/line over "
        f"{timer.lines} lines; whole pages {elapsed / args.pages:.2f} s/page"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
