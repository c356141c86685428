"""Memory of a parallel test run: ``pytest -n 4`` with one shared emulator against one process.

A generated suite of tests, each reading one real page of ``../shared/eval`` through the
``ocr_emulator`` fixture, runs three ways:

- ``one``: plain ``pytest`` (no xdist): one process, the emulator inside it;
- ``one worker``: ``pytest -n 1``: xdist with a single worker and its shared emulator;
- ``shared``: ``pytest -n 4``: four workers and the one emulator they share;
- ``per-worker``: ``pytest -n 4 --ocr-emulator-per-worker``: an emulator in every worker,
  what ``-n 4`` would cost without sharing.

The resident memory of the run's whole process tree (pytest, its workers, the emulator
process) is sampled every 50 ms; the peak of the sum is reported, and for the shared runs
also the emulator process's own peak. Goal: ``shared`` at most 1.3x one. The same tests
reading nothing, run plain and with ``-n 4``, show what pytest and xdist weigh by themselves.

    .venv/bin/python benchmarks/xdist.py [--pages 16] [--workers 4]
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import CORPUS, PYTHON, ROOT

MB = 1024 * 1024

SUITE = """
from pathlib import Path

import pytest

PAGES = {pages!r}


@pytest.mark.parametrize("page", PAGES, ids=[Path(p).stem for p in PAGES])
def test_read(ocr_emulator, page):
    with ocr_emulator.client() as client:
        assert client.read(Path(page)).text
"""

# The same tests reading nothing: what pytest and xdist's processes weigh by themselves.
EMPTY = """
import time

import pytest


@pytest.mark.parametrize("page", range({count}))
def test_read(page):
    time.sleep(0.5)
"""


def pages(count: int) -> list[str]:
    """The first ``count`` page images of the corpus, by name."""
    images = sorted(p for p in (CORPUS / "images").iterdir() if p.is_file())
    return [str(p) for p in images[:count]]


class TreeSampler:
    """Samples the resident memory of a process and every descendant (and of any process
    started with ``emulator.testing.shared``, which may outlive the worker that started it)."""

    def __init__(self, root: int) -> None:
        self.root = psutil.Process(root)
        self.peak_total = 0
        self.peak_emulator = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._emulators: dict[int, psutil.Process] = {}

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            procs: dict[int, psutil.Process] = {}
            with contextlib.suppress(psutil.Error):
                procs[self.root.pid] = self.root
                for child in self.root.children(recursive=True):
                    procs[child.pid] = child
            for proc in list(procs.values()):
                with contextlib.suppress(psutil.Error):
                    if "emulator.testing.shared" in " ".join(proc.cmdline()):
                        self._emulators[proc.pid] = proc
            procs.update(self._emulators)
            total = emulator = 0
            for pid, proc in procs.items():
                with contextlib.suppress(psutil.Error):
                    rss = proc.memory_info().rss
                    total += rss
                    if pid in self._emulators:
                        emulator += rss
            self.peak_total = max(self.peak_total, total)
            self.peak_emulator = max(self.peak_emulator, emulator)


def run(suite: Path, *args: str) -> tuple[float, int, int]:
    """Run the suite with ``args``; return seconds, peak tree RSS and peak emulator RSS."""
    argv = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite), *args]
    started = time.monotonic()
    process = subprocess.Popen(
        argv, cwd=suite.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    with TreeSampler(process.pid) as sampler:
        output, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args) or 'pytest'} failed:\n{output}")
    return time.monotonic() - started, sampler.peak_total, sampler.peak_emulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=16, help="tests, one page each")
    parser.add_argument("--workers", type=int, default=4, help="xdist workers")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "test_pages.py"
        suite.write_text(SUITE.format(pages=pages(options.pages)))
        empty = Path(tmp) / "test_empty.py"
        empty.write_text(EMPTY.format(count=options.pages))
        n = str(options.workers)
        runs = {
            "one": run(suite, "-p", "no:xdist"),
            "one worker": run(suite, "-n", "1"),
            "shared": run(suite, "-n", n),
            "per-worker": run(suite, "-n", n, "--ocr-emulator-per-worker"),
        }
        bare = {"one": run(empty, "-p", "no:xdist")[1], "shared": run(empty, "-n", n)[1]}
    base = runs["one"][1]
    print(f"{options.pages} tests, one real page each, from {ROOT.parent / 'shared' / 'eval'}")
    print(f"{'run':<12}{'seconds':>9}{'peak tree MB':>14}{'x one':>7}{'emulator MB':>13}")
    for name, (seconds, total, emulator) in runs.items():
        shown = f"{emulator / MB:.0f}" if emulator else "-"
        print(f"{name:<12}{seconds:>9.1f}{total / MB:>14.0f}{total / base:>7.2f}{shown:>13}")
    print(f"-n {n} against -n 1: {runs['shared'][1] / runs['one worker'][1]:.2f}x")
    # What the emulator adds to each run: the tree less the same run reading nothing.
    one_added = base - bare["one"]
    shared_added = runs["shared"][1] - bare["shared"]
    print(
        f"pytest alone: {bare['one'] / MB:.0f} MB; with -n {n} alone: {bare['shared'] / MB:.0f} MB"
        f" (xdist's own processes). Added by the emulator: one {one_added / MB:.0f} MB,"
        f" shared {shared_added / MB:.0f} MB = {shared_added / one_added:.2f}x"
    )


if __name__ == "__main__":
    main()
