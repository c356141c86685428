"""``lists``: headed sections of bulleted, numbered and nested lists and definition lists,
sometimes in two columns. Markers are text in the DOM (a span holding "•", "1.", "a)"),
never CSS markers, so the truth holds them. Each item is one block (its marker and text); a
nested list's items follow their parent item; a definition's term (``label``) comes before
its description (``value``)."""

from __future__ import annotations

import random

from ..doc import Doc, Style, esc
from ..text import Text
from . import parts

BULLETS = ("\u2022", "\u2013", "\u25aa", "*", "\u00b7", "-", "\u25e6")
ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii")


def _marker(style: str, k: int) -> str:
    """The ``k``-th (0-based) marker of a numbering style such as ``1.`` or ``(a)``."""
    letter = "abcdefghijklmnopqrstuvwxyz"[k % 26]
    forms = {
        "1.": f"{k + 1}.",
        "1)": f"{k + 1})",
        "(1)": f"({k + 1})",
        "a)": f"{letter})",
        "a.": f"{letter}.",
        "(a)": f"({letter})",
        "A.": f"{letter.upper()}.",
        "i.": f"{ROMAN[k % len(ROMAN)]}.",
        "(i)": f"({ROMAN[k % len(ROMAN)]})",
    }
    return forms.get(style, style)


def compose(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page's HTML and style."""
    style = Style.draw(rng, size=(8.5, 12.5), margins=(40, 90))
    doc = Doc(rng, text, style)
    n_cols = 2 if rng.random() < 0.3 else 1
    gap = rng.choice((18, 24, 32))
    hanging = rng.random() < 0.5
    marker_width = rng.choice((1.2, 1.5, 1.8, 2.2))
    header = parts.running_header(doc) if rng.random() < 0.3 else ""
    flow = [
        doc.block(
            "title",
            esc(text.title(2, 7)),
            tag="h1",
            style=f"font-size:{style.size * rng.uniform(1.5, 2.2):.1f}pt;margin-bottom:0.4em;"
            "column-span:all",
        )
    ]
    if rng.random() < 0.6:
        flow.append(doc.paragraph(text.paragraph(1, 3)))
    col_width = (style.content_width - gap * (n_cols - 1)) / n_cols
    budget = doc.capacity(style.content_height) * n_cols * rng.uniform(1.2, 1.5)
    used = 4.0
    sections = 0
    while used < budget:
        sections += 1
        if sections > 1 or rng.random() < 0.7:
            key = rng.choice(("steps", "requirements", "notes", "summary", "glossary", "contents"))
            heading = text.term(key) if rng.random() < 0.4 else text.heading()
            flow.append(
                doc.heading(
                    heading,
                    style=f"font-size:{style.size * 1.2:.1f}pt;margin:0.7em 0 0.35em;"
                    "break-after:avoid",
                )
            )
            used += 2.2
        kind = rng.choice(("bullets", "numbers", "nested", "definitions", "bullets", "numbers"))
        if kind == "definitions":
            html, lines = _definitions(doc, col_width)
        else:
            html, lines = _list(doc, kind, col_width, hanging, marker_width)
        flow.append(html)
        used += lines
        if rng.random() < 0.25:
            para = text.paragraph(1, 3)
            flow.append(doc.paragraph(para))
            used += doc.lines_of(para, col_width)
    doc.add_css(
        f".flow {{ columns: {n_cols}; column-gap: {gap}px; column-fill: auto; height: 100%; }}"
        ".li { break-inside: avoid; margin-bottom: 0.25em; }"
        ".li.flex { display: flex; }"
        ".li.flex > .mk { flex: 0 0 var(--mk); }"
        ".li.flex > .tx { flex: 1 1 0; min-width: 0; }"
    )
    footer = parts.page_footer(doc) if rng.random() < 0.6 else ""
    main = f'<div class="flow">{"".join(flow)}</div>'
    return doc.page(main, header=header, footer=footer), style


def _item(
    doc: Doc, marker: str, body: str, depth: int, hanging: bool, width: float, marker_em: float
) -> str:
    """One list item block: the marker span, a space, the text."""
    indent = depth * marker_em * 1.1
    if hanging:
        return doc.block(
            "listItem",
            f'<span class="mk" style="display:inline-block;width:{marker_em}em;text-indent:0">'
            f"{esc(marker)}</span>{esc(body)}",
            cls="li",
            drop=True,
            style=f"padding-left:{indent + marker_em}em;text-indent:-{marker_em}em",
        )
    return doc.block(
        "listItem",
        f'<span class="mk">{esc(marker)}</span> <span class="tx">{esc(body)}</span>',
        cls="li flex",
        drop=True,
        style=f"margin-left:{indent}em;--mk:{marker_em}em",
    )


def _list(doc: Doc, kind: str, width: float, hanging: bool, marker_em: float) -> tuple[str, float]:
    """A bulleted, numbered or nested list and about how many lines it takes."""
    rng, text = doc.rng, doc.text
    numbered = kind == "numbers" or (kind == "nested" and rng.random() < 0.5)
    style = rng.choice(("1.", "1)", "(1)", "a)", "A.", "i.")) if numbered else rng.choice(BULLETS)
    sub_style = rng.choice(("a)", "(a)", "i.", "a.")) if numbered else rng.choice(BULLETS)
    n = rng.randint(3, 9)
    longest = max(len(_marker(style, k)) for k in range(n))
    marker_em = max(marker_em, longest * 0.55 + 0.5)
    items = []
    lines = 0.0
    for k in range(n):
        body = text.sentence(3, 30) if rng.random() < 0.8 else text.paragraph(2, 3)
        items.append(_item(doc, _marker(style, k), body, 0, hanging, width, marker_em))
        lines += doc.lines_of(body, width - 30) + 0.3
        if kind == "nested" and rng.random() < 0.4:
            for j in range(rng.randint(2, 4)):
                sub = text.sentence(3, 16)
                mark = (
                    f"{k + 1}.{j + 1}" if numbered and rng.random() < 0.3 else _marker(sub_style, j)
                )
                items.append(_item(doc, mark, sub, 1, hanging, width, max(marker_em, 2.4)))
                lines += doc.lines_of(sub, width - 60) + 0.3
    return f'<div style="margin-bottom:0.6em">{"".join(items)}</div>', lines


def _definitions(doc: Doc, width: float) -> tuple[str, float]:
    """A definition list: terms (``label``) and descriptions (``value``), stacked or side
    by side."""
    rng, text = doc.rng, doc.text
    side = width > 380 and rng.random() < 0.5
    pairs = []
    lines = 0.0
    for _ in range(rng.randint(3, 8)):
        term = " ".join(text.words(rng.randint(1, 3)))
        term = term[:1].upper() + term[1:]
        body = text.sentence(5, 26)
        wrapper = doc.drop()
        dt = doc.block("label", esc(term), style="font-weight:700")
        dd = doc.block(
            "value",
            esc(body),
            style=""
            if side
            else f"margin-left:{rng.choice((1.2, 1.5, 2.0))}em;margin-bottom:0.3em",
        )
        if side:
            pairs.append(f'<div {wrapper} style="display:contents">{dt}{dd}</div>')
            lines += doc.lines_of(body, width * 0.7) + 0.3
        else:
            pairs.append(f'<div {wrapper} style="break-inside:avoid">{dt}{dd}</div>')
            lines += doc.lines_of(body, width) + 1.3
    layout = (
        "display:grid;grid-template-columns:minmax(0, 0.3fr) minmax(0, 0.7fr);gap:0.3em 1em;"
        if side
        else ""
    )
    return f'<div style="{layout}margin-bottom:0.6em">{"".join(pairs)}</div>', lines
