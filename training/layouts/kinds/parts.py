"""Pieces several layout kinds share: running headers, footers and page numbers, footnotes,
figures (an inline-SVG drawing with short HTML labels over it and a caption), pull quotes
and address blocks."""

from __future__ import annotations

from ..doc import PT, Doc, esc


def running_header(doc: Doc) -> str:
    """A running header: one to three short pieces across the top, maybe ruled below."""
    rng, text = doc.rng, doc.text
    pieces = [text.company() if rng.random() < 0.5 else text.title(2, 4)]
    if rng.random() < 0.7:
        pieces.append(text.date(long=True))
    if rng.random() < 0.3:
        pieces.insert(1, text.heading())
    size = doc.style.size * rng.uniform(0.75, 0.9)
    rule = "border-bottom:0.75px solid #555;padding-bottom:3px;" if rng.random() < 0.6 else ""
    italic = "font-style:italic;" if rng.random() < 0.3 else ""
    caps = "letter-spacing:0.04em;" if rng.random() < 0.3 else ""
    blocks = "".join(doc.block("pageHeader", esc(p)) for p in pieces)
    return (
        f'<div style="display:flex;justify-content:space-between;gap:1em;font-size:{size:.1f}pt;'
        f'{rule}{italic}{caps}margin-bottom:{rng.randint(10, 24)}px;color:#333">{blocks}</div>'
    )


def page_footer(doc: Doc, *, number: int | None = None, text_too: bool | None = None) -> str:
    """A footer: maybe a line of text, and the page number (both read last)."""
    rng, text = doc.rng, doc.text
    number = number if number is not None else rng.randint(1, 480)
    text_too = rng.random() < 0.55 if text_too is None else text_too
    size = doc.style.size * rng.uniform(0.75, 0.9)
    label = str(number)
    if rng.random() < 0.25:
        label = f"{text.term('page')} {number}"
    elif rng.random() < 0.15:
        label = f"- {number} -"
    rule = "border-top:0.75px solid #666;padding-top:3px;" if rng.random() < 0.4 else ""
    gap = f"margin-top:{rng.randint(8, 20)}px;"
    if not text_too:
        num = doc.block("pageNumber", esc(label), last=True)
        align = rng.choice(("center", "center", "right", "left"))
        return f'<div style="text-align:{align};font-size:{size:.1f}pt;{rule}{gap}">{num}</div>'
    # The footer text is read before the number wherever it sits.
    words = text.title(2, 6) if rng.random() < 0.5 else text.company() + " · " + text.url()
    foot = doc.block("pageFooter", esc(words), last=True)
    num = doc.block("pageNumber", esc(label), last=True)
    if rng.random() < 0.5:
        return (
            f'<div style="display:flex;justify-content:space-between;gap:2em;'
            f'font-size:{size:.1f}pt;{rule}{gap}">{foot}{num}</div>'
        )
    return (
        f'<div style="text-align:center;font-size:{size:.1f}pt;{rule}{gap}">{foot}'
        f'<div style="margin-top:2px">{num}</div></div>'
    )


def footnotes(doc: Doc, notes: list[tuple[str, str]]) -> str:
    """Footnote blocks (marker, text) under a short rule, small type, read after the body."""
    if not notes:
        return ""
    size = doc.style.size * doc.rng.uniform(0.75, 0.85)
    rule = (
        '<div style="width:30%;border-top:0.75px solid #444;margin:8px 0 4px"></div>'
        if doc.rng.random() < 0.8
        else '<div style="height:8px"></div>'
    )
    items = "".join(
        doc.block(
            "footnote",
            f"<sup>{esc(mark)}</sup> {esc(body)}",
            style=f"margin-bottom:2px;text-align:{'justify' if doc.style.justify else 'left'}",
        )
        for mark, body in notes
    )
    return f'<div style="font-size:{size:.1f}pt;line-height:1.25">{rule}{items}</div>'


def with_marker(paragraph: str, mark: str, rng_index: int) -> str:
    """A paragraph's HTML (escaped) with a footnote marker after one of its words."""
    words = paragraph.split(" ")
    i = max(0, min(len(words) - 1, rng_index))
    return " ".join(
        esc(w) + (f"<sup>{esc(mark)}</sup>" if k == i else "") for k, w in enumerate(words)
    )


def figure(
    doc: Doc,
    width: float,
    height: float,
    *,
    caption: bool = True,
    number: int = 1,
    css: str = "",
    drop: bool = True,
) -> str:
    """A figure: an SVG drawing (bars, a line chart, a diagram or a picture) with a few short
    labels over it (``figureText``, floating) and a caption (floating)."""
    rng, text = doc.rng, doc.text
    kind = rng.choice(("bars", "line", "diagram", "picture", "bars", "diagram"))
    svg: list[str] = []
    labels: list[tuple[float, float, str, str]] = []  # x, y, text, anchor (left|center|right)
    fs = max(7.0, doc.style.size * 0.8)
    lh = fs * PT * 1.3
    stroke = doc.style.accent
    fill = rng.choice(("#8aa6c8", "#b8b8b8", "#9cc49a", "#d9a86c", "#777", "#c98b8b"))
    if kind in ("bars", "line"):
        left, bottom, top, right = fs * PT * 3.2, lh * 1.6, lh * 0.6, 8.0
        x0, x1, y0, y1 = left, width - right, height - bottom, top
        svg.append(f'<path d="M{x0} {y1} V{y0} H{x1}" stroke="#222" stroke-width="1" fill="none"/>')
        n = rng.randint(3, 7 if width > 220 else 4)
        step = (x1 - x0) / n
        values = [rng.uniform(0.15, 1.0) for _ in range(n)]
        names = [text.words(1)[0][:8] if rng.random() < 0.5 else str(2010 + i) for i in range(n)]
        if kind == "bars":
            for i, v in enumerate(values):
                bx = x0 + step * (i + 0.2)
                by = y0 - v * (y0 - y1)
                svg.append(
                    f'<rect x="{bx:.1f}" y="{by:.1f}" width="{step * 0.6:.1f}" '
                    f'height="{y0 - by:.1f}" fill="{fill}" stroke="#333" stroke-width="0.5"/>'
                )
        else:
            pts = " ".join(
                f"{x0 + step * (i + 0.5):.1f},{y0 - v * (y0 - y1):.1f}"
                for i, v in enumerate(values)
            )
            svg.append(
                f'<polyline points="{pts}" fill="none" stroke="{stroke}" stroke-width="1.6"/>'
            )
            for i, v in enumerate(values):
                svg.append(
                    f'<circle cx="{x0 + step * (i + 0.5):.1f}" cy="{y0 - v * (y0 - y1):.1f}" '
                    f'r="2.2" fill="{stroke}"/>'
                )
        fit = int((step - 4) / (fs * PT * 0.62))  # characters a label under a bar may have
        if fit >= 3:
            for i, name in enumerate(names):
                labels.append((x0 + step * (i + 0.5), y0 + 3, name[:fit], "center"))
        top_value = rng.choice((10, 50, 100, 200, 1000))
        labels.append((x0 - 4, y1 - lh * 0.5, str(top_value), "right"))
        labels.append((x0 - 4, y0 - lh * 0.5, "0", "right"))
    elif kind == "diagram":
        n = rng.randint(2, 4 if width > 260 else 3)
        vertical = width < 200
        if not vertical:
            height = min(height, lh * 7)
        bw = (width - 10) / n * 0.7 if not vertical else width * 0.7
        bh = min(height * 0.3, lh * 2.4) if not vertical else (height - 10) / n * 0.6
        for i in range(n):
            if vertical:
                bx, by = (width - bw) / 2, 5 + i * (height - 10) / n
            else:
                bx, by = 5 + i * (width - 10) / n, (height - bh) / 2
            svg.append(
                f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="{bh:.1f}" rx="4" '
                f'fill="#f4f4f4" stroke="{stroke}" stroke-width="1.2"/>'
            )
            word = text.words(1)[0]
            if len(word) * fs * PT * 0.6 < bw - 6:
                labels.append((bx + bw / 2, by + bh / 2 - lh / 2, word, "center"))
            if i:
                if vertical:
                    ax, ay0 = width / 2, by - (height - 10) / n * 0.4 + 2
                    svg.append(
                        f'<path d="M{ax:.1f} {ay0:.1f} V{by - 2:.1f}" stroke="#333" '
                        'stroke-width="1.2" marker-end="url(#arrow)"/>'
                    )
                else:
                    ax0 = bx - (width - 10) / n * 0.3 + 2
                    svg.append(
                        f'<path d="M{ax0:.1f} {height / 2:.1f} H{bx - 2:.1f}" stroke="#333" '
                        'stroke-width="1.2" marker-end="url(#arrow)"/>'
                    )
    else:
        grad = f"g{doc.rng.randrange(10**6)}"
        svg.append(
            f'<defs><linearGradient id="{grad}" x1="0" y1="0" x2="1" y2="1">'
            f'<stop offset="0" stop-color="#ddd"/><stop offset="1" stop-color="{fill}"/>'
            f'</linearGradient></defs><rect x="0" y="0" width="{width}" height="{height}" '
            f'fill="url(#{grad})"/>'
        )
        for _ in range(rng.randint(2, 5)):
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            r = rng.uniform(0.08, 0.25) * min(width, height)
            svg.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="#fff" opacity="0.35"/>'
            )
    marker = (
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#333"/></marker></defs>'
    )
    spans = []
    for x, y, label, anchor in labels:
        shift = {"left": "0", "center": "-50%", "right": "-100%"}[anchor]
        spans.append(
            doc.block(
                "figureText",
                esc(label),
                tag="span",
                floating=True,
                style=(
                    f"position:absolute;left:{x:.1f}px;top:{y:.1f}px;transform:translateX({shift});"
                    f"white-space:nowrap;font-size:{fs:.1f}pt;line-height:1.2"
                ),
            )
        )
    drawing = (
        f'<div style="position:relative;width:{width:.1f}px;height:{height:.1f}px">'
        f'<svg width="{width:.1f}" height="{height:.1f}" style="position:absolute;left:0;top:0">'
        f"{marker}{''.join(svg)}</svg>{''.join(spans)}</div>"
    )
    cap = ""
    if caption:
        words = text.sentence(4, 14 if width > 250 else 8)
        bold = rng.random() < 0.6
        head = f"{text.term('figure')} {number}" + rng.choice((".", ":", " \u2013"))
        head_html = f"<b>{esc(head)}</b>" if bold else esc(head)
        cap = doc.block(
            "caption",
            f"{head_html} {esc(words)}",
            floating=True,
            style=f"font-size:{doc.style.size * 0.88:.1f}pt;line-height:1.25;margin-top:4px;"
            f"text-align:{rng.choice(('left', 'center', 'left'))}",
        )
    attrs = f" {doc.drop()}" if drop else ""
    return (
        f'<figure data-box{attrs} style="width:{width:.1f}px;break-inside:avoid;{css}">'
        f"{drawing}{cap}</figure>"
    )


def pull_quote(doc: Doc, css: str = "") -> str:
    """A pull quote: a sentence set large between rules (floating)."""
    rng = doc.rng
    sentence = doc.text.sentence(6, 16)
    marks = {
        "en": ("\u201c", "\u201d"),
        "de": ("\u201e", "\u201c"),
        "pl": ("\u201e", "\u201d"),
        "nl": ("\u201c", "\u201d"),
        "fr": ("\u00ab\u00a0", "\u00a0\u00bb"),
    }
    q = marks.get(doc.text.language, ("\u00ab", "\u00bb")) if rng.random() < 0.8 else ("", "")
    size = doc.style.size * rng.uniform(1.25, 1.7)
    rules = (
        f"border-top:2px solid {doc.style.accent};border-bottom:2px solid {doc.style.accent};"
        "padding:6px 0;"
        if rng.random() < 0.6
        else f"border-left:4px solid {doc.style.accent};padding:2px 0 2px 10px;"
    )
    return doc.block(
        "quote",
        esc(q[0] + sentence + q[1]),
        floating=True,
        drop=True,
        style=f"font-size:{size:.1f}pt;line-height:1.25;font-style:italic;margin:10px 0;"
        f"color:{doc.style.accent};{rules}break-inside:avoid;{css}",
    )


def address_block(
    doc: Doc,
    lines: list[str],
    *,
    label: str = "",
    group: int | None = None,
    css: str = "",
    floating: bool = False,
) -> str:
    """One address block (role ``address``), maybe with a bold label line on top."""
    head = f"<b>{esc(label)}</b><br>" if label else ""
    body = "<br>".join(esc(line) for line in lines)
    return doc.block("address", head + body, group=group, floating=floating, style=css)
