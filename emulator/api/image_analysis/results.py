"""Image Analysis 4.0's ``ImageAnalysisResult`` for ``features=read``, made from the stored
page record (Read v3.2's ``readResults`` entry) of the image's one page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: The model version the answers name (Image Analysis 4.0's GA model).
MODEL_VERSION = "2023-10-01"


def polygon(box: Sequence[float]) -> list[dict[str, int]]:
    """Read v3.2's ``[x1, y1, ..., x4, y4]`` as Image Analysis's four ``{x, y}`` points, in
    whole pixels, none below zero (the contract's int32 >= 0)."""
    return [{"x": max(0, round(box[i])), "y": max(0, round(box[i + 1]))} for i in range(0, 8, 2)]


def analysis_result(page: dict[str, Any]) -> dict[str, Any]:
    """The body of a successful ``read``: the image's size and its text as one block of
    lines and words. An image with no text has no block (as the service answers it)."""
    lines = [
        {
            "text": line["text"],
            "boundingPolygon": polygon(line["boundingBox"]),
            "words": [
                {
                    "text": word["text"],
                    "boundingPolygon": polygon(word["boundingBox"]),
                    "confidence": word["confidence"],
                }
                for word in line["words"]
            ],
        }
        for line in page["lines"]
    ]
    return {
        "modelVersion": MODEL_VERSION,
        "metadata": {"width": round(page["width"]), "height": round(page["height"])},
        "readResult": {"blocks": [{"lines": lines}] if lines else []},
    }
