"""Start-up: how long ``import ocr_sdk`` takes in a fresh interpreter, which heavy modules it
pulls in, and how long the emulator takes from launch to ``/ready`` (engines loaded).

Goals: ``import ocr_sdk`` at most 150 ms with no engine, numpy or Pillow imported; the emulator
ready within 3 s on this machine. Each is measured several times; medians are printed.

    .venv/bin/python benchmarks/startup.py [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import PYTHON, ROOT, median, run_emulator

_PROBE = """
import json, sys, time
started, cpu = time.perf_counter(), time.process_time()
import ocr_sdk
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
heavy = sorted(m for m in ("numpy", "PIL", "onnxruntime", "rapidocr", "cv2", "emulator")
               if m in sys.modules)
print(json.dumps({"seconds": elapsed, "cpu": cpu, "heavy": heavy}))
"""


def import_time() -> tuple[float, float, list[str]]:
    """Wall and CPU seconds ``import ocr_sdk`` takes in a new interpreter, and the heavy
    modules it loaded."""
    out = subprocess.run(
        [PYTHON, "-c", _PROBE], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout
    probe = json.loads(out)
    return float(probe["seconds"]), float(probe["cpu"]), list(probe["heavy"])


def interpreter_time() -> float:
    """Seconds a bare interpreter start takes (context for the import figure)."""
    probe = "import time; print(time.perf_counter())"
    import time

    started = time.perf_counter()
    subprocess.run([PYTHON, "-c", probe], capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    imports = [import_time() for _ in range(args.reps)]
    seconds = [wall for wall, _, _ in imports]
    cpu = [used for _, used, _ in imports]
    print(
        f"import ocr_sdk: median {median(seconds) * 1000:.0f} ms wall, "
        f"{median(cpu) * 1000:.0f} ms CPU (goal <= 150), raw wall "
        f"{[round(s * 1000) for s in seconds]}; heavy modules loaded: {imports[0][2] or 'none'}"
    )
    ready, busiest = [], []
    for _ in range(args.reps):
        with run_emulator() as emulator:
            ready.append(emulator.ready_after)
            # The processes start in parallel, so on idle cores the wait is about the CPU
            # time of the busiest one (the parent, or a worker loading its engine).
            busiest.append(max(emulator.cpu_of_each()))
    print(
        f"emulator start to /ready: median {median(ready):.2f} s wall (goal <= 3), "
        f"raw {[round(r, 2) for r in ready]}; CPU of the busiest process at ready: "
        f"median {median(busiest):.2f} s"
    )


if __name__ == "__main__":
    main()
