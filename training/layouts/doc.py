"""The HTML builder the layout kinds share: a page's random style (paper, margins, fonts,
sizes), blocks tagged with their truth (role, place in the reading order, group), tables tagged
with their grid, drawn check boxes, and the page skeleton (header, main flow, footnotes,
footer) whose CSS makes Chromium lay out on screen exactly what it prints.

The truth lives in ``data-*`` attributes, read back from the DOM after layout
(``render.py``): ``data-block`` (id), ``data-role``, ``data-order`` (a sort key; absent for a
floating block), ``data-group``; on table cells ``data-table``, ``data-row``, ``data-col``,
``data-rowspan``, ``data-colspan``, ``data-header``; ``data-table-id`` (with ``data-rows``,
``data-cols``, ``data-ruled``) on a table; ``data-checkbox`` ("1" ticked, "0" empty) on a
drawn box. ``data-drop`` marks what may be left out when the page is full (the highest key
first), ``data-keepnext`` a heading that must not end its column, ``data-fit`` a box its
content must stay inside, ``data-box`` a drawing that must fit like text.

Blocks are created in reading order: a block's order key is the count of blocks created
before it (``last=True`` puts it after every other block: footers, page numbers).
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field

from .text import Text

PT = 96 / 72  # CSS px per point

SERIF = (
    "Liberation Serif",
    "DejaVu Serif",
    "Nimbus Roman",
    "C059",
    "P052",
    "URW Bookman",
    "Noto Serif",
)
SANS = (
    "Liberation Sans",
    "DejaVu Sans",
    "Nimbus Sans",
    "Nimbus Sans Narrow",
    "URW Gothic",
    "Noto Sans",
)
MONO = ("Liberation Mono", "DejaVu Sans Mono", "Nimbus Mono PS")
SCRIPT = ("Z003",)

PAPERS = {"letter": (816, 1056), "a4": (794, 1123)}


def esc(text: str) -> str:
    """Text as HTML (quotes too, so it may go into attributes)."""
    return html.escape(text, quote=True)


def font_stack(family: str) -> str:
    """A CSS font-family value with a generic fallback of the same kind."""
    generic = "serif" if family in SERIF else "monospace" if family in MONO else "sans-serif"
    return f"'{family}', {generic}"


@dataclass
class Style:
    """A page's look, drawn once per page."""

    width: int
    height: int
    margins: tuple[int, int, int, int]  # top, right, bottom, left (CSS px)
    body_font: str
    head_font: str
    mono_font: str
    size: float  # body size in pt
    leading: float  # line-height factor
    justify: bool
    indent: bool  # paragraphs indented (no space between) rather than spaced
    accent: str  # colour of headings and rules
    head_weight: int

    @staticmethod
    def draw(
        rng: random.Random,
        *,
        landscape: bool = False,
        size: tuple[float, float] = (8.5, 12.5),
        margins: tuple[int, int] = (36, 100),
    ) -> Style:
        """A random style; ``size`` bounds the body size in pt (8-14 is the usual range)."""
        width, height = PAPERS[rng.choice(("letter", "a4"))]
        if landscape:
            width, height = height, width
        low, high = margins
        top, bottom = rng.randint(low, high), rng.randint(low, high)
        side = rng.randint(low, high)
        kind = rng.random()
        if kind < 0.5:
            body = rng.choice(SERIF)
            head = rng.choice(SANS) if rng.random() < 0.5 else body
        elif kind < 0.93:
            body = rng.choice(SANS)
            head = rng.choice(SANS + SERIF) if rng.random() < 0.4 else body
        else:
            body = rng.choice(MONO)
            head = body
        accent = rng.choice(("#000", "#111", "#1a1a1a", "#222", "#13315c", "#5a1010", "#0b4a3a"))
        return Style(
            width=width,
            height=height,
            margins=(top, side + rng.randint(-8, 8), bottom, side),
            body_font=body,
            head_font=head,
            mono_font=rng.choice(MONO),
            size=round(rng.uniform(*size) * 2) / 2,
            leading=round(rng.uniform(1.15, 1.5), 2),
            justify=rng.random() < 0.45,
            indent=rng.random() < 0.3,
            accent=accent,
            head_weight=rng.choice((600, 700, 700, 700)),
        )

    @property
    def content_width(self) -> int:
        """The width between the side margins in CSS px."""
        return self.width - self.margins[1] - self.margins[3]

    @property
    def content_height(self) -> int:
        """The height between the top and bottom margins in CSS px."""
        return self.height - self.margins[0] - self.margins[2]


@dataclass
class Cell:
    """One cell of a table as the composer writes it (HTML inside, spans, alignment)."""

    html: str
    rowspan: int = 1
    colspan: int = 1
    header: bool = False
    align: str = "left"
    style: str = ""


@dataclass
class Doc:
    """Builds one page's HTML, numbering blocks, groups, tables and what may be dropped."""

    rng: random.Random
    text: Text
    style: Style
    css: list[str] = field(default_factory=list)
    _blocks: int = 0
    _keys: int = 0
    _groups: int = 0
    _tables: int = 0
    _drops: int = 0

    # --- truth-tagged elements ---------------------------------------------------------------

    def block(
        self,
        role: str,
        inner: str,
        *,
        tag: str = "div",
        floating: bool = False,
        last: bool = False,
        group: int | None = None,
        cls: str = "",
        style: str = "",
        drop: bool = False,
        keepnext: bool = False,
        trim: bool = False,
        attrs: str = "",
    ) -> str:
        """One block element: ``inner`` is HTML (escape text with ``esc``). ``drop``: may be
        left out when the page is full; ``trim``: plain text that may be cut short instead."""
        self._blocks += 1
        parts = [f'data-block="{self._blocks}"', f'data-role="{role}"']
        if not floating:
            self._keys += 1
            parts.append(f'data-order="{self._keys + (1_000_000 if last else 0)}"')
        if group is not None:
            parts.append(f'data-group="{group}"')
        if cls:
            parts.append(f'class="{cls}"')
        if style:
            parts.append(f'style="{style}"')
        if drop:
            parts.append(self.drop())
        if keepnext:
            parts.append("data-keepnext")
        if trim:
            parts.append("data-trim")
        if attrs:
            parts.append(attrs)
        return f"<{tag} {' '.join(parts)}>{inner}</{tag}>"

    def drop(self) -> str:
        """The attribute that lets an element be left out when the page is full; elements
        marked later go first."""
        self._drops += 1
        return f'data-drop="{self._drops}"'

    def group(self) -> int:
        """A new group id for blocks read block by block or row by row across."""
        self._groups += 1
        return self._groups

    def checkbox(self, selected: bool, size: float | None = None) -> str:
        """A drawn check box (borders and a drawn tick or fill, no glyph)."""
        side = size or self.style.size * PT * 0.95
        border = self.rng.choice((1, 1, 1.3, 1.6))
        radius = self.rng.choice((0, 0, 2))
        inner = ""
        if selected:
            if self.rng.random() < 0.6:
                inner = (
                    f'<svg width="{side:.1f}" height="{side:.1f}" viewBox="0 0 10 10" '
                    'style="position:absolute;left:0;top:0"><path d="M2 5.2 L4.2 7.6 L8.2 2.4" '
                    'fill="none" stroke="#111" stroke-width="1.6"/></svg>'
                )
            else:
                inner = (
                    '<span style="position:absolute;left:22%;top:22%;width:56%;height:56%;'
                    'background:#111"></span>'
                )
        return (
            f'<span data-checkbox="{1 if selected else 0}" data-box style="display:inline-block;'
            f"position:relative;width:{side:.1f}px;height:{side:.1f}px;"
            f"border:{border}px solid #222;"
            f'border-radius:{radius}px;vertical-align:-0.15em;box-sizing:border-box">{inner}</span>'
        )

    def table(
        self,
        rows: list[list[Cell]],
        *,
        ruled: bool,
        head: int = 0,
        droppable: bool = False,
        cls: str = "",
        style: str = "",
        cell_style: str = "",
        attrs: str = "",
    ) -> str:
        """A table whose cells are blocks (role ``cell``) tagged with their grid position,
        computed as HTML does (row spans reserve the cells below them). The first ``head``
        rows go in ``<thead>``; with ``droppable`` the body's trailing rows may be left out
        when the page is full (never inside a row span)."""
        self._tables += 1
        table_id = self._tables
        # The cells of rows that a row span ties together form a group: whether a cell that
        # spans rows (set in their middle) is read with their first row or between them is a
        # matter of taste.
        spanned = [max([r] + [r + c.rowspan - 1 for c in row]) for r, row in enumerate(rows)]
        group_of: dict[int, int] = {}
        r = 0
        while r < len(rows):
            end = r
            while end + 1 < len(rows) and max(spanned[r : end + 1]) > end:
                end += 1
            if end > r:
                group = self.group()
                group_of.update((k, group) for k in range(r, end + 1))
            r = end + 1
        taken: set[tuple[int, int]] = set()
        reach: list[int] = []  # the last row each row's cells span to
        html_rows: list[str] = []
        for r, row in enumerate(rows):
            c = 0
            tds: list[str] = []
            last = r
            for cell in row:
                while (r, c) in taken:
                    c += 1
                for dr in range(cell.rowspan):
                    for dc in range(cell.colspan):
                        taken.add((r + dr, c + dc))
                last = max(last, r + cell.rowspan - 1)
                tag = "th" if cell.header else "td"
                spans = ""
                if cell.rowspan > 1:
                    spans += f' rowspan="{cell.rowspan}"'
                if cell.colspan > 1:
                    spans += f' colspan="{cell.colspan}"'
                attrs_cell = (
                    f'data-table="{table_id}" data-row="{r}" data-col="{c}" '
                    f'data-rowspan="{cell.rowspan}" data-colspan="{cell.colspan}" '
                    f'data-header="{1 if cell.header else 0}"{spans}'
                )
                css = f"text-align:{cell.align};{cell_style}{cell.style}"
                tds.append(
                    self.block(
                        "cell",
                        cell.html,
                        tag=tag,
                        style=css,
                        attrs=attrs_cell,
                        group=group_of.get(r),
                    )
                )
                c += cell.colspan
            reach.append(last)
            html_rows.append("<tr>" + "".join(tds) + "</tr>")
        n_rows = max((r for r, _ in taken), default=-1) + 1
        n_cols = max((c for _, c in taken), default=-1) + 1
        parts = []
        if head:
            parts.append("<thead>" + "".join(html_rows[:head]) + "</thead>")
        # Body segments: rows that row spans tie together stay together.
        r = head
        while r < len(html_rows):
            end = r
            while end < len(html_rows) and max(reach[r : end + 1]) > end:
                end += 1
            drop = f" {self.drop()}" if droppable and r > head else ""
            parts.append(f"<tbody{drop}>" + "".join(html_rows[r : end + 1]) + "</tbody>")
            r = end + 1
        table_attrs = (
            f'data-table-id="{table_id}" data-rows="{n_rows}" data-cols="{n_cols}" '
            f'data-ruled="{1 if ruled else 0}" data-box'
        )
        klass = f' class="{cls}"' if cls else ""
        css = f' style="{style}"' if style else ""
        extra = f" {attrs}" if attrs else ""
        return f"<table {table_attrs}{klass}{css}{extra}>" + "".join(parts) + "</table>"

    # --- the page ----------------------------------------------------------------------------

    def add_css(self, rule: str) -> None:
        """Extra CSS for this page."""
        self.css.append(rule)

    def page(
        self,
        main: str,
        *,
        header: str = "",
        footnotes: str = "",
        footer: str = "",
        main_style: str = "",
    ) -> str:
        """The whole document: ``header`` on top, ``main`` filling what is left (content that
        does not fit is dropped), ``footnotes`` and ``footer`` at the bottom."""
        s = self.style
        top, right, bottom, left = s.margins
        align = "justify" if s.justify else "left"
        para_gap = "0" if s.indent else "0.55em"
        indent = "1.4em" if s.indent else "0"
        base = f"""
@page {{ size: {s.width}px {s.height}px; margin: 0; }}
html, body {{ margin: 0; padding: 0; background: #fff; }}
* {{ box-sizing: border-box; }}
body {{ font-family: {font_stack(s.body_font)}; font-size: {s.size}pt; line-height: {s.leading};
  color: #111; hyphens: manual; -webkit-hyphens: manual; overflow-wrap: normal;
  word-break: normal; -webkit-print-color-adjust: exact; print-color-adjust: exact;
  font-kerning: normal; text-rendering: auto; }}
#page {{ position: relative; width: {s.width}px; height: {s.height}px; overflow: hidden;
  padding: {top}px {right}px {bottom}px {left}px; display: flex; flex-direction: column; }}
#main {{ flex: 1 1 auto; min-height: 0; position: relative; {main_style} }}
#head, #notes, #foot {{ flex: 0 0 auto; }}
p {{ margin: 0 0 {para_gap}; text-align: {align}; text-indent: {indent}; }}
h1, h2, h3, h4 {{ font-family: {font_stack(s.head_font)}; color: {s.accent};
  font-weight: {s.head_weight}; margin: 0; line-height: 1.2; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 0.15em 0.45em; vertical-align: top; font-weight: normal; }}
th {{ font-weight: {s.head_weight}; }}
sup {{ font-size: 0.7em; line-height: 0; }}
figure {{ margin: 0; }}
"""
        parts = ['<div id="page" data-fit>']
        if header:
            parts.append(f'<div id="head">{header}</div>')
        parts.append(f'<div id="main" data-fit>{main}</div>')
        if footnotes:
            parts.append(f'<div id="notes">{footnotes}</div>')
        if footer:
            parts.append(f'<div id="foot">{footer}</div>')
        parts.append("</div>")
        css = base + "\n".join(self.css)
        return (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
            + css
            + "</style></head><body>"
            + "".join(parts)
            + "</body></html>"
        )

    # --- common pieces -----------------------------------------------------------------------

    def paragraph(self, text: str | None = None, *, role: str = "paragraph", **kw: str) -> str:
        """A droppable, trimmable paragraph of plain text."""
        body = self.text.paragraph() if text is None else text
        return self.block(role, esc(body), tag="p", drop=True, trim=True, **kw)  # type: ignore[arg-type]

    def lines_of(self, text: str, width: float, size: float | None = None) -> float:
        """About how many lines ``text`` takes in a column ``width`` px wide."""
        size = size or self.style.size
        em = 0.6 if self.style.body_font in MONO else 0.5
        return max(1.0, len(text) * size * PT * em / max(width, 20)) + 0.4

    def capacity(self, height: float, size: float | None = None) -> float:
        """About how many lines of body text fit ``height`` px."""
        size = size or self.style.size
        return height / (size * PT * self.style.leading)

    def heading(self, text: str, level: int = 2, *, drop: bool = True, style: str = "") -> str:
        """A section heading that is never left at the bottom of a column."""
        return self.block(
            "heading", esc(text), tag=f"h{level}", drop=drop, keepnext=drop, style=style
        )
