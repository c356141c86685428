"""Throughput: pages per second through the emulator with 1, 4 and 16 concurrent async SDK
clients, against the best the raw engine reaches on this machine with any split of processes
and threads, all measured in the same run.

Raw splits (each engine with its own ONNX sessions, the page pre-decoded, no HTTP):
``P procs x T threads x I intra-op threads`` for the splits that fit the cores. Then the
emulator (default settings: one worker process per core) is driven by ``AsyncOcrClient.read``
from 1, 4 and 16 tasks. The raw splits are measured before and after the emulator runs and the
best of all is the reference. Goal: at least 0.90x the raw best at 4 and 16 clients, with no
request lost or failed.

    .venv/bin/python benchmarks/throughput.py [--pages 24]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import API_KEY, cpu_count, run_emulator, sample_page


def _engine_worker(threads: int, intra: int, pages: int, ready: Any, go: Any, done: Any) -> None:
    """One process of a raw split: ``threads`` engines reading ``pages`` pages between them."""
    from emulator.documents import formats as documents
    from emulator.engine.rapid import RapidOcrEngine
    from emulator.settings import TIER_LIMITS

    data = sample_page()
    info = documents.inspect(data, TIER_LIMITS["paid"])
    image = next(documents.iter_pages(data, info, [1])).image
    engines = [RapidOcrEngine(intra_op_threads=intra) for _ in range(threads)]
    for engine in engines:
        engine.recognize(image)  # warm-up
    counter = iter(range(pages))
    lock = threading.Lock()

    def work(engine: RapidOcrEngine) -> None:
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            engine.recognize(image)

    ready.put(1)
    go.wait()
    workers = [threading.Thread(target=work, args=(e,)) for e in engines]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.put(1)


def raw_split(processes: int, threads: int, intra: int, pages: int) -> float:
    """Pages per second of ``processes`` x ``threads`` engines over ``pages`` pages."""
    ctx = multiprocessing.get_context("spawn")
    ready, done, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    share = pages // processes
    children = [
        ctx.Process(target=_engine_worker, args=(threads, intra, share, ready, go, done))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    for _ in children:
        ready.get()
    started = time.perf_counter()
    go.set()
    for _ in children:
        done.get()
    elapsed = time.perf_counter() - started
    for child in children:
        child.join()
    return share * processes / elapsed


async def through_emulator(
    endpoint: str, clients: int, pages: int, page: bytes
) -> tuple[float, int]:
    """Pages per second with ``clients`` concurrent ``read()`` loops; and how many failed."""
    from ocr_sdk import AsyncOcrClient

    remaining = iter(range(pages))
    failures = 0
    async with AsyncOcrClient(endpoint, API_KEY) as client:
        await client.read(page)  # warm-up: connection, the emulator's estimate

        async def loop() -> None:
            nonlocal failures
            while next(remaining, None) is not None:
                try:
                    result = await client.read(page)
                    if not result.pages or not result.pages[0].lines:
                        failures += 1
                except Exception:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return pages / elapsed, failures


def splits(cores: int) -> list[tuple[int, int, int]]:
    """(processes, threads, intra-op threads) combinations that use exactly ``cores``."""
    found = []
    for procs in range(1, cores + 1):
        for threads in range(1, cores // procs + 1):
            if cores % (procs * threads) == 0:
                found.append((procs, threads, cores // (procs * threads)))
    return found


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=24, help="pages per measurement")
    args = parser.parse_args()
    cores = cpu_count()
    page = sample_page()
    raw: dict[str, list[float]] = {}

    def measure_raw() -> None:
        for procs, threads, intra in splits(cores):
            name = f"{procs} proc x {threads} thr x {intra} intra"
            raw.setdefault(name, []).append(raw_split(procs, threads, intra, args.pages))
            print(f"raw {name}: {raw[name][-1]:.3f} pages/s", flush=True)

    measure_raw()
    emulated: dict[int, tuple[float, int]] = {}
    with run_emulator() as emulator:
        for clients in (1, 4, 16):
            emulated[clients] = asyncio.run(
                through_emulator(emulator.endpoint, clients, args.pages, page)
            )
            rate, failed = emulated[clients]
            print(
                f"emulator, {clients:>2} clients: {rate:.3f} pages/s, {failed} failed", flush=True
            )
    measure_raw()
    best_name = max(raw, key=lambda name: max(raw[name]))
    best = max(raw[best_name])
    print(f"\ncores: {cores}; raw best: {best:.3f} pages/s ({best_name})")
    for clients, (rate, failed) in emulated.items():
        goal = " (goal >= 0.90)" if clients > 1 else ""
        print(f"{clients:>2} clients: {rate / best:.3f} x raw best{goal}; failed or lost: {failed}")


if __name__ == "__main__":
    main()
