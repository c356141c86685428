"""Train the handwriting-style classifier and write ``emulator/engine/handwriting_model.json``.

    PYTHONPATH=. .venv/bin/python training/handwriting/train.py /tmp/hw-train.npz \\
        [--heldout /tmp/hw-heldout.npz] [--out emulator/engine/handwriting_model.json]

Input: crops from ``make_data.py``. Features: ``emulator.engine.handwriting.features``. The
model is a one-hidden-layer tanh network (numpy, full-batch Adam with L2, classes weighted to
balance, fixed seed). Calibration: the training fonts are split into four folds by family;
a network trained without a fold scores it, and a temperature and bias on the logit are fitted
to those out-of-family scores (maximum likelihood); the shipped network is then trained on all
training fonts and carries that calibration. ``--heldout`` prints accuracy and calibration on
crops of the held-out fonts (the end-to-end figures are ``benchmarks/handwriting.py``'s).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from emulator.engine import handwriting  # noqa: E402

FloatArray = npt.NDArray[np.float64]
DEFAULT_OUT = ROOT / "emulator" / "engine" / "handwriting_model.json"
HIDDEN = 16
EPOCHS = 1500
L2 = 1e-3
SEED = 7


def family(font: str) -> str:
    """A font file's family: its name without weight and style suffixes."""
    stem = Path(font).stem
    stem = re.sub(r"(-?(Regular|Bold|Italic|Oblique|BoldItalic|BoldOblique|Roman))+$", "", stem)
    stem = re.sub(r"(Bd|It|BI)$", "", stem)
    return stem


def load(paths: list[Path]) -> tuple[FloatArray, npt.NDArray[np.int64], list[str]]:
    xs, ys, fonts = [], [], []
    for path in paths:
        data = np.load(path, allow_pickle=True)
        xs.extend(handwriting.features(c) for c in data["crops"])
        ys.extend(int(v) for v in data["y"])
        fonts.extend(str(f) for f in data["font"])
    return np.stack(xs), np.asarray(ys, dtype=np.int64), fonts


def fit(x: FloatArray, y: npt.NDArray[np.int64], seed: int = SEED) -> handwriting.Model:
    """The network trained on ``x``, ``y`` (uncalibrated: scale 1, bias 0)."""
    rng = np.random.default_rng(seed)
    mean = x.mean(axis=0)
    std = x.std(axis=0) + 1e-6
    z = (x - mean) / std
    n, d = z.shape
    pos = max(int(y.sum()), 1)
    weights = np.where(y == 1, n / (2 * pos), n / (2 * max(n - pos, 1)))
    params = [
        rng.normal(0, 1 / np.sqrt(d), (d, HIDDEN)),
        np.zeros(HIDDEN),
        rng.normal(0, 1 / np.sqrt(HIDDEN), HIDDEN),
        np.zeros(1),
    ]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, b1, b2 = 0.01, 0.9, 0.999
    for t in range(1, EPOCHS + 1):
        w1, c1, w2, c2 = params
        hidden = np.tanh(z @ w1 + c1)
        logit = hidden @ w2 + c2[0]
        p = 1 / (1 + np.exp(-np.clip(logit, -40, 40)))
        g_logit = (p - y) * weights / n
        g_w2 = hidden.T @ g_logit + L2 * w2
        g_c2 = np.array([g_logit.sum()])
        g_hidden = np.outer(g_logit, w2) * (1 - hidden**2)
        g_w1 = z.T @ g_hidden + L2 * w1
        g_c1 = g_hidden.sum(axis=0)
        for i, g in enumerate((g_w1, g_c1, g_w2, g_c2)):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            params[i] = params[i] - lr * (m[i] / (1 - b1**t)) / (np.sqrt(v[i] / (1 - b2**t)) + 1e-8)
    w1, c1, w2, c2 = params
    return handwriting.Model(mean=mean, std=std, w1=w1, b1=c1, w2=w2, b2=float(c2[0]))


def _nll(logits: FloatArray, y: npt.NDArray[np.int64], a: float, b: float) -> float:
    z = a * logits + b
    # log(1 + exp(-z)) for y = 1, log(1 + exp(z)) for y = 0, computed without overflow.
    return float(np.logaddexp(0.0, np.where(y == 1, -z, z)).mean())


def calibrate(logits: FloatArray, y: npt.NDArray[np.int64]) -> tuple[float, float]:
    """Temperature and bias ``(a, b)`` maximising the likelihood of ``sigmoid(a * l + b)``:
    a grid over ``a`` in [0.01, 2] and ``b`` in [-4, 4], then a finer grid around the best."""
    best = (1.0, 0.0)
    best_nll = _nll(logits, y, *best)
    a_grid, b_grid = np.geomspace(0.01, 2.0, 60), np.linspace(-4.0, 4.0, 81)
    for _ in range(2):
        for a in a_grid:
            for b in b_grid:
                value = _nll(logits, y, float(a), float(b))
                if value < best_nll:
                    best, best_nll = (float(a), float(b)), value
        a_grid = best[0] * np.geomspace(0.8, 1.25, 21)
        b_grid = best[1] + np.linspace(-0.1, 0.1, 21)
    return best


def report(name: str, prob: FloatArray, y: npt.NDArray[np.int64]) -> None:
    pred = (prob >= 0.5).astype(np.int64)
    conf = np.where(pred == 1, prob, 1 - prob)
    acc = float((pred == y).mean())
    hand = y == 1
    print(
        f"{name}: {len(y)} lines, accuracy {acc:.3f} "
        f"(handwriting {float((pred[hand] == 1).mean()):.3f}, "
        f"printed {float((pred[~hand] == 0).mean()):.3f})"
    )
    for lo, hi in ((0.5, 0.7), (0.7, 0.9), (0.9, 0.97), (0.97, 1.01)):
        sel = (conf >= lo) & (conf < hi)
        if sel.any():
            print(
                f"  confidence {lo:.2f}-{min(hi, 1.0):.2f}: {int(sel.sum())} lines, "
                f"mean confidence {float(conf[sel].mean()):.3f}, "
                f"accuracy {float((pred[sel] == y[sel]).mean()):.3f}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", type=Path, nargs="+")
    parser.add_argument("--heldout", type=Path)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    x, y, fonts = load(args.data)
    families = sorted({family(f) for f in fonts})
    fold_of = {fam: i % 4 for i, fam in enumerate(families)}
    folds = np.array([fold_of[family(f)] for f in fonts])
    out_of_family = np.zeros(len(y))
    for k in range(4):
        test = folds == k
        model = fit(x[~test], y[~test])
        out_of_family[test] = model.logits(x[test])
    report(
        "train, out-of-family folds (uncalibrated)",
        1 / (1 + np.exp(-np.clip(out_of_family, -40, 40))),
        y,
    )
    scale, bias = calibrate(out_of_family, y)
    report(
        "train, out-of-family folds (calibrated)",
        1 / (1 + np.exp(-np.clip(scale * out_of_family + bias, -40, 40))),
        y,
    )
    final = fit(x, y)
    final = handwriting.Model(
        mean=final.mean,
        std=final.std,
        w1=final.w1,
        b1=final.b1,
        w2=final.w2,
        b2=final.b2,
        scale=scale,
        bias=bias,
    )
    report("train (fitted)", final.probability(x), y)
    if args.heldout:
        hx, hy, _ = load([args.heldout])
        report("held-out fonts", final.probability(hx), hy)
    data = final.to_json()
    args.out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"families {len(families)}, scale {scale:.3f}, bias {bias:.3f} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
