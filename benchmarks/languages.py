"""Language detection: what each corpus page is detected as, and what detection costs a page.

Runs :func:`emulator.pages.languages.annotate` (what a worker does for a page read with no
``language``) on the true text of every document of ``../shared/eval`` (its lines as the
engine would give them), and prints the page language found, the lines that got a language of
their own, and the median cost per page next to the one-off model load.

    .venv/bin/python benchmarks/languages.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import CORPUS
from emulator.pages import languages


def main() -> int:
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    languages.page_language(["A first sentence loads the model before anything is timed."])
    load = time.perf_counter() - started
    costs = []
    print("| document | page language | lines with their own |")
    print("|---|---|---|")
    for document in manifest:
        text = (CORPUS / document["truth"]).read_text(encoding="utf-8")
        record = {"lines": [{"text": line} for line in text.splitlines() if line.strip()]}
        started = time.perf_counter()
        languages.annotate(record)
        costs.append(time.perf_counter() - started)
        own = sum("language" in line for line in record["lines"])
        print(f"| {document['name']} | {record.get('language', '-')} | {own} |")
    print()
    print(
        f"model load {load * 1000:.0f} ms once per process; detection "
        f"{statistics.median(costs) * 1000:.1f} ms per page (median of {len(costs)}), "
        f"max {max(costs) * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
