"""``invoice``: a company header (drawn logo, name, address and contacts), sender and
recipient address blocks side by side (one group), the invoice's number and dates as
label/value pairs (grouped with the addresses when beside them), a table of line items, a
right-aligned totals block (label before value), payment terms and a footer."""

from __future__ import annotations

import random

from ..doc import Cell, Doc, Style, esc
from ..text import Text
from . import parts


def _logo(doc: Doc) -> str:
    """A drawn mark (no text): a disc, a square or stacked bars in the accent colour."""
    rng = doc.rng
    side = rng.randint(34, 60)
    colour = rng.choice((doc.style.accent, "#c0392b", "#2471a3", "#1e8449", "#7d3c98"))
    shape = rng.choice(("disc", "square", "bars"))
    if shape == "disc":
        inner = f'<circle cx="{side / 2}" cy="{side / 2}" r="{side / 2 - 2}" fill="{colour}"/>'
    elif shape == "square":
        inner = (
            f'<rect x="2" y="2" width="{side - 4}" height="{side - 4}" rx="6" fill="{colour}"/>'
            f'<rect x="{side * 0.3}" y="{side * 0.3}" width="{side * 0.4}" height="{side * 0.4}" '
            'fill="#fff"/>'
        )
    else:
        inner = "".join(
            f'<rect x="2" y="{2 + k * side / 3}" width="{side * (1 - k * 0.25) - 4}" '
            f'height="{side / 3 - 4}" fill="{colour}"/>'
            for k in range(3)
        )
    return f'<svg data-box width="{side}" height="{side}" style="flex:none">{inner}</svg>'


def compose(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page's HTML and style."""
    style = Style.draw(rng, size=(8.5, 11), margins=(36, 80))
    style.justify = False
    doc = Doc(rng, text, style)
    company = text.company()
    sender = [text.street(), text.city_line()]
    small = f"font-size:{style.size * 0.88:.1f}pt;line-height:1.3;"

    # Company header: logo and name, its address and contacts to the right or below.
    name = doc.block(
        "title",
        esc(company),
        style=f"font-size:{style.size * rng.uniform(1.5, 2.2):.1f}pt;font-weight:700;"
        f"color:{style.accent};font-family:'{style.head_font}'",
    )
    contact_lines = [*sender, f"{text.term('phone')}: {text.phone()}", text.email()]
    if rng.random() < 0.5:
        contact_lines.append(text.url())
    contact = doc.block(
        "address", "<br>".join(esc(x) for x in contact_lines), style=small + "text-align:right"
    )
    logo = _logo(doc) if rng.random() < 0.8 else ""
    header = (
        f'<div style="display:flex;justify-content:space-between;align-items:flex-start;gap:20px;'
        f'margin-bottom:18px"><div style="display:flex;align-items:center;gap:12px">{logo}{name}'
        f"</div>{contact}</div>"
    )
    title = doc.block(
        "heading",
        esc(text.term("invoice").upper() if rng.random() < 0.5 else text.term("invoice")),
        tag="h2",
        style=f"font-size:{style.size * rng.uniform(1.4, 2.0):.1f}pt;margin:4px 0 12px",
    )

    # Addresses and meta: side by side, one group.
    group = doc.group()
    label_style = rng.random() < 0.5
    blocks = []
    if rng.random() < 0.4:
        blocks.append(
            parts.address_block(
                doc,
                [company, *sender],
                label=text.term("from") if label_style else "",
                group=group,
                css=small,
            )
        )
    blocks.append(
        parts.address_block(
            doc,
            text.address(with_company=rng.random() < 0.5),
            label=text.term("bill_to"),
            group=group,
            css=small if blocks else "",
        )
    )
    if rng.random() < 0.25 and len(blocks) < 2:
        blocks.append(
            parts.address_block(
                doc, text.address(), label=text.term("ship_to"), group=group, css=small
            )
        )
    meta_pairs = [
        (text.term("invoice_no"), text.code(rng.choice(("INV-", "", "R", "F-")))),
        (text.term("date"), text.date()),
        (text.term("due"), text.date()),
    ]
    if rng.random() < 0.6:
        meta_pairs.append((text.term("customer_no"), str(rng.randint(10000, 999999))))
    if rng.random() < 0.4:
        meta_pairs.append((text.term("order_no"), text.code("PO-")))
    meta_cells = "".join(
        doc.block("label", esc(k) + ":", group=group, style="font-weight:600")
        + doc.block("value", esc(v), group=group, style="text-align:right")
        for k, v in meta_pairs
    )
    meta = (
        f'<div style="display:grid;grid-template-columns:auto auto;gap:2px 14px;{small}'
        f'align-self:flex-start">{meta_cells}</div>'
    )
    parties = (
        f'<div style="display:flex;justify-content:space-between;gap:24px;margin-bottom:20px">'
        f"{''.join(blocks)}{meta}</div>"
    )

    # Line items.
    items = []
    n_items = rng.randint(3, 16)
    vat = rng.choice((0.07, 0.1, 0.19, 0.2, 0.21, 0.23))
    subtotal = 0.0
    with_pos = rng.random() < 0.5
    with_vat_col = rng.random() < 0.25
    head = ([Cell("#", header=True)] if with_pos else []) + [
        Cell(esc(text.term("description")), header=True),
        Cell(esc(text.term("qty")), header=True, align="right"),
        Cell(esc(text.term("unit_price")), header=True, align="right"),
    ]
    if with_vat_col:
        head.append(Cell(esc(text.term("vat")), header=True, align="right"))
    head.append(Cell(esc(text.term("amount")), header=True, align="right"))
    for k in range(n_items):
        qty = rng.choice((1, 1, 1, 2, 3, 4, 5, 10, 12, 20, 25, 50))
        price = round(rng.uniform(2, 900), 2)
        amount = qty * price
        subtotal += amount
        desc = text.product()
        if rng.random() < 0.2:
            desc += " \u2013 " + " ".join(text.words(rng.randint(2, 5)))
        row = ([Cell(str(k + 1))] if with_pos else []) + [
            Cell(esc(desc)),
            Cell(str(qty), align="right"),
            Cell(esc(text.money(price, symbol=rng.random() < 0.3)), align="right"),
        ]
        if with_vat_col:
            row.append(Cell(esc(text.percent(vat * 100)), align="right"))
        row.append(Cell(esc(text.money(amount)), align="right"))
        items.append(row)
    look = rng.choice(("grid", "lines", "zebra"))
    tint = rng.choice(("#e9edf2", "#eee", "#f1ece0"))
    if look == "grid":
        doc.add_css(".items td, .items th { border: 0.8px solid #444; }")
    elif look == "lines":
        doc.add_css(
            ".items th { border-bottom: 1.5px solid #222; }"
            ".items td { border-bottom: 0.6px solid #999; }"
        )
    else:
        doc.add_css(f".items tbody tr:nth-child(even) td {{ background: {tint}; }}")
    doc.add_css(f".items th {{ background: {tint if look != 'zebra' else 'transparent'}; }}")
    table = doc.table(
        [head, *items],
        ruled=look != "zebra",
        head=1,
        droppable=True,
        cls="items",
        style=f"width:100%;{small}margin-bottom:14px",
        cell_style="padding:3px 6px;",
    )

    # Totals, right-aligned: label, value.
    discount = round(subtotal * rng.choice((0.03, 0.05, 0.1)), 2) if rng.random() < 0.25 else 0.0
    shipping = round(rng.uniform(5, 60), 2) if rng.random() < 0.3 else 0.0
    net = subtotal - discount + shipping
    tax = round(net * vat, 2)
    totals = [(text.term("subtotal"), subtotal)]
    if discount:
        totals.append((text.term("discount"), -discount))
    if shipping:
        totals.append((text.term("shipping"), shipping))
    totals.append((f"{text.term('vat')} {text.percent(vat * 100)}", tax))
    totals.append((text.term("total"), net + tax))
    total_cells = []
    for k, (label, value) in enumerate(totals):
        bold = "font-weight:700;" if k == len(totals) - 1 else ""
        rule = "border-top:1.2px solid #222;padding-top:3px;" if k == len(totals) - 1 else ""
        total_cells.append(doc.block("label", esc(label), style=bold + rule))
        total_cells.append(
            doc.block("value", esc(text.money(value)), style=bold + rule + "text-align:right")
        )
    totals_html = (
        f'<div style="display:flex;justify-content:flex-end;margin-bottom:18px">'
        f'<div style="display:grid;grid-template-columns:auto auto;gap:3px 24px">'
        f"{''.join(total_cells)}</div></div>"
    )

    terms = [
        doc.block("heading", esc(text.term("payment_terms")), tag="h4", style="margin-bottom:3px"),
        doc.paragraph(text.paragraph(1, 2), style=small),
    ]
    bank = f"{text.term('bank')}: {text.company()} · IBAN {text.iban()}"
    terms.append(doc.block("paragraph", esc(bank), tag="p", style=small))
    if rng.random() < 0.6:
        terms.append(
            doc.block("paragraph", esc(text.term("thanks")), tag="p", style="font-style:italic")
        )
    footer_bits = [
        f"{company} · {sender[0]} · {sender[1]}",
        f"{text.term('phone')} {text.phone()} · {text.email()}",
    ]
    footer = "".join(
        doc.block("pageFooter", esc(bit), last=True, style="text-align:center")
        for bit in footer_bits[: rng.randint(1, 2)]
    )
    footer_html = (
        f'<div style="border-top:0.8px solid #777;padding-top:4px;margin-top:10px;'
        f'font-size:{style.size * 0.8:.1f}pt;color:#333">{footer}</div>'
    )
    doc.add_css("#main p { text-indent: 0; }")
    main = (
        header + title + parties + table + totals_html + f"<div {doc.drop()}>{''.join(terms)}</div>"
    )
    return doc.page(main, footer=footer_html), style
