"""Memory and scale: peak RSS of the emulator while it reads a 1-, 20- and 200-page PDF and a
200 MB upload, and RSS drift over 500 sequential jobs.

The emulator runs as a child process (default settings); its RSS is sampled every 20 ms, both
for the main process (where uploads, documents and results live) and for the whole tree (with
the worker processes and their engines). The PDFs are generated: small pages with a few lines
of text, so the run is about memory, not OCR time. The 200 MB upload is a one-page PDF padded
with an unreferenced 200 MB stream.

Goals: the 200-page peak at most 1.3x the 20-page peak; the upload held in memory once; RSS
after 500 jobs within 10 % of RSS after 50.

    .venv/bin/python benchmarks/memory.py [--skip-upload] [--jobs 500]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import API_KEY, Emulator, run_emulator
from ocr_sdk import OcrClient

MB = 1024 * 1024


def text_pdf(pages: int) -> bytes:
    """A ``pages``-page PDF of 3 x 2 inch pages, each with three lines of text (Pillow)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=22)
    images = []
    for number in range(1, pages + 1):
        image = Image.new("RGB", (300, 200), "white")
        draw = ImageDraw.Draw(image)
        for row, text in enumerate((f"Page {number}", "memory benchmark", "line three")):
            draw.text((20, 30 + 45 * row), text, fill="black", font=font)
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=100.0, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def padded_pdf(path: Path, padding: int) -> None:
    """A valid one-page PDF with text, plus an unreferenced stream of ``padding`` random-ish
    bytes (incompressible, so nothing on the way can shrink it), written with a correct xref."""
    content = b"BT /F1 24 Tf 40 100 Td (Padded upload) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    with path.open("wb") as out:
        out.write(b"%PDF-1.4\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
        offsets.append(out.tell())
        out.write(b"6 0 obj\n<< /Length %d >>\nstream\n" % padding)
        block = os.urandom(MB)
        for _ in range(padding // MB):
            out.write(block)
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 7\n0000000000 65535 f \n")
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        out.write(b"trailer\n<< /Size 7 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)


class Peak:
    """Samples the emulator's RSS in the background; ``peak_main`` and ``peak_tree``."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.main = psutil.Process(emulator.process.pid)
        self.peak_main = 0
        self.peak_tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_main = max(self.peak_main, self.main.memory_info().rss)
            self.peak_tree = max(self.peak_tree, self.emulator.rss())
            time.sleep(0.02)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def read_and_measure(emulator: Emulator, client: OcrClient, document: bytes | Path) -> Peak:
    """Read ``document`` once and return the RSS peaks seen meanwhile."""
    with Peak(emulator) as peak:
        result = client.read(document, timeout=3600)
        assert result.pages, "nothing read"
    return peak


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--only-upload", action="store_true", help="just the 200 MB upload")
    args = parser.parse_args()
    with run_emulator() as emulator, OcrClient(emulator.endpoint, API_KEY) as client:
        main_process = psutil.Process(emulator.process.pid)
        print(
            f"idle: main {main_process.memory_info().rss / MB:.0f} MB, "
            f"tree {emulator.rss() / MB:.0f} MB",
            flush=True,
        )
        peaks: dict[int, Peak] = {}
        for pages in () if args.only_upload else (1, 20, 200):
            peaks[pages] = read_and_measure(emulator, client, text_pdf(pages))
            print(
                f"{pages:>3}-page PDF: peak main {peaks[pages].peak_main / MB:.0f} MB, "
                f"tree {peaks[pages].peak_tree / MB:.0f} MB",
                flush=True,
            )
        if peaks:
            ratio_main = peaks[200].peak_main / peaks[20].peak_main
            ratio_tree = peaks[200].peak_tree / peaks[20].peak_tree
            print(f"200 vs 20 pages: main {ratio_main:.3f}x, tree {ratio_tree:.3f}x (goal <= 1.3)")

        if not args.skip_upload:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "padded.pdf"
                padded_pdf(path, 200 * MB)
                size = path.stat().st_size
                before = main_process.memory_info().rss
                peak = read_and_measure(emulator, client, path)
                held = (peak.peak_main - before) / size
                print(
                    f"{size / MB:.0f} MB upload: main process peak {peak.peak_main / MB:.0f} MB "
                    f"(+{(peak.peak_main - before) / MB:.0f} MB over {before / MB:.0f} MB "
                    f"before) = {held:.2f}x the upload (goal: held once)",
                    flush=True,
                )

        if args.only_upload:
            return
        page = text_pdf(1)
        marks: dict[int, int] = {}
        for job in range(1, args.jobs + 1):
            client.read(page)
            if job in (50, args.jobs):
                marks[job] = emulator.rss()
        drift = marks[args.jobs] / marks[50] - 1
        print(
            f"tree RSS after 50 jobs {marks[50] / MB:.0f} MB, after {args.jobs} "
            f"{marks[args.jobs] / MB:.0f} MB: {100 * drift:+.1f} % (goal within 10 %)"
        )


if __name__ == "__main__":
    main()
