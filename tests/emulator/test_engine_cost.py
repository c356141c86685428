"""What makes the engine cheaper, as behaviour a user can see: recognition batches by width,
the detector run in strips, the recogniser at a lower input height, the detection scale chosen
from the text's height, and a worker's memory handed back after each page. Speed itself is a
benchmark's figure (``benchmarks/engine_speed.py``), never a test's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _img import text_page
from PIL import Image

from emulator.engine import sessions as rapid
from emulator.engine.detection import detection_scale
from emulator.engine.rapid import RapidOcrEngine
from emulator.engine.recognition import rec_batches

LINES = [
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs.",
    "Invoice 4711 dated 2024-03-15, total 99.50 EUR",
    "Sphinx of black quartz, judge my vow.",
]


def test_rec_batches_group_similar_widths_within_the_limits() -> None:
    widths = [300, 100, 310, 1000, 105, 990, 320, 2000]
    batches = rec_batches(widths, max_batch=3, max_pad=0.15, max_columns=2500)
    assert sorted(i for b in batches for i in b) == list(range(len(widths)))
    for batch in batches:
        assert len(batch) <= 3
        ws = [widths[i] for i in batch]
        assert max(ws) <= 1.15 * min(ws)  # little padding
        assert len(batch) * max(ws) <= 2500  # bounded memory per run
    assert [sorted(widths[i] for i in b) for b in batches] == [
        [100, 105],
        [300, 310, 320],
        [990, 1000],
        [2000],
    ]


def _quads(heights: list[float]) -> np.ndarray:
    return np.array([[[0, 0], [20 * h, 0], [20 * h, h], [0, h]] for h in heights], dtype=np.float64)


def test_detection_scale_follows_the_pages_small_text() -> None:
    # Large text is shrunk to the target height, small text enlarged, within floor and cap.
    assert detection_scale(_quads([40.0] * 10), 16.0, floor=0.1, cap=1.0) == pytest.approx(0.4)
    assert detection_scale(_quads([80.0] * 10), 16.0, floor=0.1, cap=1.0) == pytest.approx(0.2)
    assert detection_scale(_quads([8.0] * 10), 16.0, floor=0.1, cap=3.0) == pytest.approx(2.0)
    assert detection_scale(_quads([8.0] * 10), 16.0, floor=0.1, cap=1.0) == 1.0
    assert detection_scale(_quads([400.0] * 10), 16.0, floor=0.3, cap=1.0) == 0.3
    # The small print decides, not the body text.
    mixed = _quads([40.0] * 17 + [20.0] * 3)
    assert detection_scale(mixed, 16.0, floor=0.1, cap=1.0) == pytest.approx(0.8)
    # Nothing found by the probe: the highest scale allowed.
    assert detection_scale(np.zeros((0, 4, 2)), 16.0, floor=0.1, cap=1.0) == 1.0


def test_recogniser_input_height_is_freed_in_the_graph() -> None:
    import onnx

    proto = onnx.load_from_string(rapid.free_input_height(rapid.wheel_model_paths()["rec"]))
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[2].dim_param == "height" and not dims[2].dim_value
    assert dims[1].dim_value == 3


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return text_page(LINES)


@pytest.mark.parametrize(
    "settings",
    [
        {"det_strip": 0},  # the detector in one run
        {"det_strip": 64},  # in strips far smaller than the page
        {"rec_height": 48, "rec_min_width": 320},  # rapidocr's recogniser input
        {"det_text_height": 16.0},  # detection scale from the text's height
    ],
)
def test_every_cost_setting_reads_the_page_exactly(
    settings: dict[str, object], page: Image.Image
) -> None:
    engine = RapidOcrEngine(1, **settings)  # type: ignore[arg-type]
    result = engine.recognize(page, reading_order="natural")
    assert [line.text for line in result.lines] == LINES


def test_detection_in_strips_finds_the_same_lines(page: Image.Image) -> None:
    whole = RapidOcrEngine(1, det_strip=0)
    strips = RapidOcrEngine(1, det_strip=64)
    bgr = np.ascontiguousarray(np.asarray(page.convert("RGB"))[:, :, ::-1])
    a, b = whole.detect(bgr), strips.detect(bgr)
    assert len(a.quads) == len(b.quads) == len(LINES)
    order_a = np.argsort(a.quads[:, 0, 1])
    order_b = np.argsort(b.quads[:, 0, 1])
    assert np.abs(a.quads[order_a] - b.quads[order_b]).max() < 3.0


def _vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(key)


def test_memory_is_handed_back_after_each_page(page: Image.Image) -> None:
    """After a page, the engine keeps about what it had before it (no arena or heap left
    holding the page's working set); the peak itself is benchmarks/engine_speed.py's."""
    import os

    engine = RapidOcrEngine(1)
    engine.recognize(page)
    settled = _vm(os.getpid(), "VmRSS")
    for _ in range(3):
        engine.recognize(page)
    assert _vm(os.getpid(), "VmRSS") < settled + 40 * 1024 * 1024


def test_free_height_model_is_made_once_reused_and_rebuilt_when_corrupt(tmp_path: Path) -> None:
    source = rapid.wheel_model_paths()["rec"]
    made = rapid.free_height_model(source, tmp_path)
    assert isinstance(made, Path) and made.parent == tmp_path
    stamp = made.stat().st_mtime_ns
    assert rapid.free_height_model(source, tmp_path) == made
    assert made.stat().st_mtime_ns == stamp  # reused, not made again
    made.write_bytes(made.read_bytes()[:1000])  # a torn or corrupt file
    again = rapid.free_height_model(source, tmp_path)
    assert again == made and made.read_bytes() == rapid.free_input_height(source)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary left behind


def test_free_height_model_falls_back_to_memory_when_the_cache_is_unwritable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    made = rapid.free_height_model(rapid.wheel_model_paths()["rec"], blocker / "cache")
    assert isinstance(made, bytes)
    assert "cannot cache the recogniser" in caplog.text
