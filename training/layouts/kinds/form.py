"""``form``: a filled-in form: title and instructions, sections in ruled boxes with headings,
label/value pairs (label left of its value, or above it; one or two fields a row; some values
left blank), groups of drawn check boxes with their labels, and a signature and date line.
A label is read before its value, fields row by row."""

from __future__ import annotations

import random
from collections.abc import Callable

from ..doc import Doc, Style, esc
from ..text import Text


def compose(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page's HTML and style."""
    style = Style.draw(rng, size=(8.5, 11.5), margins=(36, 80))
    style.justify = False
    doc = Doc(rng, text, style)
    flow: list[str] = []
    head = doc.block(
        "title",
        esc(text.term("form") if rng.random() < 0.6 else text.title(2, 6)),
        tag="h1",
        style=f"font-size:{style.size * rng.uniform(1.5, 2.1):.1f}pt",
    )
    if rng.random() < 0.5:
        ref = doc.block(
            "meta",
            esc(f"{text.code(rng.choice(('Ref. ', 'No. ', 'ID ')))}"),
            style="font-family:monospace;white-space:nowrap",
        )
        flow.append(
            f'<div style="display:flex;justify-content:space-between;align-items:baseline;'
            f'gap:1em;margin-bottom:0.4em">{head}{ref}</div>'
        )
    else:
        flow.append(f'<div style="margin-bottom:0.4em">{head}</div>')
    if rng.random() < 0.7:
        flow.append(
            doc.block(
                "paragraph",
                esc(text.paragraph(1, 3)),
                tag="p",
                style=f"font-size:{style.size * 0.92:.1f}pt",
            )
        )
    stacked = rng.random() < 0.4
    per_row = 2 if style.content_width > 600 and rng.random() < 0.5 else 1
    box = rng.choice(("1px solid #333", "1.5px solid #222", "0.8px solid #666"))
    field = rng.choice(("underline", "box", "box", "plain"))
    heading_bar = rng.random() < 0.5
    sections: list[Callable[[], str]] = [
        lambda: _section(
            doc, "personal", _personal(doc), stacked, per_row, field, box, heading_bar
        ),
        lambda: _section(doc, "contact", _contact(doc), stacked, per_row, field, box, heading_bar),
        lambda: _choices(doc, "preferences", box, heading_bar),
        lambda: _section(
            doc, "employment", _employment(doc), stacked, per_row, field, box, heading_bar
        ),
        lambda: _choices(doc, "declaration", box, heading_bar),
    ]
    order = [0, 1, 2, 3, 4]
    if rng.random() < 0.5:
        order = [0, 2, 1, 3, 4]
    for i in order:
        flow.append(sections[i]())
    flow.append(_signature(doc, field))
    return doc.page("".join(flow)), style


def _personal(doc: Doc) -> list[tuple[str, str]]:
    t = doc.text
    return [
        (t.term("first_name"), t.fake.first_name()),
        (t.term("last_name"), t.fake.last_name()),
        (t.term("birth"), t.date(long=False)),
        (t.term("occupation"), t.job()),
    ]


def _contact(doc: Doc) -> list[tuple[str, str]]:
    t = doc.text
    return [
        (t.term("street"), t.street()),
        (t.term("city"), t.city_line()),
        (t.term("country"), t.fake.current_country()),
        (t.term("phone"), t.phone()),
        (t.term("email"), t.email()),
    ]


def _employment(doc: Doc) -> list[tuple[str, str]]:
    t = doc.text
    return [
        (t.term("employer"), t.company()),
        (t.term("occupation"), t.job()),
        (t.term("since"), t.date(long=False)),
        (t.term("income"), t.money(doc.rng.uniform(15000, 150000))),
    ]


def _section_head(doc: Doc, title: str, bar: bool) -> str:
    style = (
        f"background:{doc.style.accent};color:#fff;padding:3px 8px;margin:-8px -10px 8px;"
        if bar
        else "margin-bottom:6px;"
    )
    return doc.block(
        "heading",
        esc(title),
        tag="h3",
        style=f"font-size:{doc.style.size * 1.1:.1f}pt;{style}" + ("color:#fff;" if bar else ""),
    )


def _value_css(field: str) -> str:
    if field == "underline":
        return "border-bottom:1px solid #333;min-height:1.45em;padding:0 4px;"
    if field == "box":
        return "border:1px solid #555;min-height:1.6em;padding:1px 5px;"
    return "min-height:1.3em;padding:0 2px;"


def _section(
    doc: Doc,
    key: str,
    fields: list[tuple[str, str]],
    stacked: bool,
    per_row: int,
    field: str,
    box: str,
    bar: bool,
) -> str:
    rng = doc.rng
    # The heading is read first: blocks take their place in the order as they are made.
    heading = _section_head(doc, doc.text.term(key), bar)
    cells = []
    group: int | None = None
    for k, (label, value) in enumerate(fields):
        if rng.random() < 0.12:
            value = ""  # a field left blank
        # Fields stacked label over value, side by side, are a table with a header row:
        # read field by field or the labels' row then the values' row, either way.
        if stacked and per_row > 1 and k % per_row == 0:
            group = doc.group()
        lab = doc.block(
            "label",
            esc(label),
            group=group,
            style=f"font-size:{doc.style.size * 0.9:.1f}pt;color:#333",
        )
        val = doc.block(
            "value",
            esc(value),
            group=group,
            style=_value_css(field)
            + "font-family:"
            + rng.choice(("inherit", "inherit", "monospace")),
        )
        if stacked:
            cells.append(
                f'<div style="min-width:0">{lab}<div style="margin-top:2px">{val}</div></div>'
            )
        else:
            cells.append(lab + val)
    if stacked:
        grid = f"display:grid;grid-template-columns:repeat({per_row}, minmax(0, 1fr));gap:8px 18px;"
    else:
        cols = " ".join(["max-content minmax(0, 1fr)"] * per_row)
        grid = f"display:grid;grid-template-columns:{cols};gap:6px 10px;align-items:end;"
    return (
        f'<div {doc.drop()} style="border:{box};padding:8px 10px;margin:8px 0">'
        f"{heading}"
        f'<div style="{grid}">{"".join(cells)}</div></div>'
    )


def _choices(doc: Doc, key: str, box: str, bar: bool) -> str:
    """A section of questions answered with drawn check boxes."""
    rng, text = doc.rng, doc.text
    heading = _section_head(doc, text.term(key), bar)
    groups = []
    options_sets = [
        ["yes", "no"],
        ["by_email", "by_phone", "by_post"],
        ["full_time", "part_time", "self_employed"],
    ]
    for _ in range(rng.randint(1, 3)):
        question = doc.block("label", esc(text.sentence(4, 10)), style="margin-bottom:3px")
        options = rng.choice(options_sets)
        ticked = rng.randrange(len(options)) if rng.random() < 0.85 else -1
        inline = rng.random() < 0.6
        opts = []
        for k, option in enumerate(options):
            label = doc.block("label", esc(text.term(option)), tag="span")
            opts.append(
                f'<span style="display:inline-flex;align-items:center;gap:6px;'
                f'margin-right:22px;{"" if inline else "display:flex;margin-bottom:3px;"}">'
                f"{doc.checkbox(k == ticked)}{label}</span>"
            )
        groups.append(f'<div style="margin-bottom:8px">{question}<div>{"".join(opts)}</div></div>')
    if rng.random() < 0.6:
        single = doc.block("label", esc(text.term(rng.choice(("newsletter", "agree")))), tag="span")
        groups.append(
            f'<div style="display:flex;align-items:center;gap:6px">'
            f"{doc.checkbox(rng.random() < 0.6)}{single}</div>"
        )
    return (
        f'<div {doc.drop()} style="border:{box};padding:8px 10px;margin:8px 0">{heading}'
        f"{''.join(groups)}</div>"
    )


def _signature(doc: Doc, field: str) -> str:
    """Place, date and signature fields side by side at the end."""
    rng, text = doc.rng, doc.text
    cells = []
    # Each value stands on its line above its label, the fields side by side: read field by
    # field or row by row across, either way.
    group = doc.group()
    for key, value in (
        ("place", text.fake.city()),
        ("date", text.date(long=False)),
        ("signature", ""),
    ):
        if key == "place" and rng.random() < 0.4:
            continue
        val = doc.block(
            "value",
            esc(value),
            group=group,
            style="border-bottom:1px solid #333;min-height:1.8em;padding:0 4px;",
        )
        lab = doc.block(
            "label",
            esc(text.term(key)),
            group=group,
            style=f"font-size:{doc.style.size * 0.9:.1f}pt",
        )
        cells.append(f'<div style="flex:1 1 0;min-width:0">{val}{lab}</div>')
    return f'<div {doc.drop()} style="display:flex;gap:24px;margin-top:18px">{"".join(cells)}</div>'
