"""Whole figures from the engine's pieces (:mod:`emulator.structure.figures`)."""

from __future__ import annotations

from emulator.engine.base import Polygon, TextLine, TextWord
from emulator.engine.separators import Separator
from emulator.structure.figures import whole_figures


def _quad(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return (x0, y0, x1, y0, x1, y1, x0, y1)


def _line(x0: float, y0: float, text: str = "Some words of text", height: float = 30.0) -> TextLine:
    box = _quad(x0, y0, x0 + 15 * len(text), y0 + height)
    return TextLine(text, box, (TextWord(text, box, 0.9),))


def _frame(x0: float, y0: float, x1: float, y1: float) -> list[Separator]:
    return [
        Separator(x0, y0, x1, y0),
        Separator(x0, y1, x1, y1),
        Separator(x0, y0, x0, y1),
        Separator(x1, y0, x1, y1),
    ]


BODY = [_line(100, 100 + 40 * i) for i in range(5)]


def test_a_frame_around_a_piece_is_the_figure() -> None:
    pieces = [_quad(300, 700, 400, 900), _quad(600, 650, 700, 900)]
    found = whole_figures(pieces, _frame(150, 600, 1000, 950), BODY)
    assert found == [_quad(150, 600, 1000, 950)]


def test_bars_of_one_chart_are_one_figure() -> None:
    pieces = [_quad(300, 700, 360, 900), _quad(380, 650, 440, 900), _quad(460, 600, 520, 900)]
    assert whole_figures(pieces, [], BODY) == [_quad(300, 600, 520, 900)]


def test_pictures_apart_stay_apart() -> None:
    # Two photos a column apart, and two with a caption line between them.
    apart = [_quad(100, 600, 500, 900), _quad(700, 600, 1100, 900)]
    assert len(whole_figures(apart, [], BODY)) == 2
    stacked = [_quad(100, 600, 500, 800), _quad(100, 840, 500, 1000)]
    caption = _line(120, 805, "Figure 1", height=28)
    assert len(whole_figures(stacked, [], [*BODY, caption])) == 2


def test_a_frame_around_text_alone_is_no_figure() -> None:
    sidebar = _frame(80, 80, 900, 320)
    assert whole_figures([], sidebar, BODY) == []
    # A small piece in a big text box does not make the box a figure.
    icon = [_quad(100, 100, 120, 120)]
    assert whole_figures(icon, sidebar, BODY) == [_quad(100, 100, 120, 120)]
