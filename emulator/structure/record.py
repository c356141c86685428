"""What ``prebuilt-layout`` keeps of a page beside its lines: the page record's ``layout``.

The worker reads the page, then (for a layout job) finds its tables (:mod:`.tables`) and
selection marks (:mod:`.marks`) while it still holds the page's pixels, and takes the figures
the engine found while ordering the page, made whole (:mod:`.figures`). They are stored in
the page's units (pixels or inches, as the lines are), with words named by their place,
``[line, word]`` in the record's reading order, never by their text, so the record holds
each word's text once:

.. code-block:: text

    "layout": {
      "tables": [{"rows", "columns", "polygon", "ruled",
                  "cells": [{"row", "column", "rowSpan", "columnSpan", "kind", "polygon",
                             "words": [[line, word], ...]}]}],
      "marks": [{"state", "polygon", "confidence", "words": [[line, word], ...]}],
      "figures": [{"polygon"}]
    }

With ``output=figures`` each figure's pixels are kept too, as PNG
(:meth:`PageStructure.figure_images`), in the figures' order here: figure ``n`` of page ``p``
is ``{p}.{n}``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from emulator.documents.formats import PageImage
from emulator.engine.base import PageText, Polygon
from emulator.pages.records import polygon_in_units
from emulator.structure.figures import whole_figures
from emulator.structure.geometry import Box, box_of
from emulator.structure.marks import SelectionMark, find_selection_marks
from emulator.structure.tables import Table, find_tables


def _quad(box: Box) -> Polygon:
    x0, y0, x1, y1 = box
    return (x0, y0, x1, y0, x1, y1, x0, y1)


@dataclass(frozen=True, slots=True)
class PageStructure:
    """What was found on one page, in its pixels."""

    tables: list[Table]
    marks: list[SelectionMark]
    figures: list[Polygon]

    def record(self, page: PageImage) -> dict[str, Any]:
        """The page record's ``layout``, in the page's units."""
        scale, unit = page.units_per_pixel, page.unit

        def units(polygon: Sequence[float]) -> list[float | int]:
            return polygon_in_units(polygon, scale, unit)

        return {
            "tables": [
                {
                    "rows": table.rows,
                    "columns": table.columns,
                    "polygon": units(_quad(table.box)),
                    "ruled": table.ruled,
                    "cells": [
                        {
                            "row": cell.row,
                            "column": cell.column,
                            "rowSpan": cell.row_span,
                            "columnSpan": cell.column_span,
                            "kind": cell.kind,
                            "polygon": units(_quad(cell.box)),
                            "words": [list(word) for word in cell.words],
                        }
                        for cell in table.cells
                    ],
                }
                for table in self.tables
            ],
            "marks": [
                {
                    "state": "selected" if mark.selected else "unselected",
                    "polygon": units(mark.polygon),
                    "confidence": round(mark.confidence, 3),
                    "words": [list(word) for word in mark.words],
                }
                for mark in self.marks
            ],
            "figures": [{"polygon": units(figure)} for figure in self.figures],
        }

    def figure_images(self, page: PageImage) -> list[bytes]:
        """Each figure cut from the page's pixels (its upright box), as PNG."""
        images: list[bytes] = []
        for figure in self.figures:
            xs, ys = figure[0::2], figure[1::2]
            box = (
                max(0, math.floor(min(xs))),
                max(0, math.floor(min(ys))),
                min(page.image.width, math.ceil(max(xs))),
                min(page.image.height, math.ceil(max(ys))),
            )
            out = io.BytesIO()
            page.image.crop(box).save(out, format="PNG")
            images.append(out.getvalue())
        return images


def analyse(page: PageImage, text: PageText) -> PageStructure:
    """Tables, selection marks and whole figures of the page ``page`` the engine read as
    ``text``."""
    image = page.image
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    gray = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    tables = find_tables(text.lines, text.separators, image.width, image.height, text.angle, gray)
    marks = find_selection_marks(bgr, text.lines, text.angle)
    del bgr, gray
    figures = whole_figures(text.figures, text.separators, text.lines)
    # A table is no figure, whatever the figure search made of its rules.
    figures = [f for f in figures if not any(_covers(t.box, f) for t in tables)]
    return PageStructure(tables, marks, figures)


def _covers(box: Box, polygon: Polygon) -> bool:
    inner = box_of(polygon)
    overlap_w = min(box[2], inner[2]) - max(box[0], inner[0])
    overlap_h = min(box[3], inner[3]) - max(box[1], inner[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return overlap_w > 0 and overlap_h > 0 and overlap_w * overlap_h >= 0.5 * area
