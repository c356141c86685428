"""``python -m training.layouts``: render generated pages and their truth into a folder.

    .venv/bin/python -m training.layouts --out DIR [--kinds K1 K2 ...|all] [--pages N]
        [--seed S] [--degrade clean|scan|photo|mixed] [--pdf] [--draw] [--jobs N]
        [--skip-existing]

Writes ``DIR/<kind>/<kind>-<seed>.png`` (``.jpg`` when the page is JPEG-compressed),
``.json`` (the truth), ``.pdf`` (``--pdf``, clean pages) and ``.boxes.png`` (``--draw``: the
truth drawn over the image). Page ``k`` of each kind has seed ``S + k``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .degrade import MODES
from .pipeline import KINDS, pages_per_minute, render_pages


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m training.layouts",
        description="Render generated document pages with their truth from the DOM.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--kinds", nargs="+", default=["all"], help=f"'all' or some of: {' '.join(KINDS)}"
    )
    parser.add_argument("--pages", type=int, default=1, help="pages per kind (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first page (default 0)")
    parser.add_argument("--degrade", choices=MODES, default="clean")
    parser.add_argument("--pdf", action="store_true", help="also write each clean page's PDF")
    parser.add_argument("--draw", action="store_true", help="also write <name>.boxes.png")
    parser.add_argument("--jobs", type=int, default=1, help="processes, one Chromium each")
    parser.add_argument(
        "--skip-existing", action="store_true", help="keep pages whose truth is already there"
    )
    args = parser.parse_args(argv)
    kinds = list(KINDS) if args.kinds == ["all"] else args.kinds
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)} (choose from {', '.join(KINDS)})")
    if args.pages < 1 or args.jobs < 1:
        parser.error("--pages and --jobs must be at least 1")
    start = time.perf_counter()
    made = render_pages(
        kinds,
        range(args.seed, args.seed + args.pages),
        args.out,
        degrade=args.degrade,
        pdf=args.pdf,
        draw=args.draw,
        jobs=args.jobs,
        skip_existing=args.skip_existing,
    )
    seconds = time.perf_counter() - start
    rate = pages_per_minute(len(made), seconds)
    print(
        f"{len(made)} pages in {seconds:.1f} s: {rate:.0f} pages/min"
        f" ({args.jobs} job{'s' if args.jobs > 1 else ''}) -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
