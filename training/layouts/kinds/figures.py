"""``figures``: text wrapped around figures floated left or right (a drawn chart, diagram or
picture with a few short labels inside, and a caption), sometimes a full-width figure
between paragraphs. Captions and figure labels float (``order: null``)."""

from __future__ import annotations

import random

from ..doc import Doc, Style, esc
from ..text import Text
from . import parts


def compose(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page's HTML and style."""
    style = Style.draw(rng, size=(9, 13), margins=(40, 95))
    doc = Doc(rng, text, style)
    header = parts.running_header(doc) if rng.random() < 0.4 else ""
    flow = [
        doc.block(
            "title",
            esc(text.title(3, 9)),
            tag="h1",
            style=f"font-size:{style.size * rng.uniform(1.6, 2.4):.1f}pt;margin-bottom:0.5em",
        )
    ]
    width = style.content_width
    budget = doc.capacity(style.content_height) * rng.uniform(1.2, 1.5)
    used = 3.0
    figures = rng.randint(1, 3)
    number = rng.randint(1, 6)
    since = 0
    while used < budget:
        if len(flow) > 2 and rng.random() < 0.2:
            flow.append(
                doc.heading(
                    text.heading(), style=f"font-size:{style.size * 1.2:.1f}pt;margin:0.6em 0 0.3em"
                )
            )
            used += 2
        since += 1
        if figures and since >= 2 and rng.random() < 0.6:
            figures -= 1
            since = 0
            share = rng.uniform(0.3, 0.5)
            fig_w = width * share
            fig_h = fig_w * rng.uniform(0.55, 1.0)
            if rng.random() < 0.2:
                fig_w, fig_h = width * rng.uniform(0.6, 0.9), style.content_height * 0.22
                css = "margin:0.4em auto 0.8em;"
                used += fig_h / (style.size * 96 / 72 * style.leading)
            else:
                side = rng.choice(("left", "right"))
                pad = rng.randint(10, 22)
                margin = f"4px 0 {pad}px {pad}px" if side == "right" else f"4px {pad}px {pad}px 0"
                css = f"float:{side};margin:{margin};"
                used += fig_h / (style.size * 96 / 72 * style.leading) * share
            flow.append(parts.figure(doc, fig_w, fig_h, number=number, css=css))
            number += 1
        para = text.paragraph(2, 6)
        flow.append(doc.paragraph(para))
        used += doc.lines_of(para, width) + 0.6
    doc.add_css("#main p { overflow-wrap: normal; }")
    footer = parts.page_footer(doc) if rng.random() < 0.7 else ""
    return doc.page("".join(flow), header=header, footer=footer), style
