"""Truth drawn over a page image (``--draw``): line polygons coloured by block, each block
labelled at its first line with its place in the reading order (``*`` when floating, ``gN``
for its group), check boxes in magenta (filled when ticked)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .truth import Truth

Image = np.ndarray[Any, np.dtype[np.uint8]]


def _colour(block: int) -> tuple[int, int, int]:
    hue = int((block * 0.618034 % 1) * 180)
    bgr = cv2.cvtColor(np.array([[[hue, 230, 200]]], dtype=np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def draw_boxes(image: Image, truth: Truth) -> Image:
    """A copy of ``image`` with the truth drawn on it."""
    out = np.array(image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
    scale = max(0.4, truth.dpi / 250)
    blocks = {b.id: b for b in truth.blocks}
    for line in truth.lines:
        pts = np.round(np.array(line.polygon)).astype(np.int32)
        cv2.polylines(out, [pts], True, _colour(line.block), max(1, round(scale * 1.5)))
    for line in truth.lines:
        if line.index:
            continue
        block = blocks[line.block]
        label = "*" if block.order is None else str(block.order)
        if block.group is not None:
            label += f"g{block.group}"
        x, y = (round(v) for v in line.polygon[0])
        font = cv2.FONT_HERSHEY_SIMPLEX
        (w, h), _ = cv2.getTextSize(label, font, 0.6 * scale, 1)
        y = max(h + 2, y)
        cv2.rectangle(out, (x, y - h - 3), (x + w + 2, y), _colour(line.block), -1)
        cv2.putText(out, label, (x + 1, y - 2), font, 0.6 * scale, (255, 255, 255), 1, cv2.LINE_AA)
    for box in truth.checkboxes:
        pts = np.round(np.array(box.polygon)).astype(np.int32)
        if box.selected:
            cv2.fillPoly(out, [pts], (200, 0, 200))
        else:
            cv2.polylines(out, [pts], True, (200, 0, 200), max(1, round(scale * 2)))
    return out
