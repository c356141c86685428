"""A stored page as the ordered elements Document Intelligence writes into ``content``.

``prebuilt-read`` has one kind of element, the paragraph: the page's lines grouped by the
paragraph rule (:func:`emulator.pages.paragraphs.paragraphs_of`), in reading order.
``prebuilt-layout`` adds what the worker found on the page and stored beside its lines (the
record's ``layout``, :mod:`emulator.structure.record`): tables, whose words leave the
paragraphs for their cells; figures, which take the lines inside them; selection marks, each
a token written next to the line it stands beside (or in its cell, or alone); and captions,
the paragraph beside a table or figure that names it ("Table 2", "Figure 3.1").

Everything here is positions: which words go where and in what order. Writing the text,
with its spans, is :mod:`emulator.api.document_intelligence.results`' job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from emulator.structure.geometry import box_of

Record = dict[str, Any]
#: A word of the page, (line index, word index in that line), or a selection mark, (-1, mark
#: index): what a piece of content is written from.
Token = tuple[int, int]
MARK = -1

# A caption names its table or figure in its first word (most languages' printed labels).
_TABLE_CAPTION = re.compile(
    r"^\s*(table|tab\.|tabelle|tableau|tabla|tabella|tabel|tabela|taula)\s*[\divxlc]",
    re.IGNORECASE,
)
_FIGURE_CAPTION = re.compile(
    r"^\s*(figure|fig\.|chart|exhibit|graph|diagram|image|photo|illustration|map|plate|"
    r"abbildung|abb\.|figura|grafico|gráfico|afbeelding|figuur|rysunek|obr\.|bild)\s*[\divxlc]",
    re.IGNORECASE,
)
# A caption is at most this many of its own line heights from the table or figure.
_CAPTION_GAP = 2.0
# A selection mark stands beside a line when their vertical overlap is this share of the
# smaller height, and the line starts within this many line heights of the mark.
_MARK_ROW_OVERLAP = 0.5
_MARK_REACH = 3.0


@dataclass(slots=True)
class Piece:
    """Part of one line written in one place: the line's index and its tokens, in order."""

    line: int
    tokens: list[Token]


@dataclass(slots=True)
class Paragraph:
    """Lines (or pieces of lines) that make one paragraph."""

    pieces: list[Piece]
    role: str | None = None


@dataclass(slots=True)
class Cell:
    """One table cell: its place, kind, stored polygon and the pieces written into it."""

    row: int
    column: int
    row_span: int
    column_span: int
    kind: str
    polygon: list[float]
    pieces: list[Piece] = field(default_factory=list)


@dataclass(slots=True)
class Table:
    rows: int
    columns: int
    polygon: list[float]
    cells: list[Cell]
    caption: Paragraph | None = None


@dataclass(slots=True)
class Figure:
    #: Its number on the page (1-based, as stored): its id is ``{page}.{number}``.
    number: int
    polygon: list[float]
    paragraphs: list[Paragraph]
    caption: Paragraph | None = None


@dataclass(slots=True)
class Element:
    """One thing written into the content, where ``key`` puts it in the page's order."""

    key: float
    kind: Literal["paragraph", "table", "figure"]
    paragraph: Paragraph | None = None
    table: Table | None = None
    figure: Figure | None = None


@dataclass(slots=True)
class PageElements:
    """A page's elements in content order, and its selection marks."""

    elements: list[Element]
    #: The stored selection marks (``state``, ``polygon``, ``confidence``).
    marks: list[dict[str, Any]]
    #: Words read from a selection mark's own ink: never written.
    dropped: set[Token]


def _center(polygon: Sequence[float]) -> tuple[float, float]:
    x0, y0, x1, y1 = box_of(polygon)
    return (x0 + x1) / 2, (y0 + y1) / 2


def _inside(point: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def page_elements(record: Record, groups: Sequence[Sequence[int]], layout: bool) -> PageElements:
    """The elements of the page ``record`` whose lines ``groups`` put in paragraphs (every
    line in one group, in reading order); with ``layout``, its tables, figures and marks too
    (from ``record["layout"]``, when the worker stored one)."""
    lines = record["lines"]
    found = record.get("layout") if layout else None
    if not found:
        return PageElements(
            [
                Element(float(min(g)), "paragraph", Paragraph([_whole(lines, i) for i in g]))
                for g in groups
                if g
            ],
            [],
            set(),
        )
    return _Layout(record, found).elements(groups)


def _whole(lines: Sequence[Record], index: int, skip: set[Token] | None = None) -> Piece:
    return Piece(
        index,
        [
            (index, w)
            for w in range(len(lines[index]["words"]))
            if not skip or (index, w) not in skip
        ],
    )


class _Layout:
    """The placing of one page's layout elements."""

    def __init__(self, record: Record, found: Record) -> None:
        self.lines: list[Record] = record["lines"]
        self.marks: list[Record] = list(found.get("marks", ()))
        self.dropped: set[Token] = {
            (int(li), int(wi)) for mark in self.marks for li, wi in mark.get("words", ())
        }
        self.tables = [
            Table(
                t["rows"],
                t["columns"],
                t["polygon"],
                [
                    Cell(
                        c["row"],
                        c["column"],
                        c["rowSpan"],
                        c["columnSpan"],
                        c["kind"],
                        c["polygon"],
                    )
                    for c in t["cells"]
                ],
            )
            for t in found.get("tables", ())
        ]
        # (table, cell) of each word a table took.
        self.cell_of: dict[Token, tuple[int, int]] = {}
        for t, stored in enumerate(found.get("tables", ())):
            for c, cell in enumerate(stored["cells"]):
                for li, wi in cell["words"]:
                    if (li, wi) not in self.dropped:
                        self.cell_of[(int(li), int(wi))] = (t, c)
        self.figures = [
            Figure(number, f["polygon"], [])
            for number, f in enumerate(found.get("figures", ()), start=1)
        ]

    def _height(self, index: int) -> float:
        _, top, _, bottom = box_of(self.lines[index]["boundingBox"])
        return bottom - top

    def _key_at(self, y: float) -> float:
        """Where something at height ``y`` with no text of its own goes: before the first
        line (in reading order) below it."""
        for index, line in enumerate(self.lines):
            if box_of(line["boundingBox"])[1] >= y:
                return index - 0.5
        return len(self.lines) - 0.5

    def elements(self, groups: Sequence[Sequence[int]]) -> PageElements:
        table_lines = self._fill_tables()
        figure_of = self._figure_lines(table_lines)
        before, after, lone = self._place_marks()
        elements: list[Element] = []
        figure_keys: dict[int, float] = {}
        for group in groups:
            run: list[Piece] = []
            runs: list[list[Piece]] = []
            # The paragraph each figure is growing from this group: a figure's lines that
            # the paragraph rule kept together stay one paragraph.
            growing: dict[int, Paragraph] = {}
            for index in group:
                if index in table_lines or index in figure_of:
                    if index in figure_of:
                        f = figure_of[index]
                        figure_keys[f] = min(figure_keys.get(f, index), index)
                        piece = self._piece(index, before, after)
                        if f in growing:
                            growing[f].pieces.append(piece)
                        else:
                            growing[f] = Paragraph([piece])
                            self.figures[f].paragraphs.append(growing[f])
                    if run:
                        runs.append(run)
                        run = []
                    continue
                run.append(self._piece(index, before, after))
            if run:
                runs.append(run)
            elements += [
                Element(float(r[0].line), "paragraph", Paragraph(r)) for r in runs if r[0].tokens
            ]
        for t, table in enumerate(self.tables):
            words = [li for li, _ in (k for k, v in self.cell_of.items() if v[0] == t)]
            key = float(min(words)) if words else self._key_at(box_of(table.polygon)[1])
            elements.append(Element(key, "table", table=table))
        for f, drawn in enumerate(self.figures):
            key = figure_keys.get(f, self._key_at(box_of(drawn.polygon)[1]))
            elements.append(Element(float(key), "figure", figure=drawn))
        for key, mark in lone:
            elements.append(Element(key, "paragraph", Paragraph([Piece(-1, [(MARK, mark)])])))
        elements.sort(key=lambda e: e.key)
        self._take_captions(elements)
        return PageElements(elements, self.marks, self.dropped)

    def _piece(
        self, index: int, before: dict[int, list[int]], after: dict[int, list[int]]
    ) -> Piece:
        piece = _whole(self.lines, index, self.dropped)
        piece.tokens = (
            [(MARK, m) for m in before.get(index, ())]
            + piece.tokens
            + [(MARK, m) for m in after.get(index, ())]
        )
        return piece

    def _fill_tables(self) -> set[int]:
        """Put each table word in its cell (in reading order); the lines with table words."""
        table_lines: set[int] = set()
        for index, line in enumerate(self.lines):
            for w in range(len(line["words"])):
                where = self.cell_of.get((index, w))
                if where is None:
                    continue
                table_lines.add(index)
                cell = self.tables[where[0]].cells[where[1]]
                if cell.pieces and cell.pieces[-1].line == index:
                    cell.pieces[-1].tokens.append((index, w))
                else:
                    cell.pieces.append(Piece(index, [(index, w)]))
        # A word of a table's line that no cell took (it stood just outside the grid) joins
        # the cell nearest it in its row, so no text of the line goes missing.
        for index in table_lines:
            for w, word in enumerate(self.lines[index]["words"]):
                token = (index, w)
                if token in self.cell_of or token in self.dropped:
                    continue
                t, c = self._nearest_cell(word["boundingBox"], index)
                self.cell_of[token] = (t, c)
                cell = self.tables[t].cells[c]
                cell.pieces.append(Piece(index, [token]))
                cell.pieces.sort(key=lambda p: (p.line, p.tokens[0][1]))
        return table_lines

    def _nearest_cell(self, polygon: Sequence[float], line: int) -> tuple[int, int]:
        cx, cy = _center(polygon)
        tables = {t for (li, _), (t, _) in self.cell_of.items() if li == line}
        best: tuple[float, int, int] = (float("inf"), 0, 0)
        for t in tables:
            for c, cell in enumerate(self.tables[t].cells):
                x0, y0, x1, y1 = box_of(cell.polygon)
                dx = max(x0 - cx, 0.0, cx - x1)
                dy = max(y0 - cy, 0.0, cy - y1)
                best = min(best, (dy * 4 + dx, t, c))
        return best[1], best[2]

    def _figure_lines(self, table_lines: set[int]) -> dict[int, int]:
        """The figure each line not in a table lies in (by its centre)."""
        boxes = [box_of(f.polygon) for f in self.figures]
        inside: dict[int, int] = {}
        for index, line in enumerate(self.lines):
            if index in table_lines:
                continue
            centre = _center(line["boundingBox"])
            for f, box in enumerate(boxes):
                if _inside(centre, box):
                    inside[index] = f
                    break
        return inside

    def _place_marks(
        self,
    ) -> tuple[dict[int, list[int]], dict[int, list[int]], list[tuple[float, int]]]:
        """Where each selection mark is written: first in its cell, or before the line it
        stands to the left of (a box, then its label), or after the line it follows, or on
        its own."""
        before: dict[int, list[int]] = {}
        after: dict[int, list[int]] = {}
        lone: list[tuple[float, int]] = []
        for m, mark in enumerate(self.marks):
            box = box_of(mark["polygon"])
            centre = _center(mark["polygon"])
            cell = self._cell_at(centre)
            if cell is not None:
                self.tables[cell[0]].cells[cell[1]].pieces.insert(0, Piece(-1, [(MARK, m)]))
                continue
            right, left = self._beside(box)
            if right is not None:
                before.setdefault(right, []).append(m)
            elif left is not None:
                after.setdefault(left, []).append(m)
            else:
                lone.append((self._key_at(box[1]), m))
        for placed in (*before.values(), *after.values()):
            placed.sort(key=lambda m: box_of(self.marks[m]["polygon"])[0])
        return before, after, lone

    def _cell_at(self, point: tuple[float, float]) -> tuple[int, int] | None:
        for t, table in enumerate(self.tables):
            if not _inside(point, box_of(table.polygon)):
                continue
            for c, cell in enumerate(table.cells):
                if _inside(point, box_of(cell.polygon)):
                    return t, c
        return None

    def _beside(self, box: tuple[float, float, float, float]) -> tuple[int | None, int | None]:
        """The nearest line starting to the right of the mark on its row, and the nearest one
        ending to its left."""
        right: tuple[float, int | None] = (float("inf"), None)
        left: tuple[float, int | None] = (float("inf"), None)
        height = box[3] - box[1]
        for index, line in enumerate(self.lines):
            if all((index, w) in self.dropped for w in range(len(line["words"]))):
                continue
            x0, y0, x1, y1 = box_of(line["boundingBox"])
            overlap = min(y1, box[3]) - max(y0, box[1])
            if overlap < _MARK_ROW_OVERLAP * min(height, y1 - y0):
                continue
            reach = _MARK_REACH * (y1 - y0)
            if x0 >= box[2] - 0.2 * height and x0 - box[2] <= reach:
                right = min(right, (x0 - box[2], index))
            elif x1 <= box[0] + 0.2 * height and box[0] - x1 <= reach:
                left = min(left, (box[0] - x1, index))
        return right[1], left[1]

    def _take_captions(self, elements: list[Element]) -> None:
        """A paragraph next to a table or figure that names it becomes its caption."""
        for element in [e for e in elements if e.kind != "paragraph"]:
            thing = element.table if element.table is not None else element.figure
            assert thing is not None
            pattern = _TABLE_CAPTION if element.kind == "table" else _FIGURE_CAPTION
            at = elements.index(element)
            for near in (at - 1, at + 1):
                if not 0 <= near < len(elements) or elements[near].kind != "paragraph":
                    continue
                paragraph = elements[near].paragraph
                assert paragraph is not None
                if self._captions(paragraph, thing.polygon, pattern):
                    thing.caption = paragraph
                    del elements[near]
                    break

    def _captions(
        self, paragraph: Paragraph, polygon: Sequence[float], pattern: re.Pattern[str]
    ) -> bool:
        pieces = [p for p in paragraph.pieces if p.line >= 0]
        if not pieces or len(pieces) > 3:
            return False
        first = self.lines[pieces[0].line]
        if not pattern.match(first["text"]):
            return False
        x0, y0, x1, y1 = box_of([v for p in pieces for v in self.lines[p.line]["boundingBox"]])
        bx0, by0, bx1, by1 = box_of(polygon)
        gap = _CAPTION_GAP * self._height(pieces[0].line)
        across = min(x1, bx1) - max(x0, bx0) > 0
        return across and (0 <= by0 - y1 <= gap or 0 <= y0 - by1 <= gap)
