"""What a TIFF of many tiny pages costs the upload check and the page reader, before and after
they stopped walking the whole file (issue #23: a 3 MB TIFF of 30 000 pages held a core for 15 s
before the 202, and reading 1000 of its pages took 14 s).

A TIFF's pages are a chain: each page's header says where the next one is, so reaching page k
means walking k headers. The old upload check counted every page (Pillow's ``n_frames``) and
then stepped through all of them again to check their sizes; the old reader opened the file
for every page and walked from the start to it, N²/2 steps for N pages. Now the check stops at
the pages a request can reach (2000 on the paid tier) and the reader walks once.

The documents: one 50x50 page saved by Pillow, its header repeated (every copy pointing at the
same pixels) so that 30 000 pages take a few megabytes, as in the report. Pillow's own
``save_all`` writes such a file too, but it walks the chain again for every page it appends,
which takes minutes for 30 000 pages. Each is sealed as the store keeps it (AES-GCM segments,
read through a decrypting stream) and timed: ``inspect`` with the paid tier's limits, and
reading the first 2000 pages (or all, when fewer). Both compressions matter: a raw page is read
by Pillow, a Group 4 page is handed to libtiff, which Pillow gives the whole file.

The old code is re-created here (as it was in ``emulator/documents/formats.py``) and run in the same
process on the same documents; ``--old-pages`` bounds how many pages the old reader reads
(it is quadratic: 2000 pages of the 30 000-page file take minutes), and its time is then
compared with the new reader's on the same pages.

    .venv/bin/python benchmarks/multipage_tiff.py [--pages 1000,30000] [--old-pages 1000]
"""

from __future__ import annotations

import argparse
import io
import struct
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.documents import formats as documents
from emulator.documents.formats import Document, Limits
from emulator.security.crypto import RecordCipher
from emulator.security.sealed import seal
from emulator.settings import TIER_LIMITS


def repeated_page_tiff(pages: int, compression: str = "raw") -> bytes:
    """A little-endian TIFF of ``pages`` white 50x50 bilevel pages that all share one page's
    pixels: a page saved by Pillow, then its header (IFD) copied ``pages - 1`` times, chained.
    About 150 bytes a page."""
    one = io.BytesIO()
    Image.new("1", (50, 50), 1).save(one, format="TIFF", compression=compression)
    page = one.getvalue()
    assert page[:4] == b"II*\x00", "Pillow writes little-endian TIFF"
    (first,) = struct.unpack_from("<I", page, 4)
    (entries,) = struct.unpack_from("<H", page, first)
    ifd_end = first + 2 + 12 * entries  # where the IFD's next-page offset is
    ifd = page[first:ifd_end]
    out = bytearray(page)
    out += bytes(len(out) % 2)  # IFDs start on a word boundary
    stride = len(ifd) + 4
    start = len(out)
    # Offsets inside the copied entries (pixels, resolution) still point into the page.
    struct.pack_into("<I", out, ifd_end, start if pages > 1 else 0)
    for index in range(1, pages):
        following = start + index * stride if index < pages - 1 else 0
        out += ifd + struct.pack("<I", following)
    return bytes(out)


# --- the code as it was ------------------------------------------------------------------------


def old_inspect(data: Document, limits: Limits) -> int:
    """The old upload check of a TIFF: count every page, then step through every page."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data.open()
    with stream, Image.open(stream) as img:
        page_count = int(getattr(img, "n_frames", 1))
        for index in range(page_count):
            if index:
                img.seek(index)
            width, height = img.size
            assert limits.min_dimension <= min(width, height)
            assert max(width, height) <= limits.max_dimension
    return page_count


def old_read(data: Document, numbers: range) -> int:
    """The old page reader of a TIFF: open the file for each page and seek to it."""
    read = 0
    for number in numbers:
        stream = io.BytesIO(data) if isinstance(data, bytes) else data.open()
        with stream, Image.open(stream) as img:
            if number > 1:
                img.seek(number - 1)
            img.load()
            documents.to_rgb(ImageOps.exif_transpose(img))
        read += 1
    return read


# --- the code as it is -------------------------------------------------------------------------


def new_inspect(data: Document, limits: Limits) -> int:
    """The upload check as the service runs it for a request without page ranges."""
    return documents.inspect(data, limits).page_count


def new_read(data: Document, numbers: range) -> int:
    """The page reader as a job runs it."""
    info = documents.DocumentInfo("tiff", numbers.stop - 1)
    return sum(1 for _ in documents.iter_pages(data, info, numbers))


def timed(run: Callable[[], int]) -> tuple[float, int]:
    """Seconds ``run`` took, and what it returned."""
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> None:
    """Build the documents, time the old and the new code on each, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default="1000,30000", help="page counts, comma-separated")
    parser.add_argument(
        "--old-pages", type=int, default=1000, help="most pages the old reader reads (quadratic)"
    )
    parser.add_argument("--compressions", default="raw,group4")
    args = parser.parse_args(argv)
    limits = TIER_LIMITS["paid"]
    cipher = RecordCipher.generate()
    print(
        f"{'pages':>6} {'comp':<7} {'MB':>5} | {'inspect old':>11} {'new':>8} {'old/new':>8} | "
        f"{'read':>5} {'old s':>8} {'new s':>8} {'old/new':>8} | {'new, first 2000':>15}"
    )
    for pages in (int(value) for value in args.pages.split(",")):
        for compression in args.compressions.split(","):
            data = repeated_page_tiff(pages, compression)
            document = seal(cipher, f"tiff-{pages}-{compression}", data)
            old_check, old_count = timed(partial(old_inspect, document, limits))
            new_check, new_count = timed(partial(new_inspect, document, limits))
            assert old_count == pages and new_count == min(pages, limits.max_pages)
            compared = range(1, min(pages, args.old_pages, limits.max_pages) + 1)
            old_time, _ = timed(partial(old_read, document, compared))
            new_time, _ = timed(partial(new_read, document, compared))
            first = range(1, min(pages, limits.max_pages) + 1)
            full_time, read = timed(partial(new_read, document, first))
            assert read == len(first)
            print(
                f"{pages:>6} {compression:<7} {len(data) / 1e6:>5.1f} | {old_check:>10.2f}s "
                f"{new_check:>7.3f}s {old_check / new_check:>7.0f}x | {len(compared):>5} "
                f"{old_time:>8.2f} {new_time:>8.3f} {old_time / new_time:>7.0f}x | "
                f"{full_time:>14.3f}s"
            )


if __name__ == "__main__":
    main()
