"""``table_ruled``, ``table_unruled`` and ``table_styled``: pages built around tables.

Ruled tables have borders (a full grid, or horizontal rules in a box), one or two header rows
(group headers spanning the columns below them), row spans down a category column, section
rows across the table, a caption above or below and notes under it; sometimes two tables,
sometimes text around them. Unruled tables are financial statements: aligned columns of
right-aligned numbers under spanning group headers, at most a rule under the header. Styled
tables are drawn as other documents draw them: boxed and ruled across only, shaded cells set
apart by white, labels and values ruled row by row under a heading bar.
Cells are read row by row, left to right; a caption above a table before its cells, one
below after them."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from ..doc import Cell, Doc, Style, esc
from ..text import Text
from . import parts


def compose_ruled(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page of ruled tables."""
    style = Style.draw(rng, landscape=rng.random() < 0.3, size=(8, 11), margins=(36, 80))
    doc = Doc(rng, text, style)
    header = parts.running_header(doc) if rng.random() < 0.4 else ""
    flow = [
        doc.block(
            "title",
            esc(text.title(2, 7)),
            tag="h1",
            style=f"font-size:{style.size * rng.uniform(1.5, 2.1):.1f}pt;margin-bottom:0.5em",
        )
    ]
    if rng.random() < 0.6:
        flow.append(doc.paragraph(text.paragraph(1, 4)))
    n_tables = 2 if rng.random() < 0.35 else 1
    for t in range(n_tables):
        if t and rng.random() < 0.5:
            flow.append(
                doc.heading(
                    text.heading(), style=f"font-size:{style.size * 1.2:.1f}pt;margin:0.8em 0 0.3em"
                )
            )
        max_rows = 22 if n_tables == 1 else 10
        flow.append(_ruled(doc, style.content_width, rng.randint(4, max_rows), t + 1))
        if rng.random() < 0.35:
            flow.append(doc.paragraph(text.paragraph(1, 4)))
    footer = parts.page_footer(doc) if rng.random() < 0.6 else ""
    return doc.page("".join(flow), header=header, footer=footer), style


def _value_maker(doc: Doc) -> tuple[Callable[[], str], str]:
    """A column's kind of content: a function making one value and its alignment."""
    rng, text = doc.rng, doc.text
    kinds: list[tuple[Callable[[], str], str]] = [
        (lambda: text.number(rng.uniform(0, 5000), rng.choice((0, 1, 2))), "right"),
        (lambda: text.money(rng.uniform(1, 20000)), "right"),
        (lambda: text.percent(round(rng.uniform(0, 100), 1)), "right"),
        (lambda: text.date(long=False), "left"),
        (lambda: " ".join(text.words(rng.randint(1, 2))), "left"),
        (lambda: str(rng.randint(1, 999)), "right"),
        (lambda: text.code("")[-7:], "left"),
    ]
    return rng.choice(kinds)


def _ruled(doc: Doc, width: float, body_rows: int, number: int) -> str:
    rng, text = doc.rng, doc.text
    n_cols = rng.randint(3, 7 if width < 900 else 9)
    size = doc.style.size * rng.uniform(0.85, 1.0)
    category = n_cols >= 4 and rng.random() < 0.45  # a first column of row-spanning groups
    makers = [_value_maker(doc) for _ in range(n_cols)]
    makers[1 if category else 0] = (text.product, "left")

    def cap(word: str) -> str:
        return word[:1].upper() + word[1:]

    # Header rows: maybe a group header spanning two or three columns over sub-headers.
    head_rows: list[list[Cell]] = []
    grouped = n_cols >= 4 and rng.random() < 0.5
    first_value = 2 if category else 1
    if grouped:
        start = rng.randint(first_value, n_cols - 2)
        span = rng.randint(2, min(3, n_cols - start))
        top: list[Cell] = []
        sub: list[Cell] = []
        for c in range(n_cols):
            if c == start:
                top.append(
                    Cell(
                        esc(cap(" ".join(text.words(rng.randint(1, 2))))),
                        header=True,
                        colspan=span,
                        align="center",
                    )
                )
            elif start < c < start + span:
                continue
            else:
                top.append(
                    Cell(esc(cap(text.words(1)[0])), header=True, rowspan=2, align=makers[c][1])
                )
        for c in range(start, start + span):
            sub.append(Cell(esc(cap(text.words(1)[0])), header=True, align=makers[c][1]))
        head_rows = [top, sub]
    else:
        head_rows = [
            [
                Cell(esc(cap(text.words(1)[0])), header=True, align=makers[c][1])
                for c in range(n_cols)
            ]
        ]

    rows: list[list[Cell]] = []
    r = 0
    while r < body_rows:
        if r and rng.random() < 0.08 and not category:
            rows.append([Cell(f"<b>{esc(text.heading())}</b>", colspan=n_cols, header=True)])
            r += 1
            continue
        group = rng.randint(2, 4) if category else 1
        group = min(group, body_rows - r) if r + 1 < body_rows else 1
        for g in range(group):
            row: list[Cell] = []
            if category and g == 0:
                row.append(
                    Cell(esc(cap(text.words(1)[0])), rowspan=group, style="vertical-align:middle")
                )
            for c in range(1 if category else 0, n_cols):
                make, align = makers[c]
                value = make() if rng.random() > 0.04 else ""
                row.append(Cell(esc(value), align=align))
            rows.append(row)
        r += group
    if rng.random() < 0.4 and n_cols >= 3 and not category:
        label_span = rng.randint(1, 2) if n_cols >= 5 else 1
        total = [Cell(f"<b>{esc(text.term('total'))}</b>", colspan=label_span)]
        for c in range(label_span, n_cols):
            make, align = makers[c]
            total.append(Cell(f"<b>{esc(make())}</b>" if align == "right" else "", align=align))
        rows.append(total)

    grid = rng.random() < 0.6
    tint = rng.choice(("#e8e8e8", "#dde6f0", "#eee", "transparent"))
    line = rng.choice(("0.8px solid #333", "1px solid #222", "0.6px solid #555"))
    cls = f"t{number}"
    if grid:
        doc.add_css(f".{cls} td, .{cls} th {{ border: {line}; }}")
    else:
        doc.add_css(
            f".{cls} {{ border-top: 1.5px solid #111; border-bottom: 1.5px solid #111; }}"
            f".{cls} td, .{cls} th {{ border-bottom: {line}; }}"
        )
    doc.add_css(f".{cls} thead th {{ background: {tint}; vertical-align: bottom; }}")
    pad = rng.choice(("2px 5px", "3px 7px", "1px 4px", "4px 8px"))
    full = rng.random() < 0.6
    caption_head = f"{text.term('table')} {number}{rng.choice(('.', ':'))}"
    caption_body = text.sentence(3, 12)
    above = rng.random() < 0.6

    def caption_html() -> str:
        return doc.block(
            "caption",
            f"<b>{esc(caption_head)}</b> {esc(caption_body)}",
            style=f"font-size:{size:.1f}pt;margin:{'0 0 4px' if above else '4px 0 0'}",
        )

    pieces = [caption_html()] if above else []
    pieces.append(
        doc.table(
            head_rows + rows,
            ruled=True,
            head=len(head_rows),
            droppable=True,
            cls=cls,
            style=f"font-size:{size:.1f}pt;line-height:1.25;{'width:100%;' if full else ''}",
            cell_style=f"padding:{pad};",
        )
    )
    if not above:
        pieces.append(caption_html())
    for k in range(rng.choice((0, 0, 1, 2))):
        mark = "*†"[k] if rng.random() < 0.5 else chr(ord("a") + k)
        pieces.append(
            doc.block(
                "footnote",
                f"<sup>{mark}</sup> {esc(text.sentence(5, 16))}",
                style=f"font-size:{size * 0.88:.1f}pt;margin-top:2px",
            )
        )
    return f'<div style="margin:0.6em 0 1em">{"".join(pieces)}</div>'


def compose_unruled(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page of financial statements: unruled, right-aligned numbers."""
    style = Style.draw(rng, landscape=rng.random() < 0.15, size=(8, 11), margins=(40, 90))
    doc = Doc(rng, text, style)
    flow = [
        doc.block(
            "title",
            esc(text.company()),
            tag="h1",
            style=f"font-size:{style.size * rng.uniform(1.4, 1.9):.1f}pt;margin-bottom:0.2em",
        )
    ]
    statements = ["balance", "income_statement"]
    rng.shuffle(statements)
    n = 2 if rng.random() < 0.35 else 1
    for which in statements[:n]:
        flow.append(
            doc.heading(
                text.term(which),
                drop=False,
                style=f"font-size:{style.size * 1.25:.1f}pt;margin:0.6em 0 0.15em",
            )
        )
        year = rng.randint(2012, 2030)
        month, day = rng.choice(((3, 31), (6, 30), (9, 30), (12, 31), (12, 31)))
        closing = dt.date(year, month, day)
        flow.append(
            doc.block(
                "meta",
                esc(
                    f"{text.term('year_ended')} {text.date(closing, long=True)}"
                    f" ({text.term('in_thousands')})"
                ),
                style=f"font-size:{style.size * 0.9:.1f}pt;color:#333;margin-bottom:0.6em",
            )
        )
        flow.append(_statement(doc, year, which, 16 if n == 2 else 34))
        if rng.random() < 0.5:
            flow.append(
                doc.block(
                    "footnote",
                    esc(text.sentence(8, 24)),
                    style=f"font-size:{style.size * 0.85:.1f}pt;margin-top:6px",
                )
            )
    footer = parts.page_footer(doc, text_too=False) if rng.random() < 0.6 else ""
    return doc.page("".join(flow), footer=footer), style


def _statement(doc: Doc, year: int, which: str, max_rows: int) -> str:
    rng, text = doc.rng, doc.text
    years = rng.randint(2, 3)
    two_groups = years == 2 and rng.random() < 0.3
    value_cols = years * (2 if two_groups else 1)
    note_col = rng.random() < 0.5
    n_cols = 1 + int(note_col) + value_cols
    rule = rng.random() < 0.6
    head_rows: list[list[Cell]] = []
    year_labels = [str(year - k) for k in range(years)]
    if two_groups:
        first = [Cell("", header=True)] + ([Cell("", header=True)] if note_col else [])
        for name in (text.company().split(" ")[0], text.words(1)[0].capitalize()):
            first.append(Cell(esc(name), header=True, colspan=years, align="center"))
        head_rows.append(first)
    elif rng.random() < 0.4:
        first = [Cell("", header=True)] + ([Cell("", header=True)] if note_col else [])
        first.append(
            Cell(esc(text.term("year_ended")), header=True, colspan=value_cols, align="center")
        )
        head_rows.append(first)
    labels = [Cell("", header=True)] + (
        [Cell(esc(text.term("note")), header=True, align="center")] if note_col else []
    )
    labels += [
        Cell(esc(y), header=True, align="right") for y in year_labels * (value_cols // years)
    ]
    head_rows.append(labels)

    sections = (
        ["fixed_assets", "current_assets", "liabilities", "equity"]
        if which == "balance"
        else ["revenue", "expenses", "net_income"]
    )
    rows: list[list[Cell]] = []
    indent = rng.choice(("1em", "1.5em", "0.8em"))

    def amount(v: float, bold: bool = False) -> Cell:
        s = text.number(abs(v), 0)
        s = f"({s})" if v < 0 else s
        return Cell(f"<b>{esc(s)}</b>" if bold else esc(s), align="right")

    for key in sections:
        if len(rows) >= max_rows:
            break
        span_all = rng.random() < 0.5
        if span_all:
            rows.append([Cell(f"<b>{esc(text.term(key))}</b>", colspan=n_cols)])
        else:
            rows.append(
                [Cell(f"<b>{esc(text.term(key))}</b>")] + [Cell("") for _ in range(n_cols - 1)]
            )
        totals = [0.0] * value_cols
        for _ in range(rng.randint(2, 6)):
            label = text.product() if rng.random() < 0.3 else text.title(1, 4)
            row = [Cell(esc(label), style=f"padding-left:{indent}")]
            if note_col:
                row.append(
                    Cell(esc(str(rng.randint(3, 28))) if rng.random() < 0.5 else "", align="center")
                )
            for c in range(value_cols):
                v = rng.uniform(-0.25, 1) * 10 ** rng.uniform(2, 5)
                totals[c] += v
                row.append(amount(v))
            rows.append(row)
        total = [Cell(f"<b>{esc(text.term('total'))} {esc(text.term(key).lower())}</b>")]
        if note_col:
            total.append(Cell(""))
        total += [amount(v, True) for v in totals]
        rows.append(total)
    size = doc.style.size * rng.uniform(0.9, 1.0)
    cls = f"fs{rng.randrange(10**6)}"
    if rule:
        doc.add_css(f".{cls} thead tr:last-child th {{ border-bottom: 1px solid #222; }}")
    width = rng.choice(("100%", "90%", "80%"))
    pad = rng.choice(("2px 10px", "1px 14px", "3px 8px"))
    return doc.table(
        head_rows + rows,
        ruled=False,
        head=len(head_rows),
        droppable=True,
        cls=cls,
        style=f"font-size:{size:.1f}pt;line-height:1.25;width:{width};"
        "font-variant-numeric:tabular-nums",
        cell_style=f"padding:{pad};",
    )


def compose_styled(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page of tables drawn the other ways real documents draw them: boxed with rules
    between the rows and none down (a statement's summary), shaded cells set apart by white
    (a rate sheet), and lists of labels and values ruled row by row under a heading bar (a
    spec sheet)."""
    style = Style.draw(rng, landscape=rng.random() < 0.2, size=(8, 11), margins=(36, 80))
    doc = Doc(rng, text, style)
    flow = [
        doc.block(
            "title",
            esc(text.title(2, 6)),
            tag="h1",
            style=f"font-size:{style.size * rng.uniform(1.5, 2.0):.1f}pt;margin-bottom:0.5em",
        )
    ]
    if rng.random() < 0.5:
        flow.append(doc.paragraph(text.paragraph(1, 3)))
    for t in range(rng.choice((1, 2, 2, 3))):
        draw = rng.choice((_boxed, _shaded, _spec_list))
        flow.append(draw(doc, t + 1))
    footer = parts.page_footer(doc) if rng.random() < 0.5 else ""
    return doc.page("".join(flow), footer=footer), style


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def _boxed(doc: Doc, number: int) -> str:
    """A box with a rule under every row and none down: labels and amounts, maybe under a
    tinted title row spanning the table."""
    rng, text = doc.rng, doc.text
    n_cols = rng.randint(2, 4)
    makers = [(text.product, "left")] + [_value_maker(doc) for _ in range(n_cols - 1)]
    rows: list[list[Cell]] = []
    head = 0
    if rng.random() < 0.6:
        rows.append([Cell(esc(_cap(text.heading())), header=True, colspan=n_cols)])
        head = 1
    for _ in range(rng.randint(3, 10)):
        rows.append([Cell(esc(make()), align=align) for make, align in makers])
    cls = f"b{number}"
    line = rng.choice(("1px solid #999", "1px solid #bbb", "0.8px solid #444"))
    doc.add_css(
        f".{cls} {{ border: {line}; border-collapse: collapse; }}"
        f".{cls} td, .{cls} th {{ border-bottom: {line}; }}"
        f".{cls} thead th {{ background: {rng.choice(('#cfe0f3', '#e4e4e4', '#d9d2a8'))};"
        " text-align: left; }"
    )
    size = doc.style.size * rng.uniform(0.9, 1.05)
    return doc.table(
        rows,
        ruled=True,
        head=head,
        droppable=True,
        cls=cls,
        style=f"font-size:{size:.1f}pt;line-height:1.3;width:100%;margin:0.8em 0",
        cell_style=f"padding:{rng.choice(('3px 8px', '4px 10px', '2px 6px'))};",
    )


def _shaded(doc: Doc, number: int) -> str:
    """Cells on tinted backgrounds set apart by white gaps, no lines: a dark header row with
    white text, tinted columns of values."""
    rng, text = doc.rng, doc.text
    n_cols = rng.randint(3, 6)
    makers = [(text.product, "left")] + [_value_maker(doc) for _ in range(n_cols - 1)]
    rows: list[list[Cell]] = [
        [
            Cell(esc(_cap(" ".join(text.words(rng.randint(1, 2))))), header=True, align="center")
            for _ in range(n_cols)
        ]
    ]
    for _ in range(rng.randint(3, 12)):
        rows.append([Cell(esc(make()), align=align) for make, align in makers])
    cls = f"s{number}"
    dark = rng.choice(("#4a4a4a", "#1f3c68", "#5b1a1a"))
    light = rng.choice(("#eeeeee", "#fdf3d7", "#e6eef7"))
    doc.add_css(
        f".{cls} {{ border-collapse: separate; border-spacing: {rng.choice((2, 3, 4))}px; }}"
        f".{cls} td {{ background: {light}; }}"
        f".{cls} th {{ background: {dark}; color: #fff; }}"
    )
    size = doc.style.size * rng.uniform(0.85, 1.0)
    full = "width:100%;" if rng.random() < 0.6 else ""
    caption = doc.block(
        "caption",
        f"<b>{esc(text.term('table'))} {number}.</b> {esc(text.sentence(3, 10))}",
        style=f"font-size:{size:.1f}pt;margin:0.8em 0 4px",
    )
    return caption + doc.table(
        rows,
        ruled=True,
        head=1,
        droppable=True,
        cls=cls,
        style=f"font-size:{size:.1f}pt;line-height:1.3;{full}",
        cell_style=f"padding:{rng.choice(('4px 8px', '6px 10px', '3px 6px'))};",
    )


def _spec_list(doc: Doc, number: int) -> str:
    """Labels and values in two columns, a rule under each row and none down, values set
    right, under a heading bar that is not part of the table."""
    rng, text = doc.rng, doc.text
    value, _ = _value_maker(doc)
    rows = [
        [
            Cell(esc(_cap(" ".join(text.words(rng.randint(1, 3))))), align="left"),
            Cell(
                esc(value() if rng.random() < 0.5 else " ".join(text.words(rng.randint(1, 3)))),
                align="right",
            ),
        ]
        for _ in range(rng.randint(3, 10))
    ]
    cls = f"l{number}"
    line = rng.choice(("1px solid #555", "0.8px solid #888"))
    doc.add_css(f".{cls} {{ border-collapse: collapse; }} .{cls} td {{ border-bottom: {line}; }}")
    bar = rng.choice(("#e38b1f", "#2d5f8a", "#555"))
    size = doc.style.size * rng.uniform(0.85, 1.0)
    heading = doc.heading(
        text.heading().upper(),
        style=(
            f"font-size:{size * 1.05:.1f}pt;background:{bar};color:#fff;padding:3px 8px;"
            "margin:0.9em 0 0.2em"
        ),
    )
    width = rng.choice(("width:100%;", "width:60%;", "width:45%;"))
    return heading + doc.table(
        rows,
        ruled=True,
        droppable=True,
        cls=cls,
        style=f"font-size:{size:.1f}pt;line-height:1.3;{width}",
        cell_style="padding:3px 6px;",
    )
