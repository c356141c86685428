"""A generated page's truth: the dataclasses of its JSON file, and loading and saving them.

The schema is fixed (the reading-order scorer reads it)::

    {"kind", "seed", "language", "dpi", "image", "pdf", "size": [w, h],
     "degradations": {"mode", "rotate", "blur", "jpeg", "noise", "contrast", "curl", ...},
     "blocks": [{"id", "role", "order", "group"}],
     "lines": [{"text", "block", "index", "role", "polygon", "words": [{"text", "polygon"}],
                "cell"?: {"table", "row", "col", "rowSpan", "colSpan", "header"}}],
     "tables": [{"id", "rows", "cols", "ruled"}],
     "checkboxes": [{"polygon", "selected"}]}

Polygons are in image pixels after degradations, clockwise from the top left: four points, or
more when a page is curled (the top edge left to right, then the bottom edge right to left).
``order`` is a block's place in the reading order (``None``: floating, read anywhere but whole);
blocks sharing a ``group`` may be read block by block or row by row across.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Point = tuple[float, float]
Polygon = list[Point]

ROLES = (
    "title",
    "heading",
    "paragraph",
    "pageHeader",
    "pageFooter",
    "pageNumber",
    "footnote",
    "caption",
    "cell",
    "label",
    "value",
    "listItem",
    "quote",
    "sidebar",
    "address",
    "authors",
    "abstract",
    "figureText",
    "signature",
    "meta",
)


@dataclass
class Word:
    """One word as drawn: its text and its polygon."""

    text: str
    polygon: Polygon


@dataclass
class Cell:
    """Where a table cell's line sits in its table (0-based row and column of its top left)."""

    table: int
    row: int
    col: int
    rowSpan: int
    colSpan: int
    header: bool


@dataclass
class Line:
    """One rendered line of a block: words joined by one space, in the block's flow order."""

    text: str
    block: int
    index: int
    role: str
    polygon: Polygon
    words: list[Word]
    cell: Cell | None = None


@dataclass
class Block:
    """A unit a reader reads whole, its role, its place in the reading order and its group."""

    id: int
    role: str
    order: int | None
    group: int | None = None


@dataclass
class Table:
    """A table's grid size and whether it is drawn with rules."""

    id: int
    rows: int
    cols: int
    ruled: bool


@dataclass
class Checkbox:
    """A drawn check box (a box, not a glyph) and whether it is ticked."""

    polygon: Polygon
    selected: bool


@dataclass
class Truth:
    """Everything known about one generated page."""

    kind: str
    seed: int
    language: str
    dpi: float
    image: str
    pdf: str | None
    size: tuple[int, int]
    degradations: dict[str, Any]
    blocks: list[Block] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    checkboxes: list[Checkbox] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in the schema's order; a line without a cell has no ``cell``."""
        data = asdict(self)
        data["size"] = list(self.size)
        for line in data["lines"]:
            if line["cell"] is None:
                del line["cell"]
        return _plain(data)  # type: ignore[no-any-return]

    def dumps(self) -> str:
        """The JSON text: compact, stable (the same page gives the same bytes)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"

    def save(self, path: Path) -> None:
        """Write the JSON file."""
        path.write_text(self.dumps(), encoding="utf-8")

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Truth:
        """Rebuild from the JSON object."""
        lines = [
            Line(
                text=line["text"],
                block=line["block"],
                index=line["index"],
                role=line["role"],
                polygon=_poly(line["polygon"]),
                words=[Word(w["text"], _poly(w["polygon"])) for w in line["words"]],
                cell=Cell(**line["cell"]) if line.get("cell") else None,
            )
            for line in data["lines"]
        ]
        return Truth(
            kind=data["kind"],
            seed=data["seed"],
            language=data["language"],
            dpi=data["dpi"],
            image=data["image"],
            pdf=data.get("pdf"),
            size=(data["size"][0], data["size"][1]),
            degradations=dict(data["degradations"]),
            blocks=[Block(**b) for b in data["blocks"]],
            lines=lines,
            tables=[Table(**t) for t in data.get("tables", [])],
            checkboxes=[
                Checkbox(_poly(c["polygon"]), c["selected"]) for c in data.get("checkboxes", [])
            ],
        )

    @staticmethod
    def load(path: Path) -> Truth:
        """Read a JSON file."""
        return Truth.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def reading_text(self) -> str:
        """The ordered blocks' text, one line per truth line (floating blocks left out)."""
        order = {b.id: b.order for b in self.blocks if b.order is not None}
        lines = sorted(
            (line for line in self.lines if line.block in order),
            key=lambda line: (order[line.block], line.index),
        )
        return "\n".join(line.text for line in lines)


def _poly(points: list[list[float]]) -> Polygon:
    return [(float(x), float(y)) for x, y in points]


def _plain(value: Any) -> Any:
    """Tuples as lists and floats rounded to 0.01 px, so the text is stable and short."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        rounded = round(value, 2)
        return 0.0 if rounded == 0 else rounded
    return value
