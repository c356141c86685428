"""Would int8 models pay? CPU ms per run of the shipped fp32 detector and recogniser against
int8 versions made with ``onnxruntime.quantization``, at one intra-op thread, interleaved.

Versions: dynamic quantisation of MatMul only and of MatMul + Conv (weights int8, activations
quantised per run), and static QDQ quantisation (per-channel weights, activations calibrated on
two inputs; the models are first converted to opset 13, which per-channel QDQ needs) of Conv
only and of Conv + MatMul. The calibration data are random, so only the speed is meaningful:
accuracy would only be worth measuring for a version that is clearly faster. Shapes: the
recogniser on a batch of 6 crops 48 x 1280 px, the detector on 1216 x 1600 px.

    .venv/bin/python benchmarks/quantize.py [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.engine.sessions import wheel_model_paths

SHAPES = {"rec": (6, 3, 48, 1280), "det": (1, 3, 1600, 1216)}


def cpu() -> float:
    """CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Random:
    """A calibration reader of two random inputs in [-1, 1]."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        rng = np.random.default_rng(0)
        self._items = iter([{"x": (rng.random(shape, dtype=np.float32) * 2 - 1)} for _ in range(2)])

    def get_next(self) -> dict[str, Any] | None:
        return next(self._items, None)


def versions(kind: str, src: Path, tmp: Path) -> dict[str, Path]:
    """The int8 versions of ``src``, by name."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out: dict[str, Path] = {"fp32": src}
    for ops, name in ((["MatMul"], "dynamic MatMul"), (["MatMul", "Conv"], "dynamic all")):
        path = tmp / f"{kind}-{len(ops)}-dyn.onnx"
        weight = QuantType.QUInt8 if "Conv" in ops else QuantType.QInt8
        quantize_dynamic(src, path, op_types_to_quantize=ops, weight_type=weight)
        out[name] = path
    op13 = tmp / f"{kind}-op13.onnx"
    onnx.save(version_converter.convert_version(onnx.load(str(src)), 13), str(op13))
    pre = tmp / f"{kind}-pre.onnx"
    quant_pre_process(str(op13), str(pre), skip_symbolic_shape=True)
    calib = (1, 3, 48, 320) if kind == "rec" else (1, 3, 640, 640)
    for ops, name in ((["Conv"], "static Conv"), (["Conv", "MatMul"], "static all")):
        path = tmp / f"{kind}-{len(ops)}-qdq.onnx"
        quantize_static(
            str(pre),
            str(path),
            _Random(calib),  # type: ignore[arg-type]
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=ops,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        out[name] = path
    return out


def main() -> None:
    """Quantise, then time every version in turn."""
    import onnxruntime

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    models = wheel_model_paths()
    print("| model | version | CPU ms per run | vs fp32 |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind, shape in SHAPES.items():
            found = versions(kind, models[kind], Path(tmp))
            sessions = {}
            for name, path in found.items():
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = 1
                options.log_severity_level = 4
                sessions[name] = onnxruntime.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
            x = np.random.default_rng(1).random(shape, dtype=np.float32) * 2 - 1
            totals = dict.fromkeys(sessions, 0.0)
            for session in sessions.values():
                session.run(None, {"x": x})
            for _ in range(args.runs):
                for name, session in sessions.items():
                    start = cpu()
                    session.run(None, {"x": x})
                    totals[name] += cpu() - start
            for name, total in totals.items():
                ms = 1000 * total / args.runs
                print(f"| {kind} | {name} | {ms:.0f} | {total / totals['fp32']:.2f} |")


if __name__ == "__main__":
    main()
