"""Figures found on drawn pages: a chart, a picture, not a table's grid, a tinted box of text
or the desk around a photographed page; upright and turned."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from _img import font
from PIL import Image, ImageDraw, ImageFilter

from emulator.engine.figures import Quad, find_figures

# Text lines are drawn as dark bars (what matters is that they are wiped out as text), each
# given to find_figures as the detector would: its polygon.
LINE_H = 24


def _bgr(img: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])


def _text(draw: ImageDraw.ImageDraw, x: int, y: int, width: int) -> list[float]:
    """A line of "text" (dashes like words) at ``x, y``; returns its polygon."""
    for k in range(x, x + width - 30, 40):
        draw.rectangle([(k, y + 5), (k + 30, y + LINE_H - 5)], fill="black")
    return [x, y, x + width, y, x + width, y + LINE_H, x, y + LINE_H]


def _ruled_table(
    draw: ImageDraw.ImageDraw, top: int, rows: int, columns: int, widths: tuple[int, int]
) -> list[list[float]]:
    """A table ruled in black across x 150-1450 from ``top``: ``rows`` rows 40 px tall of
    ``columns`` equal cells, each holding a line of text (``widths``: the first row's, the
    other rows'); returns the lines' polygons, row by row."""
    cell = 1300 // columns
    for r in range(rows + 1):
        draw.line([(150, top + 40 * r), (1450, top + 40 * r)], fill="black", width=2)
    for c in range(columns + 1):
        x = 150 + cell * c
        draw.line([(x, top), (x, top + 40 * rows)], fill="black", width=2)
    return [
        _text(draw, 165 + cell * c, top + 8 + 40 * r, widths[1] if r else widths[0])
        for r in range(rows)
        for c in range(columns)
    ]


def _column_of_text(
    draw: ImageDraw.ImageDraw, x: int, y: int, width: int, rows: int
) -> list[list[float]]:
    return [_text(draw, x, y + 34 * r, width) for r in range(rows)]


def _turned(polygon: Sequence[float], angle: float) -> np.ndarray:
    """``polygon``'s points (N x 2) where turning the 1600 x 1600 page clockwise by ``angle``
    degrees about its centre (PIL's ``rotate(-angle)``) puts them."""
    centre = np.array([800.0, 800.0])
    rad = math.radians(angle)
    rot = np.array([[math.cos(rad), -math.sin(rad)], [math.sin(rad), math.cos(rad)]])
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    return np.asarray((points - centre) @ rot.T + centre)


def _inside(quad: Quad, box: tuple[float, float, float, float], slack: float = 12) -> bool:
    """``quad``'s corners lie within ``box`` grown by ``slack``, and it covers most of it."""
    xs, ys = quad[0::2], quad[1::2]
    x0, y0, x1, y1 = box
    within = min(xs) >= x0 - slack and max(xs) <= x1 + slack
    within = within and min(ys) >= y0 - slack and max(ys) <= y1 + slack
    covers = (max(xs) - min(xs)) * (max(ys) - min(ys)) >= 0.6 * (x1 - x0) * (y1 - y0)
    return within and covers


def _chart_page() -> tuple[Image.Image, list[list[float]]]:
    """A column of text on the right, a line chart with axis labels on the left."""
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    lines = _column_of_text(draw, 820, 200, 650, 16)
    draw.line([(200, 250), (200, 650), (700, 650)], fill="black", width=2)  # axes
    points = [(230, 600), (320, 420), (420, 480), (520, 300), (620, 350), (690, 280)]
    draw.line(points, fill=(30, 60, 160), width=4)
    for x, y in points:
        draw.ellipse([(x - 6, y - 6), (x + 6, y + 6)], fill=(30, 60, 160))
    lines.append(_text(draw, 120, 240, 60))  # "100"
    lines.append(_text(draw, 150, 640, 30))  # "0"
    lines.append(_text(draw, 200, 700, 500))  # the caption
    return img, lines


def test_a_chart_beside_text_is_a_figure_and_the_text_is_not() -> None:
    img, lines = _chart_page()
    figures = find_figures(_bgr(img), lines)
    assert len(figures) == 1
    assert _inside(figures[0], (200, 250, 700, 650))


def test_a_bar_chart_of_flat_bars_is_a_figure() -> None:
    """Bars are flat fills with straight edges, as a table's tinted header is, but no text
    lies on them."""
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    lines = _column_of_text(draw, 820, 200, 650, 16)
    draw.line([(200, 250), (200, 650), (700, 650)], fill="black", width=2)
    for k, top in enumerate((500, 420, 300, 560)):
        draw.rectangle([(240 + 115 * k, top), (320 + 115 * k, 650)], fill=(184, 184, 184))
    lines += [_text(draw, 240 + 115 * k, 660, 80) for k in range(4)]  # the bars' names
    figures = find_figures(_bgr(img), lines)
    assert len(figures) == 1
    assert _inside(figures[0], (200, 250, 700, 650), slack=20)


def test_a_bar_chart_of_bars_narrower_than_a_line_is_a_figure() -> None:
    """Thin bars show almost no edge that is not a rule (their sides are long and straight):
    their fills make the chart, though each is narrower than a line is tall."""
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    lines = _column_of_text(draw, 820, 200, 650, 16)
    for k, top in enumerate((500, 420, 300, 560, 380, 450, 330)):
        draw.rectangle([(220 + 40 * k, top), (242 + 40 * k, 650)], fill=(200, 140, 140))
    lines += [_text(draw, 210 + 80 * k, 660, 40) for k in range(4)]  # the bars' years
    figures = find_figures(_bgr(img), lines)
    assert len(figures) == 1
    assert _inside(figures[0], (220, 300, 482, 650), slack=20)


def _framed_words(arrows: bool) -> tuple[Image.Image, list[list[float]]]:
    """A column of text, and under it three words in frames under two lines tall, in a row;
    joined by arrows (a diagram) or not (a form's fields)."""
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    lines = _column_of_text(draw, 150, 200, 1300, 12)
    for k in range(3):
        x = 150 + 250 * k
        draw.rounded_rectangle([(x, 700), (x + 160, 744)], radius=6, outline="black", width=2)
        lines.append(_text(draw, x + 30, 710, 100))
        if arrows and k < 2:
            draw.line([(x + 164, 722), (x + 240, 722)], fill="black", width=2)
            draw.polygon([(x + 246, 722), (x + 232, 715), (x + 232, 729)], fill="black")
    return img, lines


def test_a_diagram_of_framed_words_joined_by_arrows_is_a_figure() -> None:
    """Its frames are rules and its words text: the arrows make it drawn, though the row is
    less than two lines tall."""
    img, lines = _framed_words(arrows=True)
    figures = find_figures(_bgr(img), lines)
    assert len(figures) == 1
    assert _inside(figures[0], (150, 700, 810, 744), slack=20)


def test_a_row_of_framed_fields_is_no_figure() -> None:
    img, lines = _framed_words(arrows=False)
    assert find_figures(_bgr(img), lines) == []


def test_a_picture_with_smooth_shades_is_a_figure() -> None:
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    lines = _column_of_text(draw, 820, 200, 650, 16)
    for y in range(300, 700):  # a light gradient, no edge inside
        shade = 215 - (y - 300) // 8
        draw.line([(150, y), (700, y)], fill=(shade, shade + 10, shade))
    figures = find_figures(_bgr(img), lines)
    assert len(figures) == 1
    assert _inside(figures[0], (150, 300, 700, 700))


def test_a_ruled_table_and_a_tinted_box_of_text_are_no_figures() -> None:
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    # A ruled table, five rows of four cells, its header row tinted.
    draw.rectangle([(150, 200), (1450, 240)], fill=(205, 225, 245))
    lines = _ruled_table(draw, 200, 5, 4, (200, 120))
    # A tinted box of prose.
    draw.rectangle([(150, 600), (1450, 1100)], fill=(235, 235, 225), outline="black")
    lines += _column_of_text(draw, 200, 640, 1200, 13)
    assert find_figures(_bgr(img), lines) == []


def test_a_blurred_turned_scan_of_a_sparse_ruled_table_is_no_figure() -> None:
    """A grey scan turned by a degree: the table's rules come out soft and broken by noise,
    and its wide empty cells hold little text; still no figure."""
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    lines: list[list[float]] = []
    for r in range(7):
        draw.line([(150, 200 + 40 * r), (1450, 200 + 40 * r)], fill=(90, 90, 90), width=2)
    for x in (150, 800, 1100, 1450):
        draw.line([(x, 200), (x, 440)], fill=(90, 90, 90), width=2)
    for r in range(5):
        lines.append(_text(draw, 165, 208 + 40 * r, 160))
        lines.append(_text(draw, 815, 208 + 40 * r, 120))
    scan = np.asarray(img.convert("L"), dtype=np.float64) * 0.55 + 100  # grey, low contrast
    scan = np.asarray(
        Image.fromarray(np.clip(scan, 0, 255).astype(np.uint8))
        .rotate(-1.3, resample=Image.Resampling.BILINEAR, fillcolor=215)
        .filter(ImageFilter.GaussianBlur(1.5)),
        dtype=np.float64,
    )
    scan += np.random.default_rng(0).normal(0, 6, scan.shape)
    grey = Image.fromarray(np.clip(scan, 0, 255).astype(np.uint8)).convert("RGB")
    moved = [_turned(line, 1.3).reshape(-1).tolist() for line in lines]
    assert find_figures(_bgr(grey), moved, 1.3) == []


def test_a_box_of_prose_on_a_shaded_ground_is_no_figure() -> None:
    """Shades that vary (a gradient behind a side column) do not make a figure of a box that
    holds paragraphs."""
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    for y in range(200, 900):
        shade = 215 - (y - 200) // 10
        draw.line([(700, y), (1450, y)], fill=(shade, shade, shade + 15))
    lines = _column_of_text(draw, 740, 230, 680, 19)
    assert find_figures(_bgr(img), lines) == []


def test_the_desk_beside_a_photographed_page_is_no_figure() -> None:
    """A strip of wood grain along the photo's edge is dark and full of edges, as a picture
    is, but it runs off the image."""
    img = Image.new("RGB", (1600, 1600), (235, 232, 225))
    draw = ImageDraw.Draw(img)
    for x in range(-40, 160, 24):
        draw.line([(x, 0), (x + 40, 1600)], fill=(60 + x % 90, 50, 30), width=12)
    lines = _column_of_text(draw, 300, 200, 1000, 30)
    assert find_figures(_bgr(img), lines) == []


def test_on_a_turned_scan_the_figure_is_found_in_the_page_s_own_pixels() -> None:
    img, lines = _chart_page()
    angle = 2.0
    turned = img.rotate(-angle, expand=False, fillcolor="white")  # clockwise
    moved = [_turned(line, angle).reshape(-1).tolist() for line in lines]
    figures = find_figures(_bgr(turned), moved, angle)
    assert len(figures) == 1
    expected = _turned([200, 250, 700, 250, 700, 650, 200, 650], angle)
    found = np.asarray(figures[0]).reshape(4, 2)
    # Each corner lands within a few pixels (the search runs on a shrunk page).
    assert np.abs(found - expected).max() < 20


def test_no_lines_no_figures() -> None:
    img, _ = _chart_page()
    assert find_figures(_bgr(img), []) == []


def test_a_chart_s_axes_apart_from_its_plot_are_part_of_the_figure() -> None:
    # The plot starts two lines away from its axes, and the label at the origin, wiped with
    # the text, cuts the axes apart: the figure still spans the axes.
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    lines = _column_of_text(draw, 820, 200, 650, 16)
    draw.line([(200, 250), (200, 650), (700, 650)], fill="black", width=2)  # axes
    points = [(270, 560), (380, 420), (480, 470), (590, 330), (650, 350)]
    draw.line(points, fill=(30, 60, 160), width=4)
    lines.append(_text(draw, 170, 636, 30))  # "0", over the axes' corner
    lines += [_text(draw, 260 + 130 * k, 662, 60) for k in range(3)]  # the ticks' labels
    figures = find_figures(_bgr(img), lines)
    assert len(figures) == 1
    xs, ys = figures[0][0::2], figures[0][1::2]
    assert min(xs) <= 205 and max(ys) >= 645


def test_a_rule_beyond_text_under_a_picture_is_not_the_picture_s() -> None:
    # A picture, a heading under it, and a table's rule under the heading: the rule is the
    # table's, the heading between them sets it apart.
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    lines = _column_of_text(draw, 820, 200, 650, 16)
    for y in range(300, 600):
        shade = 215 - (y - 300) // 8
        draw.line([(150, y), (700, y)], fill=(shade, shade + 10, shade))
    lines.append(_text(draw, 150, 612, 200))  # the heading
    draw.line([(150, 648), (700, 648)], fill="black", width=2)
    figures = find_figures(_bgr(img), lines)
    assert len(figures) == 1
    assert _inside(figures[0], (150, 300, 700, 600))


def test_a_diagram_of_two_boxes_and_a_thin_arrow_is_a_figure() -> None:
    """Two framed words over two lines tall joined by a thin arrow with a small head: the
    frames' edges are rules, but each spans only part of the diagram, as a table's or a
    box's rules never do, so they are drawn; a table's grid beside it stays no figure."""
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    lines = _column_of_text(draw, 150, 200, 1300, 12)
    for x in (300, 720):
        draw.rounded_rectangle(
            [(x, 700), (x + 260, 756)], radius=8, fill=(242, 242, 242), outline=(120, 120, 120)
        )
        lines.append(_text(draw, x + 90, 716, 80))
    draw.line([(562, 728), (714, 728)], fill=(90, 90, 90), width=1)
    draw.polygon([(718, 728), (710, 725), (710, 731)], fill=(90, 90, 90))
    # A ruled table of three rows under it.
    lines += _ruled_table(draw, 900, 3, 2, (200, 200))
    figures = find_figures(_bgr(img), lines)
    assert len(figures) == 1
    assert _inside(figures[0], (300, 700, 980, 756), slack=20)


def test_a_diagram_whose_word_runs_into_its_arrow_is_a_figure() -> None:
    """Printed words edge to edge make a straight run of edges as a rule does; beside the
    arrow that leaves its frame, a word's run spans most of a small diagram. It is a line of
    words, not a rule across the diagram: the frames' edges still count as drawn."""
    img = Image.new("RGB", (1600, 1600), "white")
    draw = ImageDraw.Draw(img)
    lines = _column_of_text(draw, 150, 200, 1300, 12)
    face = font(22)
    x, frames = 300, []
    for word in ("authority", "affect"):
        left, top, right, bottom = draw.textbbox((0, 0), word, font=face)
        frame = (x, x + right - left + 32)
        draw.rounded_rectangle(
            [(frame[0], 700), (frame[1], 746)], radius=6, outline=(60,) * 3, width=2
        )
        draw.text((x + 16 - left, 723 - (top + bottom) / 2), word, font=face, fill="black")
        lines.append([x + 16, 711, frame[1] - 16, 711, frame[1] - 16, 735, x + 16, 735])
        frames.append(frame)
        x = frame[1] + 40
    tip = frames[1][0] - 2
    draw.line([(frames[0][1] + 2, 723), (tip - 6, 723)], fill="black", width=2)
    draw.polygon([(tip, 723), (tip - 12, 717), (tip - 12, 729)], fill="black")
    figures = find_figures(_bgr(img), lines)
    assert len(figures) == 1
    assert _inside(figures[0], (frames[0][0], 700, frames[1][1], 746), slack=20)


def test_a_chart_on_a_turned_photograph_of_a_grey_page_is_a_figure() -> None:
    """A photographed page is greyer than white and lies on a dark desk. Turned upright, the
    corners the turn adds are not taken for its paper (against which all of it is ink)."""
    chart, lines = _chart_page()
    grey = Image.eval(chart, lambda v: v * 190 // 255)
    img = Image.new("RGB", (1600, 1600), (60, 50, 40))
    img.paste(grey.crop((60, 60, 1540, 1540)), (60, 60))
    angle = 4.0
    turned = img.rotate(-angle, expand=False, fillcolor=(60, 50, 40))
    moved = [_turned(line, angle).reshape(-1).tolist() for line in lines]
    figures = find_figures(_bgr(turned), moved, angle)
    assert len(figures) == 1
    expected = _turned([200, 250, 700, 250, 700, 650, 200, 650], angle)
    assert np.abs(np.asarray(figures[0]).reshape(4, 2) - expected).max() < 20
