"""Export a fine-tuned recogniser checkpoint to ONNX for the engine.

    .venv/bin/python -m training.recogniser.export CKPT.pt OUT.onnx

The graph takes ``x`` (N, 3, H, W) float32 in [-1, 1], BGR, with free batch, height and
width, and gives softmax probabilities (N, T, classes), as the source model does; the
source's ``character`` metadata is copied, so rapidocr's decoder and the engine read the
file unchanged. Exported with PyTorch's TorchScript-based exporter (opset 17: the
torch.export-based one needs ``onnxscript``), then checked against the PyTorch model under
ONNX Runtime on rendered lines.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import torch
from torch import nn

from training.recogniser import train

OPSET = 17
#: ONNX Runtime must match the PyTorch model's probabilities to this.
TOLERANCE = 1e-3
#: Lines rendered to check the export on.
CHECK_TEXTS = ("Invoice No. 2024-0117, total 1,234.56", "Straße 7 — Zürich (CH)", "ok")


class Probabilities(nn.Module):
    """The recogniser's logits turned into probabilities over the classes."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.model(x)
        return logits.softmax(-1)


def render_line(text: str, size: int = 28) -> npt.NDArray[np.uint8]:
    """``text`` in dark ink on a light page, BGR (a real-looking line crop)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    left, top, right, bottom = (round(v) for v in font.getbbox(text))
    image = Image.new("RGB", (right - left + 12, bottom - top + 10), (246, 244, 238))
    ImageDraw.Draw(image).text((6 - left, 5 - top), text, font=font, fill=(25, 25, 35))
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


@dataclasses.dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    size: int
    sha256: str
    max_diff: float


def export(ckpt: Path, out: Path, source: Path | None = None, raw: bool = False) -> Exported:
    """Write ``ckpt``'s model (its weights' moving average, unless ``raw`` or it has none) to
    ``out`` (ONNX) and check it; raises when ONNX Runtime's output differs from PyTorch's by
    :data:`TOLERANCE` or more."""
    import onnxruntime as ort

    payload = train.load_checkpoint(ckpt)
    config = train.Config(**{**payload["config"], "shards": tuple(payload["config"]["shards"])})
    source = Path(config.source) if source is None else source
    if train.sha256(source) != payload["source_sha256"]:
        raise SystemExit(f"{source} is not the model {ckpt} was trained from")
    model, chars = train.load_model(source, config.height)
    if chars != payload["characters"]:
        raise SystemExit(f"{source}'s characters are not the checkpoint's")
    model.load_state_dict(train.weights(payload, raw))
    wrapped = Probabilities(model).eval()

    example = torch.from_numpy(train.batch_input([render_line(CHECK_TEXTS[0])], config.height))
    source_proto = onnx.load(str(source))
    output_name = source_proto.graph.output[0].name
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with warnings.catch_warnings():
        # The TorchScript exporter's deprecation notice, and onnx2torch's constant axes.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapped,
            (example,),
            str(tmp),
            input_names=["x"],
            output_names=[output_name],
            dynamic_axes={
                "x": {0: "batch", 2: "height", 3: "width"},
                output_name: {0: "batch", 1: "columns"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load(str(tmp))
    del proto.metadata_props[:]
    for entry in source_proto.metadata_props:
        proto.metadata_props.add().CopyFrom(entry)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(tmp))

    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    max_diff = 0.0
    for height in sorted({config.height, 48}):
        x = train.batch_input([render_line(t) for t in CHECK_TEXTS], height)
        expected = session.run(None, {"x": x})[0]
        with torch.inference_mode():
            got = wrapped(torch.from_numpy(x)).numpy()
        if got.shape != expected.shape or got.shape[-1] != len(chars) + 2:
            raise RuntimeError(f"exported shape {expected.shape}, PyTorch's {got.shape}")
        max_diff = max(max_diff, float(np.abs(got - expected).max()))
    if max_diff >= TOLERANCE:
        tmp.unlink()
        raise RuntimeError(f"the export differs from PyTorch by {max_diff:.2e}")
    os.replace(tmp, out)
    data = out.read_bytes()
    return Exported(out, len(data), hashlib.sha256(data).hexdigest(), max_diff)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ckpt", type=Path, help="a checkpoint from train.py (best.pt)")
    parser.add_argument("out", type=Path, help="the ONNX file to write")
    parser.add_argument("--source", type=Path, help="the starting model (default: recorded)")
    parser.add_argument("--raw", action="store_true", help="the raw weights, not their EMA")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = export(args.ckpt, args.out, args.source, args.raw)
    print(
        f"{result.path}: {result.size} bytes, sha256 {result.sha256}, "
        f"ONNX Runtime vs PyTorch max diff {result.max_diff:.1e}"
    )


if __name__ == "__main__":
    main()
