"""Generated test pages whose truth is known by construction.

Pages are composed at random from real document structures (``kinds/``: columns, papers,
side columns, figures, ruled and unruled tables, forms, invoices, letters, lists, other
languages), written as HTML/CSS, laid out and printed by headless Chromium, rasterised at
150-300 dpi and degraded like a scan or a photo (``degrade.py``). The truth comes from the
DOM (``render.py``): every line's text, polygon and words, its block, the block's role, its
place in the reading order and its group, table cells and check boxes (``truth.py``).

    .venv/bin/python -m training.layouts --out /tmp/pages --kinds all --pages 5 --degrade mixed

From Python::

    from training.layouts import KINDS, generate, render_pages
    html = generate("invoice", 7).html
    render_pages(["paper"], range(10), Path("/tmp/pages"), degrade="scan", jobs=2)
"""

from __future__ import annotations

from .pipeline import (
    KINDS,
    Composition,
    Page,
    generate,
    iter_pages,
    render_page,
    render_pages,
    write_page,
)
from .render import Browser, LayoutError
from .truth import Truth

__all__ = [
    "KINDS",
    "Browser",
    "Composition",
    "LayoutError",
    "Page",
    "Truth",
    "generate",
    "iter_pages",
    "render_page",
    "render_pages",
    "write_page",
]
