"""Read many documents concurrently, printing each as it completes, then a summary.

    python examples/batch.py [FILE_OR_FOLDER ...]

``client.read_many(documents, concurrency=N)`` keeps up to N reads in flight and yields a
``BatchItem`` per document as it completes: ``.index`` and ``.document`` say which input it
was, and exactly one of ``.result`` / ``.error`` is set, so one bad file does not stop the
others. A 429 from the service holds back every worker until its ``Retry-After`` has passed.
(``AsyncOcrClient.read_many`` is the same as an async iterator.)

Without arguments it reads three strips cut from the shipped sample page. The exit status is
1 if any document failed.

Uses OCR_ENDPOINT / OCR_API_KEY when set, otherwise an embedded emulator.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _service import SAMPLE, need, ocr_service

from ocr_sdk import OcrClient, OcrError


def sample_documents(folder: Path) -> list[Path]:
    """Cut the sample page into three horizontal strips, each a PNG of a few lines."""
    try:
        from PIL import Image  # the emulator extra brings Pillow; the SDK does not need it
    except ImportError:
        need("cutting the sample page into strips needs Pillow: pip install pillow")

    with Image.open(SAMPLE) as page:
        width = page.width
        bands = [(0, 70, width, 195), (0, 180, width, 300), (0, 285, width, 380)]
        paths = []
        for number, band in enumerate(bands, start=1):
            path = folder / f"strip-{number}.png"
            page.crop(band).save(path)
            paths.append(path)
    return paths


def collect(arguments: list[str]) -> list[Path]:
    """Files as given; folders expanded to the files directly inside them."""
    paths: list[Path] = []
    for argument in map(Path, arguments):
        if argument.is_dir():
            paths.extend(sorted(p for p in argument.iterdir() if p.is_file()))
        else:
            paths.append(argument)
    return paths


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        documents = collect(argv[1:]) or sample_documents(Path(scratch))
        with (
            ocr_service(workers=2) as service,
            OcrClient(service.url, service.api_key) as client,
        ):
            started = time.monotonic()
            failed = []
            for done, item in enumerate(client.read_many(documents, concurrency=4), start=1):
                name = Path(item.document).name
                if item.result is not None:
                    lines = [line.text for page in item.result.pages for line in page.lines]
                    first = lines[0] if lines else ""
                    print(f"[{done}/{len(documents)}] {name}: {len(lines)} lines, {first!r}")
                else:
                    code = item.error.code if isinstance(item.error, OcrError) else None
                    reason = code or type(item.error).__name__
                    print(f"[{done}/{len(documents)}] {name}: FAILED {reason}")
                    failed.append(name)
            elapsed = time.monotonic() - started
    read = len(documents) - len(failed)
    print(f"read {read} of {len(documents)} documents in {elapsed:.1f} s")
    for name in failed:
        print(f"failed: {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
