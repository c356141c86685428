"""End-to-end overhead: what the SDK and the emulator add on top of the engine for one page.

The same one-page image (``phototest.tif``), sequentially, interleaved so every variant sees the
same machine load:

(a) the engine in-process: decode, ``RapidOcrEngine.recognize`` with the settings the emulator
    uses for one worker (``--workers 1``: all cores as ONNX intra-op threads), and the result
    JSON;
(b) ``OcrClient.read()`` against the emulator (``--workers 1``) over a real socket;
(c) the same over TLS.

Prints the median wall time of each and the ratios b/a and c/a (goals: at most 1.10 and 1.12),
and the same for CPU time (client plus the emulator's whole process tree), which stays
meaningful when other processes disturb the wall clock.

    .venv/bin/python benchmarks/overhead.py [--reps 9]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import API_KEY, Emulator, median, run_emulator, sample_page
from emulator.documents import formats as documents
from emulator.engine.rapid import RapidOcrEngine
from emulator.pages import records as page_records
from emulator.settings import TIER_LIMITS, Settings
from ocr_sdk import OcrClient


def engine_direct(page: bytes) -> Callable[[], None]:
    """(a): the emulator's own steps, in this process, without HTTP, store or queue."""
    threads = Settings(api_keys=("k",), workers=1).intra_op_threads
    engine = RapidOcrEngine(intra_op_threads=threads)
    limits = TIER_LIMITS["paid"]

    def run() -> None:
        info = documents.inspect(page, limits)
        for image in documents.iter_pages(page, info, [1]):
            text = engine.recognize(image.image, reading_order="basic")
            page_records.read_result(image, text)

    return run


def over_sdk(emulator: Emulator, page: bytes) -> tuple[Callable[[], None], OcrClient]:
    """(b) or (c): one ``read()`` with the SDK."""
    client = OcrClient(emulator.endpoint, API_KEY, verify=emulator.verify)

    def run() -> None:
        result = client.read(page)
        assert result.pages and result.pages[0].lines, "the page was not read"

    return run, client


def main() -> None:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    page = sample_page()
    with (
        run_emulator("--workers", "1") as plain,
        run_emulator("--workers", "1", tls=True) as secure,
    ):
        direct = engine_direct(page)
        b, b_client = over_sdk(plain, page)
        c, c_client = over_sdk(secure, page)
        variants: dict[str, tuple[Callable[[], None], Emulator | None]] = {
            "a engine": (direct, None),
            "b socket": (b, plain),
            "c tls": (c, secure),
        }
        for run, _ in variants.values():  # warm-up: engine sessions, connections, estimates
            run()
            run()
        wall: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for rep in range(args.reps):
            for name in names[rep % 3 :] + names[: rep % 3]:  # rotate the order
                run, emulator = variants[name]
                server_cpu = emulator.cpu_seconds() if emulator else 0.0
                cpu_started, started = time.process_time(), time.perf_counter()
                run()
                wall[name].append(time.perf_counter() - started)
                used = time.process_time() - cpu_started
                if emulator:
                    used += emulator.cpu_seconds() - server_cpu
                cpu[name].append(used)
        b_client.close()
        c_client.close()
    print(f"{'variant':<10} {'median wall ms':>15} {'median CPU ms':>14}  (n={args.reps})")
    for name in names:
        print(f"{name:<10} {median(wall[name]) * 1000:>15.0f} {median(cpu[name]) * 1000:>14.0f}")
    a_wall, a_cpu = median(wall["a engine"]), median(cpu["a engine"])
    for name, goal in (("b socket", 1.10), ("c tls", 1.12)):
        print(
            f"{name[0]}/a: wall {median(wall[name]) / a_wall:.3f}, "
            f"CPU {median(cpu[name]) / a_cpu:.3f} (goal <= {goal:.2f})"
        )
    print("raw wall ms:", {k: [round(v * 1000) for v in vs] for k, vs in wall.items()})


if __name__ == "__main__":
    main()
