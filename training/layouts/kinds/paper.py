"""``paper``: the first page of an academic paper: title, two to four author blocks side by
side (one group), an abstract (spanning, or first in the left column), keywords, two columns
of numbered sections, a figure (spanning the top or bottom, or in a column) or a table in the
flow, footnotes and a page number."""

from __future__ import annotations

import random

from ..doc import Cell, Doc, Style, esc
from ..text import Text
from . import parts


def compose(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page's HTML and style."""
    style = Style.draw(rng, size=(8.5, 10.5), margins=(40, 80))
    if rng.random() < 0.7 and style.body_font not in ("Liberation Mono", "DejaVu Sans Mono"):
        style.justify = True
    doc = Doc(rng, text, style)
    gap = rng.choice((14, 18, 22, 26, 30))
    col_width = (style.content_width - gap) / 2

    header = ""
    if rng.random() < 0.5:
        venue = f"{text.title(2, 5)} {rng.randint(2005, 2030)}"
        header = doc.block(
            "pageHeader",
            esc(venue),
            style=f"font-size:{style.size * 0.8:.1f}pt;color:#444;text-align:"
            f"{rng.choice(('left', 'center', 'right'))};margin-bottom:14px",
        )

    top: list[str] = []
    top.append(
        doc.block(
            "title",
            esc(text.title(5, 14)),
            tag="h1",
            style=f"font-size:{style.size * rng.uniform(1.5, 2.1):.1f}pt;text-align:center;"
            "margin:0 5% 0.7em",
        )
    )
    group = doc.group()
    people = [(text.name(), text.company(), text.city_line(), text.email()) for _ in range(4)]
    # As many authors side by side as their e-mail addresses (monospace) leave room for.
    em = style.size * 0.95 * 96 / 72 * 0.62
    widest = max(len(p[3]) for p in people) * em + 24
    n_authors = max(1, min(rng.randint(2, 4), int(style.content_width // widest)))
    authors = []
    with_city = rng.random() < 0.5
    for name, company, city, email in people[:n_authors]:
        lines = [f"<b>{esc(name)}</b>", esc(company)]
        if with_city:
            lines.append(esc(city))
        lines.append(f'<span style="font-family:monospace">{esc(email)}</span>')
        authors.append(
            doc.block(
                "authors",
                "<br>".join(lines),
                group=group,
                style=f"flex:1 1 0;text-align:center;font-size:{style.size * 0.95:.1f}pt;"
                "line-height:1.3;min-width:0",
            )
        )
    top.append(
        f'<div style="display:flex;gap:{rng.randint(12, 30)}px;justify-content:center;'
        f'margin-bottom:1.2em">{"".join(authors)}</div>'
    )

    abstract_head = doc.heading(
        text.term("abstract"),
        3,
        drop=False,
        style=f"font-size:{style.size * 1.05:.1f}pt;text-align:center;margin-bottom:0.3em",
    )
    abstract = doc.block(
        "abstract",
        esc(text.paragraph(4, 8)),
        style=f"font-size:{style.size * 0.95:.1f}pt;text-align:justify;margin-bottom:0.6em",
    )
    keywords = ""
    if rng.random() < 0.5:
        words = ", ".join(" ".join(text.words(rng.randint(1, 2))) for _ in range(rng.randint(3, 6)))
        keywords = doc.block(
            "meta",
            f"<i>{esc(text.term('keywords'))}:</i> {esc(words)}",
            style=f"font-size:{style.size * 0.9:.1f}pt;margin-bottom:0.8em",
        )
    spanning_abstract = rng.random() < 0.6
    if spanning_abstract:
        top.append(f'<div style="margin:0 6% 0.8em">{abstract_head}{abstract}{keywords}</div>')
        flow: list[str] = []
    else:
        flow = [abstract_head, abstract, keywords]

    # The float: a figure spanning the top or bottom, or a figure or table in the flow.
    place = rng.choice(("top", "bottom", "flow", "flow", "table"))
    if place in ("top", "bottom") and style.content_height < 700:
        place = "flow"
    span_figure = ""
    figure_height = rng.uniform(0.17, 0.3) * style.content_height
    if place in ("top", "bottom"):
        span_figure = parts.figure(
            doc,
            style.content_width * rng.uniform(0.55, 0.95),
            figure_height,
            drop=False,
            css="margin:0.6em auto;",
        )

    notes: list[tuple[str, str]] = []
    budget = doc.capacity(style.content_height) * 2 * rng.uniform(1.25, 1.5)
    used = 0.0
    keys = ("introduction", "related", "method", "experiments", "results", "discussion")
    section = 0
    float_at = rng.randint(1, 4)
    while used < budget and section < len(keys):
        section += 1
        name = text.term(keys[section - 1]) if rng.random() < 0.7 else text.heading()
        flow.append(
            doc.heading(
                f"{section} {name}",
                style=f"font-size:{style.size * 1.1:.1f}pt;margin:0.6em 0 0.3em;break-after:avoid",
            )
        )
        used += 2.5
        for p in range(rng.randint(1, 4)):
            if section > 1 and p == 1 and rng.random() < 0.4:
                flow.append(
                    doc.heading(
                        f"{section}.{rng.randint(1, 3)} {text.heading()}",
                        4,
                        style=f"font-size:{style.size:.1f}pt;margin:0.4em 0 0.2em;"
                        "font-style:italic;break-after:avoid",
                    )
                )
            para = text.paragraph(3, 7)
            used += doc.lines_of(para, col_width) + 0.5
            if len(notes) < 2 and section == 1 and rng.random() < 0.5:
                mark = "*†‡"[len(notes)] if rng.random() < 0.3 else str(len(notes) + 1)
                notes.append((mark, text.sentence(5, 18)))
                flow.append(
                    doc.block(
                        "paragraph",
                        parts.with_marker(para, mark, rng.randrange(2, 25)),
                        tag="p",
                        drop=True,
                    )
                )
            else:
                flow.append(doc.paragraph(para))
            if section == float_at and p == 0 and place in ("flow", "table"):
                if place == "flow":
                    flow.append(
                        parts.figure(
                            doc,
                            col_width * rng.uniform(0.8, 1.0),
                            rng.uniform(0.12, 0.22) * style.content_height,
                            css="margin:0.5em auto 0.8em;",
                        )
                    )
                else:
                    flow.append(_table(doc, col_width))
                used += 14
    if rng.random() < 0.3:
        notes.append(("", f"{text.company()}, {text.city_line()}. {text.email()}"))
    foot = parts.footnotes(doc, notes)
    footer = parts.page_footer(doc, text_too=False) if rng.random() < 0.8 else ""
    doc.add_css(
        f".cols {{ columns: 2; column-gap: {gap}px; column-fill: auto; flex: 1 1 auto; "
        "min-height: 0; }"
        "#main { display: flex; flex-direction: column; }"
    )
    cols = f'<div class="cols" data-fit>{"".join(flow)}</div>'
    main = "".join(top)
    main += (span_figure + cols) if place == "top" else (cols + span_figure)
    return doc.page(main, header=header, footnotes=foot, footer=footer), style


def _table(doc: Doc, width: float) -> str:
    """A small results table in the column (booktabs rules), caption above, read in place."""
    rng, text = doc.rng, doc.text
    cols = rng.randint(3, 4 if width < 300 else 5)
    rows = rng.randint(3, 6)
    size = doc.style.size * 0.85
    head = [Cell(esc(text.words(1)[0].capitalize()), header=True)]
    head += [Cell(esc(text.words(1)[0][:7]), header=True, align="right") for _ in range(cols - 1)]
    body = []
    for _ in range(rows):
        row = [Cell(esc(text.words(1)[0].capitalize()[:12]))]
        row += [
            Cell(esc(text.number(rng.uniform(0, 100), rng.choice((1, 2)))), align="right")
            for _ in range(cols - 1)
        ]
        body.append(row)
    caption = doc.block(
        "caption",
        f"<b>{esc(text.term('table'))} {rng.randint(1, 3)}.</b> {esc(text.sentence(4, 12))}",
        style=f"font-size:{size:.1f}pt;margin-bottom:3px;text-align:center",
    )
    table = doc.table(
        [head, *body],
        ruled=True,
        style=f"font-size:{size:.1f}pt;margin:0 auto;border-top:1.2px solid #000;"
        "border-bottom:1.2px solid #000",
        cell_style="padding:1px 5px;",
    )
    doc.add_css("table tr:first-child th { border-bottom: 0.8px solid #000; }")
    return (
        f'<div {doc.drop()} data-box style="margin:0.5em 0 0.8em;break-inside:avoid">'
        f"{caption}{table}</div>"
    )
