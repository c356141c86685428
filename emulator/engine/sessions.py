"""ONNX Runtime sessions and the model files behind them, shared by the engine's stages.

The detector (:mod:`emulator.engine.detection`) and the recognisers
(:mod:`emulator.engine.recognition`) run on sessions made by :func:`_session`; the wheel's
model files are found by :func:`wheel_model_paths` (never downloaded), and the recogniser's
free-height copy is made once and cached (:func:`free_height_model`). The C heap is kept from
holding a worker's page-sized temporaries (:func:`_malloc_trim`, :func:`_map_big_allocations`).

The stages call :func:`_session` through this module (``sessions._session``), so
``benchmarks/engine_speed.py`` can wrap it to try other session settings.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["cache_dir", "free_height_model", "free_input_height", "wheel_model_paths"]

_log = logging.getLogger("emulator.engine")

_DET_MODEL = "PP-OCRv6_det_small.onnx"
_REC_MODEL = "PP-OCRv6_rec_small.onnx"


def _session(model: Path | bytes, intra_op_threads: int | None, *, arena: bool = True) -> Any:
    """An ONNX Runtime CPU session for ``model`` with the settings measured fastest here
    (``benchmarks/engine_speed.py``, docs/performance.md): together about 0.65x the CPU time
    of rapidocr's own session settings, with identical output.

    * The CPU memory arena on (rapidocr turns it off): recognition batches change shape with
      every batch of lines, and without the arena each run allocates its tensors afresh.
    * Intra-op threads that sleep instead of spinning when idle: a worker alternates ONNX
      runs with Python steps (crops, decoding, layout) and shares the cores with other
      workers, and spinning threads burn the time those need.
    * ``arena=False`` for the detector: it runs once per page on a page-sized input, so the
      arena saves little time there, and it would keep the largest page's working memory
      (hundreds of MB) for the life of the worker.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = arena
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if intra_op_threads:
        options.intra_op_num_threads = intra_op_threads
    source = model if isinstance(model, bytes) else str(model)
    return onnxruntime.InferenceSession(
        source, sess_options=options, providers=["CPUExecutionProvider"]
    )


def _run(session: Any, tensor: npt.NDArray[np.float32], options: Any = None) -> Any:
    """``session``'s first output for ``tensor`` as its one input."""
    name = session.get_inputs()[0].name
    return session.run(None, {name: tensor}, options)[0]


def _malloc_trim() -> None:
    """Give the C heap's free pages back to the system (glibc; a no-op elsewhere). A page's
    big temporaries (the image, crops, the recogniser's outputs) are freed into the heap,
    where glibc would otherwise keep them as resident memory of the worker."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC: Any = None
# glibc's mallopt parameter for the size from which allocations get their own mapping.
_M_MMAP_THRESHOLD = -3


def _map_big_allocations(threshold: int = 1 << 20) -> None:
    """Have glibc give every allocation of ``threshold`` bytes or more its own mapping,
    returned to the system when freed. By default glibc raises that threshold as big blocks
    are freed (up to 32 MB), after which ONNX Runtime's and numpy's page-sized temporaries come
    from the heap and stay resident: a worker's RSS then ratchets up to the sum of the shapes
    it has seen. Fixing it keeps the peak at one page's working set (docs/performance.md)."""
    _malloc_trim()  # loads libc
    if _LIBC:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, threshold)


def free_input_height(model: Path) -> bytes:
    """``model`` (the recogniser) with its input's height declared free instead of 48.

    The network is convolutional up to a pooling that takes any height to 1, so it runs at
    other heights; ONNX Runtime only refuses a shape that contradicts the declared one. The
    recogniser's cost grows with height times width (and the width with the height, at a
    crop's aspect), so a lower input height is the largest saving there is
    (docs/performance.md)."""
    import onnx

    proto = onnx.load(str(model))
    dim = proto.graph.input[0].type.tensor_type.shape.dim[2]
    dim.ClearField("dim_value")
    dim.dim_param = "height"
    return bytes(proto.SerializeToString())


def cache_dir() -> Path:
    """Where derived models are kept: ``$OCR_EMULATOR_CACHE``, else
    ``$XDG_CACHE_HOME/ocr-emulator`` (``~/.cache/ocr-emulator``)."""
    explicit = os.environ.get("OCR_EMULATOR_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ocr-emulator"


def free_height_model(model: Path, cache: Path | None = None) -> Path | bytes:
    """The recogniser with a free input height (:func:`free_input_height`), made once and
    kept in ``cache`` (default :func:`cache_dir`) under the source model's SHA-256, so a
    worker's start does not pay for importing ``onnx`` and rewriting 21 MB each time.

    The file is written under a temporary name and renamed into place (never half-written
    under its final name), and checked by its own SHA-256 (recorded in its name's sidecar)
    before use; a missing or corrupt file is made again. When the cache cannot be written,
    the model is made in memory for this process and a line is logged.
    """
    cache = cache_dir() if cache is None else cache
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:32]
    path = cache / f"rec-free-height-{digest}.onnx"
    check = path.with_suffix(".sha256")
    with contextlib.suppress(OSError):
        if hashlib.sha256(path.read_bytes()).hexdigest() == check.read_text().strip():
            return path
    data = free_input_height(model)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for target, payload in ((path, data), (check, hashlib.sha256(data).hexdigest().encode())):
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(payload)
            os.replace(tmp, target)
    except OSError as error:
        _log.warning("cannot cache the recogniser in %s (%s); made in memory", cache, error)
        return data
    return path


def wheel_model_paths() -> dict[str, Path]:
    """The detector and recogniser ONNX files shipped inside the ``rapidocr`` wheel.

    Raises ``RuntimeError`` when one is missing: the emulator is offline by design and never
    lets rapidocr download a model.
    """
    import rapidocr

    models = Path(rapidocr.__file__).resolve().parent / "models"
    paths = {"det": models / _DET_MODEL, "rec": models / _REC_MODEL}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise RuntimeError(
            "rapidocr's bundled models are missing (" + ", ".join(missing) + "); reinstall "
            "rapidocr>=3.10 from its wheel. The emulator never downloads models."
        )
    return paths


def rapidocr_config(paths: dict[str, Path], intra_op_threads: int | None) -> Any:
    """rapidocr's default configuration with the model files at ``paths`` (``det``, ``rec``)
    and ``intra_op_threads`` threads (``None``: one per core). Explicit model paths, because
    rapidocr only downloads a model for a stage that has none."""
    from rapidocr.main import DEFAULT_CFG_PATH
    from rapidocr.utils.parse_parameters import ParseParams

    # rapidocr logs at INFO (model paths, timings); keep it at WARNING (after importing it:
    # its logger is set up on import). Our own code never logs document text.
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    cfg = ParseParams.load(DEFAULT_CFG_PATH)
    ort = cfg.EngineConfig.onnxruntime
    ort.intra_op_num_threads = intra_op_threads if intra_op_threads else -1
    cfg.Det.model_path = str(paths["det"])
    cfg.Rec.model_path = str(paths["rec"])
    for stage in (cfg.Det, cfg.Rec):
        stage.engine_cfg = ort
        stage.model_root_dir = str(paths["det"].parent)
    cfg.Rec.font_path = None
    return cfg


def with_session(stage_cfg: Any, session: Any) -> Any:
    """``stage_cfg`` (one stage's part of :func:`rapidocr_config`) handing rapidocr our own
    ``session`` through its ``session`` hook, for settings its config does not reach
    (:func:`_session`)."""
    from omegaconf import flag_override

    with flag_override(stage_cfg, "allow_objects", True):
        stage_cfg.session = session
    return stage_cfg
