"""``sidebar``: an article beside a side column of notes or a boxed, tinted infobox (label and
value rows), with pull quotes between paragraphs or floated into the text. The side column's
blocks float (``order: null``) and share one group; pull quotes float."""

from __future__ import annotations

import random

from ..doc import Doc, Style, esc
from ..text import Text
from . import parts


def compose(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page's HTML and style."""
    style = Style.draw(rng, size=(8.5, 12), margins=(36, 85))
    doc = Doc(rng, text, style)
    header = parts.running_header(doc) if rng.random() < 0.5 else ""
    top = [
        doc.block(
            "title",
            esc(text.title(3, 9)),
            tag="h1",
            style=f"font-size:{style.size * rng.uniform(1.8, 2.6):.1f}pt;margin-bottom:0.3em",
        )
    ]
    if rng.random() < 0.5:
        top.append(
            doc.block(
                "abstract",
                esc(text.paragraph(1, 2)),
                style=f"font-size:{style.size * 1.15:.1f}pt;line-height:1.3;margin-bottom:0.5em",
            )
        )
    if rng.random() < 0.6:
        top.append(
            doc.block(
                "meta",
                esc(f"{text.name()} | {text.date()}"),
                style=f"font-size:{style.size * 0.9:.1f}pt;color:#555;margin-bottom:0.8em",
            )
        )

    side_share = rng.uniform(0.26, 0.36)
    gap = rng.choice((16, 20, 26, 34))
    main_width = style.content_width * (1 - side_share) - gap
    main_cols = 2 if main_width > 430 and rng.random() < 0.4 else 1
    col_width = (main_width - (gap * (main_cols - 1))) / main_cols
    budget = doc.capacity(style.content_height) * main_cols * rng.uniform(1.3, 1.7)
    used = 0.0
    flow: list[str] = []
    quotes = rng.randint(1, 2)
    while used < budget:
        if flow and rng.random() < 0.35:
            flow.append(
                doc.heading(
                    text.heading(),
                    style=f"font-size:{style.size * 1.2:.1f}pt;margin:0.5em 0 0.25em",
                )
            )
            used += 2
        para = text.paragraph(2, 6)
        flow.append(doc.paragraph(para))
        used += doc.lines_of(para, col_width) + 0.6
        if quotes and len(flow) >= 3 and rng.random() < 0.3:
            quotes -= 1
            if main_cols == 1 and rng.random() < 0.5:
                side = rng.choice(("left", "right"))
                margin = "0 0 8px 16px" if side == "right" else "0 16px 8px 0"
                flow.append(
                    parts.pull_quote(
                        doc, f"float:{side};width:{rng.randint(36, 48)}%;margin:{margin};"
                    )
                )
            else:
                flow.append(parts.pull_quote(doc))
            used += 5

    side_width = style.content_width * side_share
    aside = _infobox(doc, side_width) if rng.random() < 0.5 else _notes(doc)
    left = rng.random() < 0.4
    doc.add_css(
        f".row {{ display: flex; gap: {gap}px; flex: 1 1 auto; min-height: 0;"
        f" flex-direction: {'row-reverse' if left else 'row'}; }}"
        f".article {{ flex: 1 1 0; min-width: 0; columns: {main_cols}; column-gap: {gap}px;"
        " column-fill: auto; }"
        f".aside {{ flex: 0 0 {side_share * 100:.1f}%; min-width: 0; }}"
        "#main { display: flex; flex-direction: column; }"
    )
    main = (
        "".join(top)
        + f'<div class="row"><div class="article" data-fit>{"".join(flow)}</div>'
        + f'<div class="aside" data-fit>{aside}</div></div>'
    )
    footer = parts.page_footer(doc) if rng.random() < 0.8 else ""
    return doc.page(main, header=header, footer=footer), style


def _notes(doc: Doc) -> str:
    """A side column of short notes under a heading, maybe ruled on its inner side."""
    rng, text = doc.rng, doc.text
    group = doc.group()
    size = doc.style.size * rng.uniform(0.8, 0.95)
    items = [
        doc.block(
            "sidebar",
            esc(text.term(rng.choice(("notes", "see_also", "at_a_glance", "summary")))),
            floating=True,
            group=group,
            style=f"font-weight:700;font-size:{size * 1.15:.1f}pt;margin-bottom:0.4em;"
            f"color:{doc.style.accent}",
        )
    ]
    for _ in range(rng.randint(3, 9)):
        body = text.paragraph(1, 3) if rng.random() < 0.7 else text.sentence(4, 10)
        items.append(
            doc.block(
                "sidebar",
                esc(body),
                floating=True,
                group=group,
                drop=True,
                style="margin-bottom:0.6em",
            )
        )
    rule = "border-left:1px solid #999;padding-left:12px;" if rng.random() < 0.5 else ""
    return (
        f'<div style="font-size:{size:.1f}pt;line-height:1.3;{rule}height:100%">'
        f"{''.join(items)}</div>"
    )


def _infobox(doc: Doc, width: float) -> str:
    """A boxed, tinted infobox: a heading, label/value rows, maybe a short note."""
    rng, text = doc.rng, doc.text
    group = doc.group()
    size = doc.style.size * rng.uniform(0.8, 0.92)
    tint = rng.choice(("#eef2f7", "#f3f0e6", "#eef5ee", "#f2f2f2", "#fff"))
    border = rng.choice(("1px solid #888", "2px solid " + doc.style.accent, "none"))
    head = doc.block(
        "sidebar",
        esc(text.company() if rng.random() < 0.5 else text.heading()),
        floating=True,
        group=group,
        style=f"font-weight:700;font-size:{size * 1.2:.1f}pt;margin-bottom:0.5em",
    )
    keys = ["founded", "headquarters", "employees", "revenue", "website", "phone", "email"]
    rng.shuffle(keys)
    values = {
        "founded": lambda: str(rng.randint(1850, 2020)),
        "headquarters": text.city_line,
        "employees": lambda: text.number(rng.randint(20, 90000), 0),
        "revenue": lambda: text.money(rng.uniform(1e5, 9e7)),
        "website": text.url,
        "phone": text.phone,
        "email": text.email,
    }
    stacked = width < 240 or rng.random() < 0.35
    rows = []
    for key in keys[: rng.randint(3, 7)]:
        label = doc.block(
            "label",
            esc(text.term(key)),
            floating=True,
            group=group,
            style="font-weight:600" if rng.random() < 0.7 else "",
        )
        value = doc.block(
            "value",
            esc(values[key]()),
            floating=True,
            group=group,
            style="overflow-wrap:anywhere;min-width:0",
        )
        rows.append(
            f'<div style="margin-bottom:0.45em">{label}{value}</div>'
            if stacked
            else f"{label}{value}"
        )
    layout = (
        "" if stacked else "display:grid;grid-template-columns:auto minmax(0, 1fr);gap:0.3em 0.8em;"
    )
    note = ""
    if rng.random() < 0.5:
        note = doc.block(
            "sidebar",
            esc(text.paragraph(1, 3)),
            floating=True,
            group=group,
            drop=True,
            style="margin-top:0.8em",
        )
    return (
        f'<div style="background:{tint};border:{border};padding:10px 12px;font-size:{size:.1f}pt;'
        f'line-height:1.3"><div>{head}</div><div style="{layout}">{"".join(rows)}</div>{note}</div>'
    )
