"""``training/recogniser``: the tiny recogniser converted to PyTorch matches ONNX Runtime; a
few steps on rendered lines lower the CTC loss; a run stopped and resumed from ``last.pt``
is the run that never stopped; the export reads as the model it came from, under ONNX
Runtime, with the dictionary the engine reads.

Needs ``torch`` and ``onnx2torch`` (the ``training`` extra), which CI does not install.
"""

from __future__ import annotations

import dataclasses
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx2torch")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from torch import nn  # noqa: E402

from training.recogniser import export as exporting  # noqa: E402
from training.recogniser import train  # noqa: E402

WORDS = (
    "Invoice", "total", "12.50", "Date:", "2024-01-17", "Name", "Street", "No.", "ABC",
    "qty", "Müller", "(VAT)", "€", "page", "3/4", "hello", "Account", "#42",
)  # fmt: skip
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    image: npt.NDArray[np.uint8]
    text: str
    source: str = "test"


def render(text: str, size: int) -> npt.NDArray[np.uint8]:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), size) if FONT.exists() else ImageFont.load_default(size)
    left, top, right, bottom = (round(v) for v in font.getbbox(text))
    image = Image.new("RGB", (right - left + 10, bottom - top + 8), (250, 250, 245))
    ImageDraw.Draw(image).text((5 - left, 4 - top), text, font=font, fill=(20, 20, 20))
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


def lines(seed: int, count: int) -> list[Sample]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        out.append(Sample(render(text, rng.randint(16, 26)), text))
    return out


@pytest.fixture(scope="module")
def recogniser() -> tuple[nn.Module, list[str]]:
    torch.set_num_threads(1)
    return train.load_model(train.SOURCE, 36)


class Shards:
    """Shards as files (empty: the reader hands out lines made here)."""

    def __init__(self, root: Path, sizes: Sequence[int]) -> None:
        self.table: dict[Path, list[Sample]] = {}
        (root / "data").mkdir(parents=True, exist_ok=True)
        for i, size in enumerate(sizes):
            path = root / "data" / f"shard-{i}.npz"
            path.touch()
            self.table[path.resolve()] = lines(100 + i, size)
        self.val = (root / "val.npz").resolve()
        self.val.touch()
        self.table[self.val] = lines(7, 4)

    def read(self, path: Path) -> list[Sample]:
        return self.table[path.resolve()]

    def config(self, **changes: object) -> train.Config:
        shards = tuple(str(p) for p in self.table if p != self.val)
        values: dict[str, object] = {
            "shards": shards, "val": str(self.val), "batch": 4, "window": 8,
            "steps": 40, "warmup": 2, "lr": 5e-4,
        }  # fmt: skip
        values.update(changes)
        return train.Config(**values)  # type: ignore[arg-type]


def test_conversion_matches_onnxruntime(recogniser: tuple[nn.Module, list[str]]) -> None:
    model, chars = recogniser
    assert len(chars) == 621
    assert train.Codec(chars).classes == 623
    source = train.SOURCE.read_bytes()
    for height in (36, 48):
        assert train.check_conversion(model, source, height) < 1e-4
    # The classifier and conv biases train; GELU's constants do not.
    names = {name for name, _ in model.named_parameters()}
    assert any("initializer" in name for name in names)
    assert all(b.numel() == 1 for n, b in model.named_buffers() if "initializer" in n)
    with torch.inference_mode():
        for width in (64, 65, 100, 199, 200, 333):
            out = model(torch.zeros(1, 3, 36, width))
            assert out.shape == (1, train.output_columns(width), 623)


def test_codec_and_filters(recogniser: tuple[nn.Module, list[str]]) -> None:
    codec = train.Codec(recogniser[1])
    label = codec.encode("A b")
    assert label is not None and label[1] == 622
    assert codec.decode([0, label[0], label[0], 0, 622, 0, label[2], 0, label[2]]) == "A bb"
    assert codec.encode("中") is None
    assert train.ctc_length([5, 5, 6]) == 4
    assert train.example(Sample(render("中文", 20), "中文"), codec, 36) is None
    # 8 output columns at the engine's 64-column minimum: 20 characters do not fit.
    tiny = np.full((36, 40, 3), 255, dtype=np.uint8)
    assert train.example(Sample(tiny, "abcdefghijklmnopqrst"), codec, 36) is None
    assert train.example(Sample(tiny, "ab"), codec, 36) is not None


def test_stream_order_covers_every_line_each_epoch(tmp_path: Path) -> None:
    shards = Shards(tmp_path, [3, 5, 4])
    paths = [Path(s) for s in shards.config().shards]
    stream = train.Stream(paths, seed=1, reader=shards.read)
    pairs = zip(stream.read((0, 0, 0)), range(24), strict=False)
    read = [(id(line), after) for (line, after), _ in pairs]
    ids = [i for i, _ in read]
    assert len(set(ids[:12])) == 12 and set(ids[:12]) == set(ids[12:])
    assert ids[:12] != ids[12:]  # a new order each epoch
    assert read[-1][1] == (2, 0, 0)
    # Reading from a position goes on with the lines after it.
    k = next(k for k, (_, after) in enumerate(read) if after == (0, 1, 2))
    again = [id(line) for (line, _), _ in zip(stream.read((0, 1, 2)), range(5), strict=False)]
    assert again == ids[k + 1 : k + 6]


def blurred(sample: Sample) -> Sample:
    """``sample`` seen through a 7 px high scan: the starting model reads it less surely."""
    import cv2

    h, w = sample.image.shape[:2]
    small = cv2.resize(sample.image, (max(1, w * 7 // h), 7), interpolation=cv2.INTER_AREA)
    return Sample(np.ascontiguousarray(cv2.resize(small, (w, h))), sample.text)


def test_steps_lower_the_loss(recogniser: tuple[nn.Module, list[str]]) -> None:
    model, chars = recogniser
    model = _copy(model)
    codec = train.Codec(chars)
    config = train.Config(shards=(), val="", lr=1e-4, warmup=3, steps=100, batch=8)
    samples = [blurred(s) for s in lines(3, 16)]
    examples = [e for e in (train.example(s, codec, 36) for s in samples) if e is not None]
    assert len(examples) == 16
    optimizer, scheduler = train.make_optimizer(model, config)
    model.eval()
    with torch.no_grad():
        before = float(train.ctc_loss(model, examples, 36))
    running = {name: b.clone() for name, b in model.named_buffers() if "running" in name}
    train.set_training(model, train_bn=False)
    for step in range(6):
        train.train_step(model, optimizer, scheduler, examples[8 * (step % 2) :][:8], config)
    model.eval()
    with torch.no_grad():
        after = float(train.ctc_loss(model, examples, 36))
    assert after < 0.5 * before, (before, after)
    # BatchNorm's running statistics stayed frozen.
    for name, b in model.named_buffers():
        if "running" in name:
            assert torch.equal(b, running[name]), name


def _copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A run stopped at step 3 and resumed to 5, and one straight to 5."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("recogniser")
    shards = Shards(root, [6, 7])
    config = shards.config()
    logs: list[str] = []
    kwargs = {"eval_every": 2, "reader": shards.read, "log": logs.append}
    first = train.train(config, root / "a", stop_at_step=3, **kwargs)  # type: ignore[arg-type]
    resumed = train.train(
        train.Config(shards=(), val=""),
        root / "a",
        resume=True,
        stop_at_step=5,
        **kwargs,  # type: ignore[arg-type]
    )
    straight = train.train(config, root / "b", stop_at_step=5, **kwargs)  # type: ignore[arg-type]
    return {"root": root, "first": first, "resumed": resumed, "straight": straight, "logs": logs}


def test_resume_continues_exactly(runs: dict[str, object]) -> None:
    root: Path = runs["root"]  # type: ignore[assignment]
    first: train.Run = runs["first"]  # type: ignore[assignment]
    resumed: train.Run = runs["resumed"]  # type: ignore[assignment]
    straight: train.Run = runs["straight"]  # type: ignore[assignment]
    assert len(first.losses) == 3 and len(resumed.losses) == 2
    assert first.losses + resumed.losses == straight.losses
    assert resumed.progress.step == straight.progress.step == 5
    assert resumed.progress.samples == straight.progress.samples
    assert resumed.progress.window_start == straight.progress.window_start
    assert resumed.progress.window_batch == straight.progress.window_batch
    a = train.load_checkpoint(root / "a" / "last.pt")
    b = train.load_checkpoint(root / "b" / "last.pt")
    for part in ("model", "ema"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), (part, key)
    state_a, state_b = a["optimizer"]["state"], b["optimizer"]["state"]
    assert state_a.keys() == state_b.keys() and state_a
    for index, entry in state_a.items():
        for name, value in entry.items():
            assert torch.equal(value, state_b[index][name]), (index, name)
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == 5
    assert [h["step"] for h in a["progress"]["history"]] == [0, 2, 4]
    assert (root / "a" / "best.pt").exists()
    logs: list[str] = runs["logs"]  # type: ignore[assignment]
    assert any(line.startswith("step      0") and "val CER" in line for line in logs)


@pytest.fixture(scope="module")
def exported(runs: dict[str, object]) -> Path:
    torch.set_num_threads(1)
    root: Path = runs["root"]  # type: ignore[assignment]
    out = root / "rec.onnx"
    result = exporting.export(root / "a" / "last.pt", out)
    assert result.max_diff < 1e-3 and result.size < 4_000_000
    return out


def test_export_matches_torch(runs: dict[str, object], exported: Path) -> None:
    import onnx
    import onnxruntime as ort

    root: Path = runs["root"]  # type: ignore[assignment]
    ckpt = root / "a" / "last.pt"
    out = exported
    proto = onnx.load(str(out))
    source = onnx.load(str(train.SOURCE))
    assert train.characters(proto) == train.characters(source)
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 3, "height", "width"]

    payload = train.load_checkpoint(ckpt)
    model, _ = train.load_model(train.SOURCE, 36, verify=False)
    model.load_state_dict(train.weights(payload))
    model.eval()
    x = train.batch_input([s.image for s in lines(11, 3)], 36)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "x"
    got = session.run(None, {"x": x})[0]
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).softmax(-1).numpy()
    assert got.shape == expected.shape and got.shape[-1] == 623
    assert float(np.abs(got - expected).max()) < 1e-3
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-4)


def test_engine_reads_export(exported: Path) -> None:
    """The engine's loader takes the export, and rapidocr's decoder (which reads the
    ``character`` metadata) reads what the training's greedy decoder reads."""
    import onnx

    pytest.importorskip("rapidocr")
    from emulator.engine.recognition import Recogniser as _Recogniser

    recogniser = _Recogniser.load(exported, 1)
    codec = train.Codec(train.characters(onnx.load(str(exported))))
    for sample in lines(5, 4):
        probs = recogniser.session.run(None, {"x": train.batch_input([sample.image], 36)})[0]
        text = recogniser.decoder(probs)[0][0][0]
        assert text == codec.decode([int(c) for c in probs[0].argmax(-1)])
