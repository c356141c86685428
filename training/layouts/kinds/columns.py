"""``columns``: a page of one to four text columns (narrow gutters too) under a spanning title
and standfirst, with section headings, a running header, footnotes, a footer and a page
number. Read: header, title, standfirst, byline, the flow column by column, footnotes,
footer, page number."""

from __future__ import annotations

import random

from ..doc import Doc, Style, esc
from ..text import Text
from . import parts


def compose(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page's HTML and style."""
    n_cols = rng.choices((1, 2, 3, 4), (2, 4, 3, 1))[0]
    size_range = {1: (9.5, 13.5), 2: (8.5, 12), 3: (8, 10.5), 4: (8, 9.5)}[n_cols]
    style = Style.draw(rng, size=size_range, margins=(36, 90))
    doc = Doc(rng, text, style)
    gap = rng.choice((14, 18, 24, 29, 38))  # 0.15in .. 0.4in
    rule = "column-rule:0.75px solid #888;" if rng.random() < 0.3 and gap >= 18 else ""
    fill = "auto" if rng.random() < 0.4 else "balance"

    header = parts.running_header(doc) if rng.random() < 0.8 else ""
    title_size = style.size * rng.uniform(1.8, 2.8)
    align = rng.choice(("left", "left", "center"))
    spanning = f"column-span:all;text-align:{align};"
    head = [
        doc.block(
            "title",
            esc(text.title(3, 10)),
            tag="h1",
            style=f"font-size:{title_size:.1f}pt;{spanning}margin-bottom:0.35em",
        )
    ]
    if rng.random() < 0.6:
        head.append(
            doc.block(
                "abstract",
                esc(text.paragraph(1, 3)),
                style=f"font-size:{style.size * rng.uniform(1.1, 1.35):.1f}pt;line-height:1.3;"
                f"{spanning}margin-bottom:0.6em;font-style:{rng.choice(('normal', 'italic'))}",
            )
        )
    if rng.random() < 0.4:
        head.append(
            doc.block(
                "meta",
                esc(f"{text.name()} · {text.date(long=True)}"),
                style=f"{spanning}font-size:{style.size * 0.9:.1f}pt;color:#444;"
                "margin-bottom:0.8em",
            )
        )

    notes: list[tuple[str, str]] = []
    body: list[str] = []
    col_width = (style.content_width - gap * (n_cols - 1)) / n_cols
    budget = doc.capacity(style.content_height) * n_cols * rng.uniform(1.2, 1.6)
    used = 0.0
    s = 0
    while used < budget:
        if s or rng.random() < 0.5:
            level_size = style.size * rng.uniform(1.1, 1.45)
            body.append(
                doc.heading(
                    text.heading(),
                    style=f"font-size:{level_size:.1f}pt;margin:0.5em 0 0.3em;break-after:avoid",
                )
            )
            used += 3
        s += 1
        for _ in range(rng.randint(1, 5)):
            para = text.paragraph(2, 7)
            used += doc.lines_of(para, col_width) + 0.6
            if len(notes) < 3 and len(body) < 8 and rng.random() < 0.25:
                mark = str(len(notes) + 1)
                notes.append((mark, text.sentence(6, 20)))
                inner = parts.with_marker(para, mark, rng.randrange(3, 30))
                body.append(doc.block("paragraph", inner, tag="p", drop=True))
            else:
                body.append(doc.paragraph(para))
    foot_html = parts.footnotes(doc, notes) if notes else ""
    footer = parts.page_footer(doc) if rng.random() < 0.9 else ""
    doc.add_css(
        f".cols {{ columns: {n_cols}; column-gap: {gap}px; column-fill: {fill}; {rule}"
        " height: 100%; }"
    )
    main = f'<div class="cols">{"".join(head)}{"".join(body)}</div>'
    return doc.page(main, header=header, footnotes=foot_html, footer=footer), style
