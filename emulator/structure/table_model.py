"""What a table is, for every method that finds one (:mod:`.grids`, :mod:`.tables`) and for
the results that write it: a grid of cells, each with its place, its spans, its kind and the
words it holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from emulator.structure.geometry import Box

__all__ = ["Box", "Cell", "CellKind", "Table"]

CellKind = Literal["content", "columnHeader", "rowHeader", "stubHead", "description"]


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a table's grid, in the table's own row and column numbers."""

    row: int
    column: int
    row_span: int
    column_span: int
    kind: CellKind
    box: Box
    #: (line index into `lines`, word index in that line), in reading order inside the cell
    words: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Table:
    """A table: its grid size, its box in page pixels, whether rules drew its rows, and its
    cells."""

    rows: int
    columns: int
    box: Box
    ruled: bool
    #: row-major; every grid position is covered by exactly one cell (empty cells have words=())
    cells: tuple[Cell, ...]
