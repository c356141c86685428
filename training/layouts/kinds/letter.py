"""``letter``: a business letter: letterhead, the sender's address (or a one-line return
address), the date, the recipient's address, references, a subject, the salutation, body
paragraphs, the closing, a signature (script) with the typed name and position, enclosures
and a footer of company details."""

from __future__ import annotations

import random

from ..doc import SCRIPT, Doc, Style, esc, font_stack
from ..text import Text
from . import parts


def compose(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page's HTML and style."""
    style = Style.draw(rng, size=(9.5, 12.5), margins=(45, 100))
    doc = Doc(rng, text, style)
    company = text.company()
    street, city = text.street(), text.city_line()
    align = rng.choice(("left", "center", "right"))

    head = [
        doc.block(
            "title",
            esc(company),
            style=f"font-size:{style.size * rng.uniform(1.5, 2.3):.1f}pt;font-weight:700;"
            f"color:{style.accent};font-family:{font_stack(style.head_font)}",
        )
    ]
    if rng.random() < 0.5:
        head.append(
            doc.block(
                "meta",
                esc(text.title(2, 6)),
                style=f"font-style:italic;font-size:{style.size * 0.9:.1f}pt;color:#555",
            )
        )
    rule = "border-bottom:1px solid #666;padding-bottom:8px;" if rng.random() < 0.5 else ""
    letterhead = f'<div style="text-align:{align};{rule}margin-bottom:22px">{"".join(head)}</div>'

    small = f"font-size:{style.size * 0.9:.1f}pt;"
    flow: list[str] = [letterhead]
    sender_lines = [street, city, f"{text.term('phone')}: {text.phone()}", text.email()]
    return_line = rng.random() < 0.4
    if return_line:
        flow.append(
            doc.block(
                "address",
                esc(f"{company} · {street} · {city}"),
                style=f"font-size:{style.size * 0.7:.1f}pt;text-decoration:underline;"
                "margin-bottom:4px",
            )
        )
        flow.append(parts.address_block(doc, text.address(with_company=rng.random() < 0.5)))
        flow.append(
            doc.block("meta", esc(text.date(long=True)), style="text-align:right;margin:18px 0")
        )
    else:
        side = rng.random() < 0.5
        if side:
            # Recipient on the left, sender on the right: one group, read either way.
            group = doc.group()
            recipient = parts.address_block(
                doc, text.address(with_company=rng.random() < 0.5), group=group
            )
            sender = parts.address_block(doc, sender_lines, group=group, css=small)
            flow.append(
                f'<div style="display:flex;justify-content:space-between;gap:30px;'
                f'margin-bottom:18px">{recipient}{sender}</div>'
            )
        else:
            flow.append(
                parts.address_block(
                    doc, sender_lines, css=small + "text-align:right;margin-bottom:18px"
                )
            )
            flow.append(parts.address_block(doc, text.address(with_company=rng.random() < 0.5)))
        flow.append(
            doc.block(
                "meta",
                esc(text.date(long=True)),
                style=f"text-align:{rng.choice(('left', 'right'))};margin:16px 0",
            )
        )
    if rng.random() < 0.3:
        flow.append(
            doc.block(
                "meta",
                esc(f"Ref.: {text.code('')}"),
                style=small + "margin-bottom:10px",
            )
        )
    subject = text.sentence(3, 9).rstrip(".?")
    if rng.random() < 0.5:
        subject = f"{text.term('subject')}: {subject}"
    flow.append(doc.block("heading", esc(subject), style="font-weight:700;margin-bottom:14px"))
    dear = text.term("dear")
    if text.language == "en":
        dear = f"{dear} {text.fake.prefix() if rng.random() < 0.5 else ''} {text.fake.last_name()},"
        dear = " ".join(dear.split())
    flow.append(doc.block("paragraph", esc(dear), tag="p", style="text-indent:0"))
    budget = doc.capacity(style.content_height) * rng.uniform(0.6, 1.1)
    used = 24.0
    k = 0
    while used < budget or k < 2:
        para = text.paragraph(2, 6)
        flow.append(doc.paragraph(para))
        used += doc.lines_of(para, style.content_width) + 1
        k += 1
    closing = [
        doc.block(
            "paragraph", esc(text.term("closing")), tag="p", style="margin-top:10px;text-indent:0"
        )
    ]
    signer = text.name()
    if rng.random() < 0.7:
        closing.append(
            doc.block(
                "signature",
                esc(signer),
                style=f"font-family:{font_stack(rng.choice(SCRIPT))};"
                f"font-size:{style.size * 2:.1f}pt;line-height:1.3;color:#1b2a6b;margin:4px 0",
            )
        )
    else:
        closing.append('<div style="height:36px"></div>')
    closing.append(
        doc.block("signature", f"{esc(signer)}<br>{esc(text.job())}", style="line-height:1.3")
    )
    if rng.random() < 0.3:
        closing.append(
            doc.block(
                "meta",
                esc(f"{text.term('enclosures')}: {', '.join(text.words(rng.randint(1, 3)))}"),
                style=small + "margin-top:14px",
            )
        )
    flow.append(f'<div style="break-inside:avoid">{"".join(closing)}</div>')
    # The closing must stay: body paragraphs go first when the page is full.
    footer = ""
    if rng.random() < 0.7:
        bits = [
            f"{company} · {street} · {city}",
            f"IBAN {text.iban()}",
            f"{text.term('website')}: {text.url()}",
        ]
        n = rng.randint(1, 3)
        cells = "".join(
            doc.block("pageFooter", esc(bit), last=True, style="flex:1 1 0;min-width:0")
            for bit in bits[:n]
        )
        footer = (
            f'<div style="display:flex;gap:16px;font-size:{style.size * 0.75:.1f}pt;color:#444;'
            f'border-top:0.8px solid #888;padding-top:4px;margin-top:10px">{cells}</div>'
        )
    return doc.page("".join(flow), footer=footer), style
