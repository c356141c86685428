"""Fine-tune the tiny Latin recogniser (``emulator/engine/models/rec_tiny_latin.onnx``) on
document text lines, on CPU, resumably.

    .venv/bin/python -m training.recogniser.train --data DIR [DIR ...] --val SHARD.npz \\
        --ckpt DIR [--resume] [--minutes M] [--steps 20000] [--batch 32] [--lr 1e-4] \\
        [--height 36] [--threads 1] [--eval-every 500]

The ONNX model is converted to PyTorch with ``onnx2torch`` (its final Softmax cut off, so
the network gives logits) and checked against ONNX Runtime on load. Lines are preprocessed
exactly as the engine reads them (:func:`emulator.engine.recognition._rec_input`, ``--height``
px high, at least 64 columns), batched by width as the engine batches them
(:func:`emulator.engine.recognition.rec_batches`) and trained with CTC (blank 0, the model's
``character`` metadata as classes 1..N, the space N+1) by AdamW with a warm-up and a cosine
decay. BatchNorm's running statistics stay frozen unless ``--train-bn``; a moving average of
the weights (``--ema``) is what is evaluated, kept as ``best.pt`` and exported.

``DIR/*.npz`` shards are read with :func:`training.recogniser.lines.read_shard`, in an order
that is a function of ``--seed`` and the epoch; the checkpoint records where in that order
training stands, so ``--resume`` continues with data not yet seen, from exactly the state
``last.pt`` holds. See ``README.md`` here for the whole recipe.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import itertools
import json
import math
import os
import random
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import onnx
import torch
import torch.nn.functional as F
from torch import nn

from emulator.engine.recognition import _rec_input, rec_batches
from training.recogniser.prune import characters

ROOT = Path(__file__).resolve().parents[2]
#: The starting model (PP-OCRv6 tiny, Apache-2.0, pruned by ``prune.py``).
SOURCE = ROOT / "emulator" / "engine" / "models" / "rec_tiny_latin.onnx"
#: CTC's blank class.
BLANK = 0
#: The engine pads a recognition batch to at least this many columns.
MIN_WIDTH = 64
#: A batch's widest line is at most this much wider than its narrowest (the engine's rule).
MAX_PAD = 0.15
#: Conversion to PyTorch must match ONNX Runtime's probabilities to this.
TOLERANCE = 1e-3
CHECKPOINT_VERSION = 1

Position = tuple[int, int, int]
"""Where the training stream stands: (epoch, shard's place in the epoch's order, sample's
place in the shard's order)."""
Log = Callable[[str], None]


class Line(Protocol):
    """A text line (what :class:`training.recogniser.lines.LineSample` provides)."""

    @property
    def image(self) -> npt.NDArray[np.uint8]:
        """(H, W, 3) uint8, BGR."""
        ...

    @property
    def text(self) -> str: ...


Reader = Callable[[Path], Sequence[Line]]


def read_shard(path: Path) -> Sequence[Line]:
    """A shard's lines, by :func:`training.recogniser.lines.read_shard` (imported when first
    needed)."""
    from training.recogniser import lines

    return lines.read_shard(path)


# -- the model -----------------------------------------------------------------------------


def logits_proto(proto: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``proto`` without its final Softmax (the graph gives logits) and without its
    recorded intermediate shapes (stale ones break onnx2torch's conversion)."""
    out = onnx.ModelProto()
    out.CopyFrom(proto)
    graph = out.graph
    softmax = [node for node in graph.node if node.op_type == "Softmax"]
    if len(softmax) != 1 or softmax[0].output[0] != graph.output[0].name:
        raise ValueError("the recogniser does not end in one Softmax")
    graph.node.remove(softmax[0])
    graph.output[0].name = softmax[0].input[0]
    del graph.value_info[:]
    return out


def make_trainable(model: nn.Module) -> int:
    """Turn onnx2torch's initializer buffers (conv biases, layer scales, the classifier's
    matrices) into parameters; scalar constants (GELU's) stay buffers. The number turned."""
    count = 0
    for module in model.modules():
        for name, buffer in list(module.named_buffers(recurse=False)):
            initializer = name.startswith("onnx_initializer") and buffer.is_floating_point()
            if initializer and buffer.numel() > 1:
                delattr(module, name)
                module.register_parameter(name, nn.Parameter(buffer.detach().clone()))
                count += 1
    return count


def check_conversion(model: nn.Module, source: bytes, height: int) -> float:
    """The largest difference between ``model``'s softmax and ONNX Runtime's output of the
    ``source`` model on a random input; raises when over :data:`TOLERANCE`."""
    import onnxruntime as ort

    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, height, 160)).astype(np.float32)
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: x})[0]
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        got = model(torch.from_numpy(x)).softmax(-1).numpy()
    model.train(was_training)
    if got.shape != expected.shape:
        raise RuntimeError(f"converted model gives {got.shape}, ONNX Runtime {expected.shape}")
    diff = float(np.abs(got - expected).max())
    if diff >= TOLERANCE:
        raise RuntimeError(f"converted model differs from ONNX Runtime by {diff:.2e}")
    return diff


def load_model(
    source: Path = SOURCE, height: int = 36, verify: bool = True
) -> tuple[nn.Module, list[str]]:
    """The recogniser as a PyTorch module giving logits (N, T, classes), in eval mode, and
    its dictionary. ``verify`` checks it against ONNX Runtime (:func:`check_conversion`)."""
    from onnx2torch import convert  # type: ignore[import-untyped]

    data = source.read_bytes()
    proto = onnx.load_from_string(data)
    # onnx2torch returns a module in training mode: a forward pass in that mode would move
    # BatchNorm's running statistics, so it goes to eval mode before anything runs.
    model: nn.Module = convert(logits_proto(proto)).eval()
    make_trainable(model)
    if verify:
        check_conversion(model, data, height)
    return model, characters(proto)


def output_columns(width: int) -> int:
    """The model's output columns (T) for an input ``width`` px wide (its ONNX output
    shape: ``floor(floor(floor(W/2 - 1/2)/2)/2 - 1/2) + 1``)."""
    return ((((width - 1) // 2) // 2) - 1) // 2 + 1


def set_training(model: nn.Module, train_bn: bool) -> None:
    """``model`` in training mode, its BatchNorm layers in eval mode (running statistics
    frozen) unless ``train_bn``."""
    model.train()
    if not train_bn:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


# -- labels and inputs ---------------------------------------------------------------------


class Codec:
    """Text to CTC classes and back: 0 the blank, 1..N the model's dictionary, N+1 the
    space (as rapidocr's decoder reads the model)."""

    def __init__(self, chars: Sequence[str]) -> None:
        self.chars = list(chars)
        self.index = {char: i + 1 for i, char in enumerate(self.chars)}
        self.index[" "] = len(self.chars) + 1
        self.classes = len(self.chars) + 2

    def encode(self, text: str) -> list[int] | None:
        """``text``'s classes, or None when it has a character outside the dictionary."""
        try:
            return [self.index[char] for char in text]
        except KeyError:
            return None

    def char(self, cls: int) -> str:
        return " " if cls == self.classes - 1 else self.chars[cls - 1]

    def decode(self, best: Sequence[int]) -> str:
        """Greedy CTC decoding of a best path: repeats collapsed, blanks dropped."""
        out: list[str] = []
        previous = BLANK
        for cls in best:
            if cls != previous and cls != BLANK:
                out.append(self.char(cls))
            previous = cls
        return "".join(out)


def ctc_length(label: Sequence[int]) -> int:
    """The fewest output columns CTC needs for ``label`` (a blank between repeats)."""
    return len(label) + sum(1 for a, b in itertools.pairwise(label) if a == b)


def input_width(image: npt.NDArray[np.uint8], height: int) -> int:
    """A line's width when read ``height`` px high (the engine's rule)."""
    h, w = image.shape[:2]
    return max(round(int(w) * height / max(int(h), 1)), 1)


def batch_input(images: Sequence[npt.NDArray[np.uint8]], height: int) -> npt.NDArray[np.float32]:
    """The engine's input for ``images``: (N, 3, height, widest) in [-1, 1], zero-padded on
    the right, at least :data:`MIN_WIDTH` columns."""
    widths = [input_width(image, height) for image in images]
    tensor = np.zeros((len(images), 3, height, max(*widths, MIN_WIDTH)), dtype=np.float32)
    for row, (image, width) in enumerate(zip(images, widths, strict=True)):
        _rec_input(image, width, tensor[row])
    return tensor


@dataclasses.dataclass(frozen=True, slots=True)
class Example:
    """A line ready to train on: its image and classes."""

    image: npt.NDArray[np.uint8]
    label: tuple[int, ...]


def example(line: Line, codec: Codec, height: int) -> Example | None:
    """``line`` as an :class:`Example`, or None when its text has characters outside the
    dictionary or needs more CTC columns than its width gives."""
    label = codec.encode(line.text)
    if label is None:
        return None
    width = max(input_width(line.image, height), MIN_WIDTH)
    if ctc_length(label) > output_columns(width):
        return None
    return Example(line.image, tuple(label))


# -- the training stream -------------------------------------------------------------------


class Stream:
    """The training lines, epoch after epoch: shards in an order drawn from ``seed`` and the
    epoch, each shard's lines in an order drawn from ``seed``, the epoch and the shard. The
    order is a function of the seed alone, so a :data:`Position` is all a resumed run needs."""

    def __init__(self, shards: Sequence[Path], seed: int, reader: Reader) -> None:
        if not shards:
            raise ValueError("no training shards")
        self.shards = list(shards)
        self.seed = seed
        self.reader = reader
        self._cached: tuple[tuple[int, int], list[Line]] | None = None

    def shard_order(self, epoch: int) -> list[int]:
        rng = np.random.default_rng([self.seed, epoch])
        return [int(i) for i in rng.permutation(len(self.shards))]

    def shard(self, epoch: int, place: int) -> list[Line]:
        """The lines of the epoch's ``place``-th shard, in their order for that epoch."""
        key = (epoch, place)
        if self._cached is None or self._cached[0] != key:
            index = self.shard_order(epoch)[place]
            lines = list(self.reader(self.shards[index]))
            rng = np.random.default_rng([self.seed, epoch, index, 1])
            self._cached = (key, [lines[int(i)] for i in rng.permutation(len(lines))])
        return self._cached[1]

    def read(self, start: Position) -> Iterator[tuple[Line, Position]]:
        """Lines from ``start`` on, each with the position after it (endless)."""
        epoch, place, offset = start
        while True:
            found = False
            while place < len(self.shards):
                lines = self.shard(epoch, place)
                for i in range(offset, len(lines)):
                    found = True
                    if i + 1 < len(lines):
                        after = (epoch, place, i + 1)
                    elif place + 1 < len(self.shards):
                        after = (epoch, place + 1, 0)
                    else:
                        after = (epoch + 1, 0, 0)
                    yield lines[i], after
                place, offset = place + 1, 0
            if not found and start == (epoch, 0, 0):
                raise ValueError("the training shards hold no lines")
            epoch, place, offset = epoch + 1, 0, 0
            start = (epoch, 0, 0)


@dataclasses.dataclass(frozen=True, slots=True)
class Window:
    """A run of the stream cut into batches: lines of similar width together, the batches
    in a shuffled order."""

    start: Position
    end: Position
    batches: list[list[Example]]
    skipped: int


def plan_batches(widths: Sequence[int], batch: int, max_columns: int) -> list[list[int]]:
    """Indices grouped as the engine groups lines (:func:`rec_batches`): sorted by width, at
    most ``batch`` together, the widest at most 15% wider than the narrowest, the padded
    columns within ``max_columns``."""
    return rec_batches([max(w, MIN_WIDTH) for w in widths], batch, MAX_PAD, max_columns)


def make_window(stream: Stream, start: Position, size: int, codec: Codec, config: Config) -> Window:
    """The next ``size`` usable lines of ``stream`` from ``start``, batched."""
    examples: list[Example] = []
    skipped = 0
    end = start
    for line, end in stream.read(start):  # noqa: B007 (end is the position after the line)
        item = example(line, codec, config.height)
        if item is None:
            skipped += 1
            if skipped > 100 * size and not examples:
                raise ValueError("no training line can be encoded with the model's characters")
        else:
            examples.append(item)
        if len(examples) >= size:
            break
    widths = [input_width(item.image, config.height) for item in examples]
    groups = plan_batches(widths, config.batch, config.max_columns)
    order = np.random.default_rng([config.seed, *start, 2]).permutation(len(groups))
    batches = [[examples[i] for i in groups[int(j)]] for j in order]
    return Window(start, end, batches, skipped)


# -- training ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    """What a training run is: stored in its checkpoints, and taken from there on resume."""

    shards: tuple[str, ...]
    val: str
    source: str = str(SOURCE)
    height: int = 36
    batch: int = 32
    lr: float = 1e-4
    steps: int = 20_000
    warmup: int = 300
    final_lr: float = 0.02
    weight_decay: float = 0.01
    clip: float = 5.0
    max_columns: int = 32 * 400
    window: int = 1024
    seed: int = 0
    train_bn: bool = False
    ema: float = 0.999


@dataclasses.dataclass
class WarmupCosine:
    """The learning rate's factor at a step: linear warm-up over ``warmup`` steps, then a
    cosine decay to ``final`` at ``steps``. (No slots: LambdaLR saves its ``__dict__``.)"""

    warmup: int
    steps: int
    final: float

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / max(1, self.steps - self.warmup))
        return self.final + (1.0 - self.final) * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_optimizer(
    model: nn.Module, config: Config
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (weight decay on kernels and matrices only) and its warm-up/cosine schedule."""
    decay: list[nn.Parameter] = []
    rest: list[nn.Parameter] = []
    for param in model.parameters():
        # Kernels and matrices have at least two dimensions over 1; biases, BatchNorm's
        # affine terms and layer scales (1, C, 1, 1) have one.
        (decay if sum(d > 1 for d in param.shape) >= 2 else rest).append(param)
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ],
        lr=config.lr,
    )
    schedule = WarmupCosine(config.warmup, config.steps, config.final_lr)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


class Ema:
    """An exponential moving average of a model's weights (evaluated, saved and exported in
    place of the raw weights, which wander from step to step). Its decay at step ``t`` is
    ``min(decay, (1 + t) / (10 + t))``, so early on it follows the model closely."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for param in self.model.parameters():
            param.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        weight = 1.0 - min(self.decay, (1 + step) / (10 + step))
        for mine, theirs in zip(self.model.parameters(), model.parameters(), strict=True):
            mine.lerp_(theirs.detach(), weight)
        for buffer, source in zip(self.model.buffers(), model.buffers(), strict=True):
            buffer.copy_(source)


def ctc_loss(model: nn.Module, batch: Sequence[Example], height: int) -> torch.Tensor:
    """Mean CTC loss of ``model`` on ``batch`` (every output column counts, padding
    included, as the engine decodes them all)."""
    x = torch.from_numpy(batch_input([item.image for item in batch], height))
    log_probs = model(x).log_softmax(-1).transpose(0, 1)  # (T, N, C)
    columns, n = log_probs.shape[:2]
    targets = torch.tensor([c for item in batch for c in item.label], dtype=torch.long)
    target_lengths = torch.tensor([len(item.label) for item in batch], dtype=torch.long)
    input_lengths = torch.full((n,), columns, dtype=torch.long)
    return F.ctc_loss(
        log_probs,
        targets,
        input_lengths,
        target_lengths,
        blank=BLANK,
        reduction="mean",
        zero_infinity=True,
    )


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    batch: Sequence[Example],
    config: Config,
) -> float:
    """One optimiser step on ``batch``; its loss before the step."""
    loss = ctc_loss(model, batch, config.height)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]
    if config.clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), config.clip)
    optimizer.step()
    scheduler.step()
    return float(loss.detach())


# -- evaluation ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Evaluation:
    lines: int
    cer: float
    accuracy: float
    seconds: float


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(a, b))


def read_lines(
    model: nn.Module, images: Sequence[npt.NDArray[np.uint8]], codec: Codec, config: Config
) -> list[str]:
    """Greedy CTC readings of ``images``, batched as the engine batches them."""
    was_training = model.training
    model.eval()
    texts = [""] * len(images)
    widths = [input_width(image, config.height) for image in images]
    with torch.inference_mode():
        for group in plan_batches(widths, config.batch, config.max_columns):
            x = torch.from_numpy(batch_input([images[i] for i in group], config.height))
            best = model(x).argmax(-1).numpy()
            for row, i in enumerate(group):
                texts[i] = codec.decode([int(c) for c in best[row]])
    model.train(was_training)
    return texts


def evaluate(model: nn.Module, lines: Sequence[Line], codec: Codec, config: Config) -> Evaluation:
    """CER (edit distance over truth length, pooled) and exact-line accuracy on ``lines``
    (every line, those with characters the model cannot read included)."""
    start = time.perf_counter()
    texts = read_lines(model, [line.image for line in lines], codec, config)
    errors = sum(edit_distance(t, line.text) for t, line in zip(texts, lines, strict=True))
    chars = sum(len(line.text) for line in lines)
    exact = sum(t == line.text for t, line in zip(texts, lines, strict=True))
    return Evaluation(
        lines=len(lines),
        cer=errors / max(chars, 1),
        accuracy=exact / max(len(lines), 1),
        seconds=time.perf_counter() - start,
    )


# -- checkpoints ---------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_atomic(payload: dict[str, Any], path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then renamed into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        torch.save(payload, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def weights(payload: dict[str, Any], raw: bool = False) -> dict[str, torch.Tensor]:
    """A checkpoint's model weights: the moving average's, unless ``raw`` or it has none."""
    state: dict[str, torch.Tensor] = payload["model"]
    if not raw and payload.get("ema") is not None:
        state = payload["ema"]
    return state


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint written by :func:`train` (it holds RNG states, so it is unpickled in
    full: load only checkpoints you made)."""
    payload: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    if payload.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path} is not a version {CHECKPOINT_VERSION} checkpoint")
    return payload


def rng_states() -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


@dataclasses.dataclass(slots=True)
class Progress:
    """Where a run stands (saved in ``last.pt``)."""

    step: int = 0
    samples: int = 0
    skipped: int = 0
    window_start: Position = (0, 0, 0)
    window_batch: int = 0
    best_cer: float = math.inf
    best_step: int = 0
    history: list[dict[str, float]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class Run:
    """What :func:`train` did in this call."""

    progress: Progress
    losses: list[float]
    stopped: str


def list_shards(dirs: Sequence[Path]) -> list[Path]:
    """Every ``*.npz`` in ``dirs``, sorted within each directory."""
    shards: list[Path] = []
    for directory in dirs:
        found = sorted(directory.glob("*.npz"))
        if not found:
            raise SystemExit(f"{directory}: no *.npz shards")
        shards.extend(p.resolve() for p in found)
    return shards


def train(
    config: Config,
    ckpt: Path,
    *,
    resume: bool = False,
    minutes: float | None = None,
    stop_at_step: int | None = None,
    eval_every: int = 500,
    reader: Reader = read_shard,
    log: Log = print,
    stop_requested: Callable[[], bool] = lambda: False,
) -> Run:
    """Train (or, with ``resume``, go on training from ``ckpt/last.pt``, whose config then
    stands for ``config``'s) until the planned steps, ``minutes`` of wall time or
    ``stop_at_step``, or until ``stop_requested()`` (asked between steps); evaluate and save
    ``last.pt`` (and ``best.pt`` on a better val CER) every ``eval_every`` steps, and
    ``last.pt`` when stopping."""
    began = time.perf_counter()
    ckpt.mkdir(parents=True, exist_ok=True)
    last_path, best_path = ckpt / "last.pt", ckpt / "best.pt"
    payload: dict[str, Any] | None = None
    if resume:
        payload = load_checkpoint(last_path)
        stored = Config(**{**payload["config"], "shards": tuple(payload["config"]["shards"])})
        if config.shards and tuple(config.shards) != stored.shards:
            raise SystemExit("--data names other shards than the checkpoint was trained on")
        config = stored
    elif last_path.exists():
        raise SystemExit(f"{last_path} exists: --resume it, or train into another --ckpt")
    source = Path(config.source)
    source_sha = sha256(source)
    if payload is not None and payload["source_sha256"] != source_sha:
        raise SystemExit(f"{source} is not the model the checkpoint started from")
    if Path(config.val).resolve() in {Path(s).resolve() for s in config.shards}:
        raise SystemExit("the validation shard is among the training shards")

    model, chars = load_model(source, config.height)
    codec = Codec(chars)
    optimizer, scheduler = make_optimizer(model, config)
    progress = Progress()
    if payload is not None:
        model.load_state_dict(payload["model"])
    ema = Ema(model, config.ema) if config.ema > 0 else None
    if payload is not None:
        if ema is not None:
            ema.model.load_state_dict(payload.get("ema") or payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        scheduler.load_state_dict(payload["scheduler"])
        progress = Progress(**payload["progress"])
        progress.window_start = (
            int(progress.window_start[0]),
            int(progress.window_start[1]),
            int(progress.window_start[2]),
        )
        set_rng_states(payload["rng"])
        log(f"resumed {last_path} at step {progress.step} ({progress.samples} lines seen)")
    val = list(reader(Path(config.val)))
    stream = Stream([Path(s) for s in config.shards], config.seed, reader)

    def checkpoint(path: Path) -> None:
        save_atomic(
            {
                "version": CHECKPOINT_VERSION,
                "config": dataclasses.asdict(config),
                "source_sha256": source_sha,
                "characters": chars,
                "model": model.state_dict(),
                "ema": None if ema is None else ema.model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "progress": dataclasses.asdict(progress),
                "rng": rng_states(),
            },
            path,
        )

    losses: list[float] = []
    since: list[float] = []
    since_lines = 0
    train_seconds = 0.0

    def report() -> None:
        nonlocal since_lines, train_seconds
        result = evaluate(model if ema is None else ema.model, val, codec, config)
        rate = since_lines / train_seconds if train_seconds > 0 else 0.0
        loss = float(np.mean(since)) if since else math.nan
        entry = {
            "step": progress.step,
            "samples": progress.samples,
            "loss": loss,
            "val_cer": result.cer,
            "val_accuracy": result.accuracy,
            "lines_per_s": rate,
            "lr": float(scheduler.get_last_lr()[0]),
            "skipped": progress.skipped,
        }
        progress.history.append(entry)
        improved = result.cer < progress.best_cer
        loss_text = f"{loss:7.4f}" if since else "      -"
        if improved:
            progress.best_cer, progress.best_step = result.cer, progress.step
        log(
            f"step {progress.step:6d}  samples {progress.samples:8d}  loss {loss_text}  "
            f"val CER {100 * result.cer:6.2f}%  line acc {100 * result.accuracy:5.1f}%  "
            f"{rate:5.1f} lines/s  lr {entry['lr']:.2e}  skipped {progress.skipped}  "
            f"(val {result.lines} lines in {result.seconds:.0f} s)"
            + ("  *best" if improved else "")
        )
        with (ckpt / "log.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        checkpoint(last_path)
        if improved:
            checkpoint(best_path)
        since.clear()
        since_lines, train_seconds = 0, 0.0

    if payload is None:
        report()  # the starting model's figures, step 0
    set_training(model, config.train_bn)
    deadline = None if minutes is None else began + 60.0 * minutes
    window: Window | None = None
    stopped = "planned steps done"
    while progress.step < config.steps:
        if stop_at_step is not None and progress.step >= stop_at_step:
            stopped = f"step {stop_at_step} reached"
            break
        if deadline is not None and time.perf_counter() >= deadline:
            stopped = f"{minutes} minutes passed"
            break
        if stop_requested():
            stopped = "asked to stop"
            break
        if window is None:
            window = make_window(stream, progress.window_start, config.window, codec, config)
        batch = window.batches[progress.window_batch]
        tick = time.perf_counter()
        loss = train_step(model, optimizer, scheduler, batch, config)
        if ema is not None:
            ema.update(model, progress.step)
        train_seconds += time.perf_counter() - tick
        losses.append(loss)
        since.append(loss)
        since_lines += len(batch)
        progress.step += 1
        progress.samples += len(batch)
        progress.window_batch += 1
        if progress.window_batch >= len(window.batches):
            progress.skipped += window.skipped
            progress.window_start, progress.window_batch = window.end, 0
            window = None
        if progress.step % eval_every == 0 or progress.step == config.steps:
            report()
            set_training(model, config.train_bn)
    if not progress.history or progress.history[-1]["step"] != progress.step:
        checkpoint(last_path)
    log(
        f"stopped at step {progress.step}: {stopped}; best val CER "
        f"{100 * progress.best_cer:.2f}% at step {progress.best_step}"
    )
    return Run(progress, losses, stopped)


#: The defaults of a run (the command line's).
DEFAULTS = Config(shards=(), val="")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, nargs="+", default=[], help="dirs of *.npz shards")
    parser.add_argument("--val", type=Path, help="the held-out validation shard")
    parser.add_argument("--ckpt", type=Path, required=True, help="checkpoint directory")
    parser.add_argument("--resume", action="store_true", help="go on from CKPT/last.pt")
    parser.add_argument("--minutes", type=float, help="stop (saving last.pt) after this")
    parser.add_argument("--stop-at-step", type=int, help="stop (saving last.pt) at this step")
    parser.add_argument("--steps", type=int, default=DEFAULTS.steps, help="planned steps")
    parser.add_argument("--warmup", type=int, default=DEFAULTS.warmup)
    parser.add_argument("--batch", type=int, default=DEFAULTS.batch)
    parser.add_argument("--max-columns", type=int, default=DEFAULTS.max_columns)
    parser.add_argument("--window", type=int, default=DEFAULTS.window, help="lines bucketed")
    parser.add_argument("--lr", type=float, default=DEFAULTS.lr)
    parser.add_argument("--weight-decay", type=float, default=DEFAULTS.weight_decay)
    parser.add_argument("--clip", type=float, default=DEFAULTS.clip, help="gradient norm cap")
    parser.add_argument("--height", type=int, default=DEFAULTS.height)
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--train-bn", action="store_true", help="update BatchNorm's stats")
    parser.add_argument("--ema", type=float, default=DEFAULTS.ema, help="weight EMA decay (0: off)")
    parser.add_argument("--source", type=Path, default=SOURCE, help="the starting ONNX model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--eval-every", type=int, default=500)
    args = parser.parse_args(argv)
    if not args.resume and (not args.data or args.val is None):
        parser.error("--data and --val are needed (unless --resume)")
    torch.set_num_threads(args.threads)
    shards = tuple(str(p) for p in list_shards(args.data)) if args.data else ()
    config = Config(
        shards=shards,
        val=str(args.val.resolve()) if args.val else "",
        source=str(args.source.resolve()),
        height=args.height,
        batch=args.batch,
        lr=args.lr,
        steps=args.steps,
        warmup=args.warmup,
        weight_decay=args.weight_decay,
        clip=args.clip,
        max_columns=args.max_columns,
        window=args.window,
        seed=args.seed,
        train_bn=args.train_bn,
        ema=args.ema,
    )
    if args.resume:
        print("resuming: data, schedule and hyper-parameters come from last.pt")
    signals: list[int] = []

    def stop(signum: int, frame: object) -> None:
        if signals:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        signals.append(signum)
        print(f"signal {signum}: stopping after this step (saving last.pt)", flush=True)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    train(
        config,
        args.ckpt,
        resume=args.resume,
        minutes=args.minutes,
        stop_at_step=args.stop_at_step,
        eval_every=args.eval_every,
        log=lambda line: print(line, flush=True),
        stop_requested=lambda: bool(signals),
    )


if __name__ == "__main__":
    main()
