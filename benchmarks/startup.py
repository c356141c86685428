"""Start-up: how long importing the SDK takes in a fresh interpreter, what it costs to build the
first client, which modules that pulls in, and how long the emulator takes from launch to
``/ready`` (engines loaded).

Goals: ``import ocr_sdk`` at most 150 ms (median) with no engine, numpy or Pillow imported; the
emulator ready within 3 s on this machine. Each figure is a median of ``--reps`` fresh
interpreters, printed with the raw figures (the machine is noisy: use 9 or more).

Four SDK measurements, each timed inside a new interpreter (its own start-up not included):

* ``import ocr_sdk``;
* ``from ocr_sdk import OcrClient, AsyncOcrClient``;
* the import, ``OcrClient("https://example.invalid", "key")`` and ``close()``: what a program
  pays before its first request, including what the import leaves to the constructor (httpx,
  the TLS context);
* the same plus parsing a one-word succeeded result into a ``ReadResult``: what is paid before
  the first result, including what is left to the first parse (pydantic, the models, their
  validators).

No network: an audit hook counts socket connects and name look-ups, and they must stay 0.

::

    .venv/bin/python benchmarks/startup.py [--reps 11] [--skip-emulator] [--breakdown]
    .venv/bin/python benchmarks/startup.py --python /tmp/sdkvenv/bin/python --skip-emulator

``--python`` measures the SDK with another interpreter; the emulator part always runs with this
one. The development venv has the dev extras (click, rich, tornado, ...) that some of the SDK's
dependencies import when they are installed, so measure an SDK-only venv too. To make one (the
base install without extras is the SDK only, the package registry is reachable)::

    python3 -m venv /tmp/sdkvenv && /tmp/sdkvenv/bin/pip install -q -e /work/main

``--sdk-dir DIR`` measures the ``ocr_sdk`` package in ``DIR`` instead of this checkout's (the
probes run there, so it comes first on ``sys.path``), e.g. an older commit for a before/after
comparison in the same noisy minute::

    mkdir /tmp/before && git archive <commit> ocr_sdk | tar -x -C /tmp/before
    .venv/bin/python benchmarks/startup.py --skip-emulator --sdk-dir /tmp/before

``--breakdown`` adds ``python -X importtime`` runs and prints the modules with the largest
median cumulative import time, to see where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import PYTHON, ROOT, median, run_emulator

#: Modules the SDK must never import by itself: engines, image and array libraries, servers.
HEAVY = ("numpy", "PIL", "onnxruntime", "rapidocr", "cv2", "starlette", "emulator")
#: The SDK's own dependencies, reported so that what is loaded when stays visible.
DEPENDENCIES = ("httpx", "pydantic", "tenacity", "ssl", "asyncio")

_PROBE = """
import sys, time
_network = []
def _audit(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
        _network.append(event)
sys.addaudithook(_audit)
started, cpu = time.perf_counter(), time.process_time()
{statement}
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
import json
print(json.dumps({{
    "seconds": elapsed,
    "cpu": cpu,
    "file": sys.modules["ocr_sdk"].__file__,
    "loaded": sorted(m for m in {watched!r} if m in sys.modules),
    "modules": len(sys.modules),
    "network": _network,
}}))
"""

#: A succeeded operation with one word: what a first ``read()`` parses.
_RESULT = {
    "status": "succeeded",
    "analyzeResult": {
        "version": "3.2.0",
        "readResults": [
            {
                "page": 1,
                "angle": 0,
                "width": 600,
                "height": 200,
                "unit": "pixel",
                "lines": [
                    {
                        "boundingBox": [10, 10, 90, 10, 90, 30, 10, 30],
                        "text": "Hello",
                        "appearance": {"style": {"name": "other", "confidence": 0.9}},
                        "words": [
                            {
                                "boundingBox": [10, 10, 90, 10, 90, 30, 10, 30],
                                "text": "Hello",
                                "confidence": 0.99,
                            }
                        ],
                    }
                ],
            }
        ],
    },
}

#: (label, statement) of each measurement.
MEASUREMENTS = (
    ("import ocr_sdk", "import ocr_sdk"),
    (
        "from ocr_sdk import OcrClient, AsyncOcrClient",
        "from ocr_sdk import OcrClient, AsyncOcrClient",
    ),
    (
        'import + OcrClient("https://example.invalid", "key") + close()',
        "from ocr_sdk import OcrClient\n"
        'client = OcrClient("https://example.invalid", "key")\n'
        "client.close()",
    ),
    (
        "import + construct + first result parsed + close()",
        "from ocr_sdk import OcrClient, ReadOperationResult, ReadResult\n"
        'client = OcrClient("https://example.invalid", "key")\n'
        f"operation = ReadOperationResult.model_validate({_RESULT!r})\n"
        'assert ReadResult.from_operation("op", operation).text == "Hello"\n'
        "client.close()",
    ),
)


@dataclass(frozen=True)
class Probe:
    """What one fresh interpreter reports after running a measured statement."""

    seconds: float
    cpu: float
    file: str
    loaded: list[str]
    modules: int
    network: list[str]


def probe(python: str, statement: str, sdk_dir: Path = ROOT) -> Probe:
    """Run ``statement`` timed in a new ``python`` in ``sdk_dir`` and return what it reports."""
    code = _PROBE.format(statement=statement, watched=HEAVY + DEPENDENCIES)
    done = subprocess.run([python, "-c", code], cwd=sdk_dir, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{python} failed to run {statement!r}:\n{done.stderr}")
    return Probe(**json.loads(done.stdout))


def interpreter_time(python: str) -> float:
    """Seconds a bare interpreter start takes (context for the import figures)."""
    started = time.perf_counter()
    subprocess.run([python, "-c", "pass"], capture_output=True, check=True)
    return time.perf_counter() - started


def import_breakdown(
    python: str, reps: int, top: int, sdk_dir: Path = ROOT
) -> list[tuple[str, float, float]]:
    """(module, median self ms, median cumulative ms) of the ``top`` modules with the largest
    median cumulative time under ``python -X importtime -c "import ocr_sdk"``."""
    own: dict[str, list[float]] = defaultdict(list)
    cumulative: dict[str, list[float]] = defaultdict(list)
    for _ in range(reps):
        done = subprocess.run(
            [python, "-X", "importtime", "-c", "import ocr_sdk"],
            cwd=sdk_dir,
            capture_output=True,
            text=True,
            check=True,
        )
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
            own[name.strip()].append(int(self_us) / 1000)
            cumulative[name.strip()].append(int(cumulative_us) / 1000)
    rows = [(name, median(own[name]), median(times)) for name, times in cumulative.items()]
    rows.sort(key=lambda row: row[2], reverse=True)
    return rows[:top]


def _ms(values: list[float]) -> str:
    return str([round(value * 1000) for value in values])


def measure_sdk(python: str, reps: int, sdk_dir: Path = ROOT) -> None:
    """Print the SDK measurements for ``python`` and the ``ocr_sdk`` in ``sdk_dir``."""
    results: dict[str, list[Probe]] = {label: [] for label, _ in MEASUREMENTS}
    bare = []
    for rep in range(reps):
        # Interleaved, and in a rotating order, so a noisy moment does not hit one figure only.
        shift = rep % len(MEASUREMENTS)
        order = MEASUREMENTS[shift:] + MEASUREMENTS[:shift]
        for label, statement in order:
            results[label].append(probe(python, statement, sdk_dir))
        bare.append(interpreter_time(python))
    print(f"interpreter: {python}\nocr_sdk from: {results[MEASUREMENTS[0][0]][0].file}")
    print(f"bare interpreter start (context): median {median(bare) * 1000:.0f} ms, raw {_ms(bare)}")
    heavy: set[str] = set()
    for label, runs in results.items():
        wall = [run.seconds for run in runs]
        cpu = [run.cpu for run in runs]
        goal = " (goal <= 150)" if label == "import ocr_sdk" else ""
        network = sum(len(run.network) for run in runs)
        heavy.update(m for run in runs for m in run.loaded if m in HEAVY)
        print(
            f"{label}: median {median(wall) * 1000:.0f} ms wall{goal}, "
            f"{median(cpu) * 1000:.0f} ms CPU; raw wall {_ms(wall)}\n"
            f"    loaded: {', '.join(runs[0].loaded) or 'none'} "
            f"({runs[0].modules} modules in sys.modules); network calls: {network}"
        )
    print(f"heavy modules loaded by any measurement: {', '.join(sorted(heavy)) or 'none'}")


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument(
        "--python", default=PYTHON, help="interpreter to measure the SDK with (default: this one)"
    )
    parser.add_argument(
        "--sdk-dir",
        type=Path,
        default=ROOT,
        help="directory holding the ocr_sdk package to measure (default: this checkout)",
    )
    parser.add_argument("--skip-emulator", action="store_true", help="skip the /ready timing")
    parser.add_argument(
        "--breakdown", action="store_true", help="also print the slowest imports (-X importtime)"
    )
    args = parser.parse_args()
    # The probes run in --sdk-dir, so a relative --python must not be looked up from there.
    found = shutil.which(args.python)
    python = os.path.abspath(found) if found else args.python
    measure_sdk(python, args.reps, args.sdk_dir)
    if args.breakdown:
        print("slowest imports under -X importtime (median self / cumulative ms):")
        slowest = import_breakdown(python, args.reps, top=25, sdk_dir=args.sdk_dir)
        for name, own, cumulative in slowest:
            print(f"    {cumulative:7.1f} {own:7.1f}  {name}")
    if args.skip_emulator:
        return
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
