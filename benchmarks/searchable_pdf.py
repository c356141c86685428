"""What a searchable PDF costs next to the OCR it comes from: milliseconds per page to write it.

Each document of the eval corpus below is read once by the embedded emulator (real OCR, one
worker), which times the OCR; then ``write_searchable_pdf`` turns the document and its result
into a searchable PDF ``--reps`` times (and ``to_markdown`` into Markdown). Prints, per
document, the median writing time per page, the OCR time per page, and the ratio (goal: at
most 5 %). The documents cover each way an image goes in: PNG data passed through, JPEG
passed through, Group 4 TIFF passed through, an RGBA PNG decoded and recompressed; and PDF
pages kept as they are.

    .venv/bin/python benchmarks/searchable_pdf.py [--reps 9]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import CORPUS, median
from emulator.testing import run_emulator
from ocr_sdk import OcrClient
from ocr_sdk.output.markdown import to_markdown
from ocr_sdk.output.searchable_pdf import write_searchable_pdf
from ocr_sdk.output.text import text_pages

DOCUMENTS = [
    ("hcw_engagement_letter_rot1.5.png", "image: PNG, skewed dense letter"),
    ("bls_article_sidebar_jpeg60.jpg", "image: JPEG"),
    ("unlv_8087_054.tif", "image: Group 4 TIFF, dense"),
    ("eurotext_skew.png", "image: RGBA PNG (decoded)"),
    ("aws_invoice.pdf", "PDF: vector invoice"),
    ("multipage_scan_de.pdf", "PDF: two scanned pages"),
]


def main() -> None:
    """Read each document once, write its searchable PDF ``--reps`` times, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    print(
        f"{'document':<34} {'kind':<32} {'pages':>5} {'words':>6} {'pdf ms/page':>12} "
        f"{'md ms/page':>11} {'OCR ms/page':>12} {'pdf/OCR':>8}"
    )
    with (
        run_emulator(workers=1) as emulator,
        OcrClient(emulator.endpoint, emulator.api_key) as client,
    ):
        client.read((CORPUS / "images" / "phototest.tif").read_bytes())  # warm-up: engines loaded
        for name, kind in DOCUMENTS:
            data = (CORPUS / "images" / name).read_bytes()
            started = time.perf_counter()
            result = client.read(data)
            ocr = (time.perf_counter() - started) / len(result.pages)
            pages = text_pages(result)
            words = sum(1 for page in pages for _ in page.words)
            write_searchable_pdf(data, pages)  # warm-up: imports, the font
            writes, markdowns = [], []
            for _ in range(args.reps):
                started = time.perf_counter()
                write_searchable_pdf(data, pages)
                writes.append((time.perf_counter() - started) / len(pages))
                started = time.perf_counter()
                to_markdown(pages)
                markdowns.append((time.perf_counter() - started) / len(pages))
            write, markdown = median(writes), median(markdowns)
            print(
                f"{name:<34} {kind:<32} {len(pages):>5} {words:>6} {write * 1000:>12.1f} "
                f"{markdown * 1000:>11.2f} {ocr * 1000:>12.0f} {write / ocr:>7.1%}"
            )


if __name__ == "__main__":
    main()
