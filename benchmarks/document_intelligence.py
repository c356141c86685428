"""Document Intelligence against Read v3.2 on the same page, what the searchable PDF adds, and
what ``prebuilt-layout`` costs over ``prebuilt-read``.

One emulator process (one worker, the real engine) reads the same documents (the corpus's
``phototest.tif`` as PNG, a 3-page 200-dpi PDF of it, and with ``--page`` any page of your
own, such as a table page of ``../shared/eval``) four ways, interleaved so that drift of the
machine's speed hits all alike, each job alone and polled every 20 ms:

* Read v3.2 ``POST /vision/v3.2/read/analyze``;
* Document Intelligence ``POST /documentintelligence/documentModels/prebuilt-read:analyze``;
* the same with ``output=pdf``, then ``GET .../pdf``;
* ``prebuilt-layout`` with Markdown (tables, selection marks, figures, roles, sections).

Printed: medians, Document Intelligence / v3.2 (goal <= 1.05), the searchable PDF's share
of reading the page ((with PDF - without) / without; goal <= 5 %), and layout / read (goal
<= 1.3).

    .venv/bin/python benchmarks/document_intelligence.py [--repeat 9] [--page IMAGE ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import (
    API_KEY,
    median,
    run_emulator,
    sample_page,
    sample_pdf,
    wait_all,
)

KEY = {"Ocp-Apim-Subscription-Key": API_KEY}
BINARY = {**KEY, "Content-Type": "application/octet-stream"}
V32 = "/vision/v3.2/read/analyze"
DI = "/documentintelligence/documentModels/prebuilt-read:analyze?api-version=2024-11-30"
LAYOUT = (
    "/documentintelligence/documentModels/prebuilt-layout:analyze?api-version=2024-11-30"
    "&outputContentFormat=markdown"
)


def _job(client: httpx.Client, path: str, document: bytes, pdf: bool = False) -> float:
    started = time.perf_counter()
    response = client.post(path + ("&output=pdf" if pdf else ""), content=document, headers=BINARY)
    response.raise_for_status()
    location = response.headers["Operation-Location"]
    wait_all([client], [location])
    if pdf:
        pdf_url = location.replace("?", "/pdf?")
        answer = client.get(pdf_url)
        answer.raise_for_status()
        assert answer.content.startswith(b"%PDF")
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="jobs of each kind per document")
    parser.add_argument("--page", nargs="*", default=[], type=Path, help="more pages to read")
    args = parser.parse_args(argv)
    documents = {"PNG page": sample_page(), "3-page PDF": sample_pdf(3)}
    documents |= {path.name: path.read_bytes() for path in args.page}
    with (
        run_emulator("--workers", "1") as emulator,
        httpx.Client(base_url=emulator.endpoint, headers=KEY, timeout=120) as client,
    ):
        for name, document in documents.items():
            times: dict[str, list[float]] = {"v3.2": [], "di": [], "di+pdf": [], "layout": []}
            _job(client, V32, document)  # warm up
            _job(client, DI, document, pdf=True)
            _job(client, LAYOUT, document)
            for _ in range(args.repeat):
                times["v3.2"].append(_job(client, V32, document))
                times["di"].append(_job(client, DI, document))
                times["di+pdf"].append(_job(client, DI, document, pdf=True))
                times["layout"].append(_job(client, LAYOUT, document))
            v32, di, with_pdf, layout = (
                median(times[k]) * 1000 for k in ("v3.2", "di", "di+pdf", "layout")
            )
            print(f"{name}, median of {args.repeat} (ms): v3.2 {v32:.0f}, "
                  f"Document Intelligence {di:.0f}, with output=pdf {with_pdf:.0f}, "
                  f"prebuilt-layout {layout:.0f}")  # fmt: skip
            print(f"  Document Intelligence / v3.2 = {di / v32:.3f} (goal <= 1.05)")
            print(f"  searchable PDF adds {100 * (with_pdf - di) / di:.1f} % (goal <= 5 %)")
            print(f"  prebuilt-layout / prebuilt-read = {layout / di:.3f} (goal <= 1.3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
