"""Fit the cascade's gate (:mod:`emulator.engine.cascade`) on generated lines with known truth.

Every line of the shards is read as the engine reads it: by the cheap model ``--height`` px
high, and by the strong one (the wheel's PP-OCRv6 small, at 36 px with its unsure lines again
at 48, :meth:`RapidOcrEngine._read_strong`). Each reading's character errors are its edit
distance to the truth (both NFKC-normalised, runs of spaces made one). A logistic regression
of "the strong model reads this line with fewer errors" (reading it again would pay) on
:func:`~emulator.engine.cascade.line_features` of the cheap reading is fitted on half of the
lines (split by a seeded shuffle); on the other half the threshold is chosen: the highest
probability threshold (fewest lines read again) at which the cascade's pooled character error
rate is within ``--slack`` (points of CER) of the lowest any threshold gives. The two models
err on different lines, so the cascade can beat both; the threshold buys (nearly) all of that,
and no more re-reading than it takes. The fit, the threshold
and the held-out half's figures are written to ``--out`` (the engine's ``models/gate.json``).

    .venv/bin/python -m training.recogniser.calibrate SHARD.npz [SHARD.npz ...] \\
        [--cheap emulator/engine/models/rec_tiny_latin.onnx] [--height 36] [--slack 0.05] \\
        [--out emulator/engine/models/gate.json] [--limit 6000]

Use lines the cheap model was not trained on (``training/recogniser/README.md``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emulator.engine import cascade
from emulator.engine.rapid import RapidOcrEngine
from emulator.engine.recognition import RecChar, RecLine, gate_features
from emulator.engine.recognition import Recogniser as _Recogniser


def normalise(text: str) -> str:
    """The form readings and truths are compared in."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def errors(readings: list[RecLine], truths: list[str]) -> np.ndarray:
    """Each reading's character errors: its edit distance to the truth."""
    from rapidfuzz.distance import Levenshtein

    return np.array(
        [Levenshtein.distance(normalise(r.text), t) for r, t in zip(readings, truths, strict=True)]
    )


def fit(
    rows: np.ndarray,
    cheap_errors: np.ndarray,
    strong_errors: np.ndarray,
    lengths: np.ndarray,
    slack: float,
    seed: int,
) -> dict[str, Any]:
    """The gate's coefficients and threshold, with the held-out half's figures."""
    from sklearn.linear_model import LogisticRegression

    n = len(rows)
    order = np.random.default_rng(seed).permutation(n)
    train, test = order[: n // 2], order[n // 2 :]
    mean = rows[train].mean(axis=0)
    scale = rows[train].std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit((rows[train] - mean) / scale, strong_errors[train] < cheap_errors[train])
    gate = cascade.Gate(
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in model.coef_[0]),
        intercept=float(model.intercept_[0]),
        threshold=0.5,
        height=0,
    )
    p = gate.p_wrong(rows[test].tolist())
    chars = float(lengths[test].sum())
    strong_cer = 100 * float(strong_errors[test].sum()) / chars
    curve = []
    for threshold in np.round(np.arange(0.01, 0.96, 0.01), 2):
        again = p > threshold
        cer = 100 * float(np.where(again, strong_errors[test], cheap_errors[test]).sum()) / chars
        curve.append({"threshold": float(threshold), "read_again": float(again.mean()), "cer": cer})
    best = min(c["cer"] for c in curve)
    point = max((c for c in curve if c["cer"] <= best + slack), key=lambda c: c["threshold"])
    chosen = point["threshold"]
    return {
        "mean": list(gate.mean),
        "scale": list(gate.scale),
        "coef": list(gate.coef),
        "intercept": gate.intercept,
        "threshold": chosen,
        "held_out": {
            "lines": len(test),
            "cheap_cer": 100 * float(cheap_errors[test].sum()) / chars,
            "strong_cer": strong_cer,
            "cascade_cer": point["cer"],
            "read_again": point["read_again"],
        },
        "curve": curve,
    }


def engine_key(cheap: Path, height: int) -> bytes:
    """What the readings of a set of lines depend on besides the lines."""
    return hashlib.sha256(cheap.read_bytes()).digest() + str(height).encode()


def _cached(
    folder: Path | None, name: str, read: Callable[[], list[RecLine]]
) -> tuple[list[RecLine], float]:
    """``read()`` and its CPU seconds, kept in ``folder`` (when given) as JSON."""
    path = folder / f"{name}.json" if folder else None
    if path is not None and path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        readings = [
            RecLine(
                text=t,
                score=s,
                chars=tuple(RecChar(c, 0, p) for c, p in zip(t, probs, strict=True)),
                column_px=1.0,
            )
            for t, s, probs in data["readings"]
        ]
        return readings, float(data["cpu"])
    started = time.process_time()
    readings = read()
    cpu = time.process_time() - started
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [[r.text, r.score, [c.prob for c in r.chars]] for r in readings]
        path.write_text(json.dumps({"cpu": cpu, "readings": rows}), encoding="utf-8")
    return readings, cpu


def main() -> None:
    from training.recogniser.lines import read_shard

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shards", type=Path, nargs="+")
    parser.add_argument("--cheap", type=Path, default=cascade.CHEAP_MODEL)
    parser.add_argument("--height", type=int, default=36)
    parser.add_argument("--slack", type=float, default=0.05, help="CER points")
    parser.add_argument("--limit", type=int, default=6000, help="lines at most, per shard")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=cascade.GATE_FILE)
    parser.add_argument("--cache", type=Path, help="keep the readings here, for refits")
    args = parser.parse_args()

    samples = []
    for shard in args.shards:
        lines = read_shard(shard)
        rng = np.random.default_rng(args.seed)
        picked = rng.permutation(len(lines))[: args.limit]
        samples.extend(lines[i] for i in sorted(picked))
    crops = [s.image for s in samples]
    truths = [normalise(s.text) for s in samples]
    engine = RapidOcrEngine(1, cascade=False)

    def cheap_model() -> _Recogniser:
        return _Recogniser.load(args.cheap, 1)

    lines_key = hashlib.sha256(b"".join(c.tobytes() for c in crops)).digest()
    cheap_key = hashlib.sha256(lines_key + engine_key(args.cheap, args.height)).hexdigest()[:16]
    cheap_read, cheap_cpu = _cached(
        args.cache, f"cheap-{cheap_key}", lambda: engine._read_at(crops, args.height, cheap_model())
    )
    strong_read, strong_cpu = _cached(
        args.cache, f"strong-{lines_key.hex()[:16]}", lambda: engine._read_strong(crops)
    )
    rows = np.array(gate_features(cheap_read, crops))
    lengths = np.array([max(len(t), 1) for t in truths])
    cheap_errors, strong_errors = errors(cheap_read, truths), errors(strong_read, truths)
    result = fit(rows, cheap_errors, strong_errors, lengths, args.slack, args.seed)
    held = result["held_out"]
    print(
        f"{len(samples)} lines; cheap {cheap_cpu:.1f} s CPU, CER {held['cheap_cer']:.2f} %; "
        f"strong {strong_cpu:.1f} s CPU, CER {held['strong_cer']:.2f} % (held-out half)"
    )
    print(
        f"threshold {result['threshold']}: {100 * held['read_again']:.1f} % read again, "
        f"cascade CER {held['cascade_cer']:.2f} %"
    )
    document = {
        "features": list(cascade.FEATURES),
        **result,
        "cheap_model_sha256": hashlib.sha256(args.cheap.read_bytes()).hexdigest(),
        "height": args.height,
        "command": "python -m training.recogniser.calibrate "
        + " ".join(str(s) for s in args.shards)
        + f" --height {args.height} --slack {args.slack} --limit {args.limit}",
        "cpu_seconds": {"cheap": round(cheap_cpu, 1), "strong": round(strong_cpu, 1)},
    }
    args.out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
