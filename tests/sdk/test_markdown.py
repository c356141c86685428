"""The Markdown writer: paragraphs from geometry, page breaks, and escaping that keeps text
from turning into formatting (checked against a CommonMark renderer when one is installed)."""

from __future__ import annotations

import math

import pytest

from ocr_sdk import ReadOperationResult, ReadResult
from ocr_sdk.output.markdown import (
    PAGE_BREAK,
    ParagraphRule,
    escape,
    group_paragraphs,
    markdown_from_paragraphs,
    to_markdown,
)
from ocr_sdk.output.text import TextLine, TextPage, TextWord


def line(text: str, left: float, top: float, height: float = 20, width: float = 400) -> TextLine:
    """A one-word-per-token line whose box starts at (left, top)."""
    box = (left, top, left + width, top, left + width, top + height, left, top + height)
    return TextLine((TextWord(text, box),), text=text, polygon=box)


def texts(paragraphs: list[list[TextLine]]) -> list[list[str]]:
    return [[line.content for line in paragraph] for paragraph in paragraphs]


# --- paragraphs ---------------------------------------------------------------------------------


def test_lines_close_together_and_aligned_make_one_paragraph() -> None:
    page = TextPage(
        1,
        1000,
        1000,
        lines=(
            line("Dear reader,", 50, 50),
            line("First paragraph starts", 100, 100),  # a first-line indent
            line("and goes on", 50, 122),
            line("to its end.", 50, 144),
            line("Second paragraph", 50, 190),  # a gap of over one line height
            line("HEADING IN LARGE PRINT", 50, 240, height=40),
            line("body under it", 50, 284),
            line("centred", 300, 306),  # not aligned
        ),
    )
    assert texts(group_paragraphs(page)) == [
        ["Dear reader,"],
        ["First paragraph starts", "and goes on", "to its end."],
        ["Second paragraph"],
        ["HEADING IN LARGE PRINT"],
        ["body under it"],
        ["centred"],
    ]
    # The thresholds are the rule's: a looser gap joins the second paragraph to the first.
    looser = texts(group_paragraphs(page, ParagraphRule(max_gap=1.5)))
    assert looser[1] == ["First paragraph starts", "and goes on", "to its end.", "Second paragraph"]


def test_the_rule_works_in_inches_and_on_a_skewed_page() -> None:
    angle = math.radians(5)
    ux, uy = math.cos(angle), math.sin(angle)

    def skewed(text: str, along: float, across: float) -> TextLine:
        corners = [
            (along, across),
            (along + 4, across),
            (along + 4, across + 0.2),
            (along, across + 0.2),
        ]
        box = tuple(v for a, d in corners for v in (a * ux - d * uy, a * uy + d * ux))
        return TextLine((TextWord(text, box),), text=text, polygon=box)

    page = TextPage(
        1,
        8.5,
        11,
        "inch",
        angle=5.0,
        lines=(skewed("one", 1, 1), skewed("two", 1, 1.22), skewed("three", 1, 1.7)),
    )
    assert texts(group_paragraphs(page)) == [["one", "two"], ["three"]]
    # Measured straight, a skewed line's box is taller and its neighbours' edges drift: the
    # page's angle is what makes the rule hold.
    straight = TextPage(1, 8.5, 11, "inch", angle=0.0, lines=page.lines)
    assert texts(group_paragraphs(straight)) != texts(group_paragraphs(page))


def test_lines_side_by_side_or_out_of_order_start_paragraphs() -> None:
    page = TextPage(
        1,
        1000,
        1000,
        lines=(
            line("left column", 50, 100),
            line("right column", 550, 100),  # same row
            line("back up the page", 550, 40),
            line("no polygon", 0, 0),
        ),
    )
    no_polygon = TextLine(text="no polygon")
    page = TextPage(1, 1000, 1000, lines=(*page.lines[:3], no_polygon, line("after", 550, 62)))
    assert len(group_paragraphs(page)) == 5


# --- rendering ----------------------------------------------------------------------------------


def test_paragraphs_and_pages_are_separated_as_document_intelligence_does() -> None:
    markdown = markdown_from_paragraphs([[["one", "two"], ["three"]], [], [["four"]]])
    assert markdown == (
        "one\ntwo\n\nthree\n\n"
        f"{PAGE_BREAK}\n\n"  # the empty second page still counts
        f"\n\n{PAGE_BREAK}\n\n"
        "four"
    )
    assert markdown.count(PAGE_BREAK) == 2
    assert markdown_from_paragraphs([[["  ", ""], ["kept"]]]) == "kept"


def test_a_result_goes_in_directly() -> None:
    def wire_line(text: str, top: int) -> dict[str, object]:
        box = [10, top, 300, top, 300, top + 20, 10, top + 20]
        return {"text": text, "boundingBox": box, "words": [{"text": text, "boundingBox": box}]}

    pages = [
        {
            "page": n,
            "width": 400,
            "height": 400,
            "unit": "pixel",
            "lines": [wire_line(f"p{n} a", 10), wire_line(f"p{n} b", 32)],
        }
        for n in (2, 5)
    ]
    operation = ReadOperationResult.model_validate(
        {"status": "succeeded", "analyzeResult": {"readResults": pages}}
    )
    result = ReadResult.from_operation("op", operation)
    assert to_markdown(result) == f"p2 a\np2 b\n\n{PAGE_BREAK}\n\np5 a\np5 b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# not a heading", r"\# not a heading"),
        ("## nor this", r"\## nor this"),
        ("#hashtag stays", "#hashtag stays"),
        ("- not a list", r"\- not a list"),
        ("+ nor this", r"\+ nor this"),
        ("* nor this", r"\* nor this"),
        ("1. not numbered", r"1\. not numbered"),
        ("2) nor this", r"2\) nor this"),
        ("3.5 kg stays", "3.5 kg stays"),
        ("> not quoted", r"\> not quoted"),
        ("---", r"\---"),
        ("===", r"\==="),
        ("- - -", r"\- - -"),
        ("**bold** and _it_", r"\*\*bold\*\* and \_it\_"),
        ("snake_case", r"snake\_case"),
        ("`code`", r"\`code\`"),
        ("[link](http://x)", r"\[link\](http://x)"),
        ("![img](x)", r"!\[img\](x)"),
        ("<b>tag</b>", r"\<b\>tag\</b\>"),
        (PAGE_BREAK, r"\<!-- PageBreak --\>"),
        ("a | b", r"a \| b"),
        ("~~struck~~", r"\~\~struck\~\~"),
        ("back\\slash", r"back\\slash"),
        ("AT&T &amp; &#169;", r"AT&T \&amp; \&#169;"),
        ("    indented\t", "indented"),
        ("Ærø Привет 日本語 $5", "Ærø Привет 日本語 $5"),
    ],
)
def test_markdown_characters_are_escaped(text: str, expected: str) -> None:
    assert escape(text) == expected


def test_escaped_text_renders_as_itself() -> None:
    # A CommonMark renderer with GitHub's tables and strikethrough: escaping must hold there.
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    samples = [
        "# h",
        "- l",
        "1. n",
        "**b**",
        "_i_",
        "`c`",
        "[a](b)",
        "<i>x</i>",
        "a | b",
        "&amp;",
        "---",
        "> q",
    ]
    for sample in samples:
        html = renderer.render(escape(sample))
        assert (
            html.strip()
            == f"<p>{sample.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</p>"
        )


def test_every_line_of_a_paragraph_is_escaped() -> None:
    # A list or a heading can interrupt a paragraph, so later lines need escaping too.
    assert (
        markdown_from_paragraphs([[["Totals", "- 5 items", "==="]]]) == "Totals\n\\- 5 items\n\\==="
    )
