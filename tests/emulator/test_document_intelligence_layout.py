"""Document Intelligence's ``prebuilt-layout``: tables, selection marks, figures, roles and
sections from the same core, valid against the service's OpenAPI documents, with Markdown
as the service writes it and every span cutting exactly its element's text out of
``content``.

The engine is scripted (the lines and what is drawn on the page are given), so these tests
are about the layout model's answer, not about OCR; the page's pixels are real, so the
selection-mark search runs on them."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from _harness import Harness, MakeHarness
from markdown_it import MarkdownIt
from PIL import Image, ImageDraw

from emulator.engine.base import PageText, TextLine, TextWord
from emulator.engine.fake import FakeEngine
from emulator.engine.separators import Separator
from tests.emulator.test_document_intelligence import BINARY, Q4, Q31, _di_error, valid

LAYOUT4 = "/documentintelligence/documentModels/prebuilt-layout"
LAYOUT31 = "/formrecognizer/documentModels/prebuilt-layout"


def _line(text: str, x: float, y: float, height: float = 20.0) -> TextLine:
    """A line at ``(x, y)``, its words 0.6 of a height per character and a space apart."""
    words, left = [], x
    for word in text.split(" "):
        right = left + 0.6 * height * len(word)
        box = (left, y, right, y, right, y + height, left, y + height)
        words.append(TextWord(word, box, 0.98))
        left = right + 0.5 * height
    right = left - 0.5 * height
    return TextLine(text, (x, y, right, y, right, y + height, x, y + height), tuple(words))


class PageEngine(FakeEngine):
    """Reads every page as the same given :class:`PageText`."""

    def __init__(self, page: PageText) -> None:
        super().__init__()
        self.page = page

    def recognize(self, image: Any, **_: Any) -> PageText:
        self.calls += 1
        return self.page


def _rule(y: float, x0: float = 80.0, x1: float = 760.0) -> Separator:
    return Separator(x0, y, x1, y)


TABLE_PAGE = PageText(
    angle=0.0,
    lines=(
        _line("Quarterly Report", 80, 40, height=44),
        _line("Table 1: Sales by region", 80, 130),
        _line("Region", 100, 180),
        _line("Q1", 400, 180),
        _line("Q2", 600, 180),
        _line("North", 100, 220),
        _line("10", 400, 220),
        _line("12", 600, 220),
        _line("South", 100, 260),
        _line("7", 400, 260),
        _line("9", 600, 260),
        _line("East", 100, 300),
        _line("4", 400, 300),
        _line("5", 600, 300),
        _line("The north grew fastest this quarter.", 80, 380),
    ),
    separators=(_rule(170), _rule(208), _rule(330)),
)

FIGURE_PAGE = PageText(
    angle=0.0,
    lines=(
        _line("Results", 80, 40, height=36),
        _line("Revenue", 200, 200),
        _line("Figure 1. Revenue by year", 100, 420),
        _line("Revenue doubled in two years.", 80, 480),
    ),
    figures=((100.0, 100.0, 500.0, 100.0, 500.0, 400.0, 100.0, 400.0),),
)


def _page_png(draw: Sequence[tuple[str, tuple[int, int, int, int]]] = ()) -> bytes:
    """A white 1000 by 800 page with ``draw``: ``("box" | "ticked" | "picture", box)``."""
    image = Image.new("RGB", (1000, 800), "white")
    pen = ImageDraw.Draw(image)
    for kind, (x0, y0, x1, y1) in draw:
        if kind == "picture":
            pen.rectangle((x0, y0, x1, y1), fill=(40, 90, 160))
            continue
        pen.rectangle((x0, y0, x1, y1), outline="black", width=2)
        if kind == "ticked":
            pen.line((x0 + 4, y0 + 4, x1 - 4, y1 - 4), fill="black", width=3)
            pen.line((x0 + 4, y1 - 4, x1 - 4, y0 + 4), fill="black", width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def _layout(
    h: Harness, data: bytes, params: dict[str, str] | None = None, base: str = LAYOUT4
) -> tuple[str, dict[str, Any]]:
    query = {**(Q4 if base == LAYOUT4 else Q31), **(params or {})}
    response = await h.client.post(f"{base}:analyze", params=query, content=data, headers=BINARY)
    assert response.status_code == 202, response.text
    location: str = response.headers["Operation-Location"]
    assert location.startswith(f"http://emulator.test{base}/analyzeResults/")
    h.run()
    got = await h.client.get(location)
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    assert body["status"] == "succeeded", body
    return location, valid(query["api-version"], body)["analyzeResult"]


def _spanned(value: Any) -> Iterator[dict[str, Any]]:
    """Every object in ``value`` with a ``content`` and ``spans``."""
    if isinstance(value, dict):
        if "content" in value and "spans" in value:
            yield value
        for item in value.values():
            yield from _spanned(item)
    elif isinstance(value, list):
        for item in value:
            yield from _spanned(item)


def _assert_spans_cut_content(result: dict[str, Any]) -> None:
    content = result["content"]
    for thing in _spanned({k: v for k, v in result.items() if k != "pages"}):
        cut = "".join(content[s["offset"] : s["offset"] + s["length"]] for s in thing["spans"])
        assert cut == thing["content"], thing
    for page in result["pages"]:
        for word in page["words"]:
            span = word["span"]
            assert content[span["offset"] : span["offset"] + span["length"]] == word["content"]
        for mark in page.get("selectionMarks", ()):
            span = mark["span"]
            assert content[span["offset"] : span["offset"] + span["length"]] in (
                ":selected:",
                ":unselected:",
                "\u2612",
                "\u2610",
            )


def _cells(table: dict[str, Any]) -> list[list[str]]:
    grid = [[""] * table["columnCount"] for _ in range(table["rowCount"])]
    for cell in table["cells"]:
        grid[cell["rowIndex"]][cell["columnIndex"]] = cell["content"]
    return grid


async def test_a_table_comes_back_as_cells_with_its_caption_and_header(
    make_harness: MakeHarness,
) -> None:
    h = await make_harness(engine=PageEngine(TABLE_PAGE))
    _, result = await _layout(h, _page_png())
    assert result["modelId"] == "prebuilt-layout"
    [table] = result["tables"]
    assert _cells(table) == [
        ["Region", "Q1", "Q2"],
        ["North", "10", "12"],
        ["South", "7", "9"],
        ["East", "4", "5"],
    ]
    header = [c for c in table["cells"] if c["rowIndex"] == 0]
    assert {c["kind"] for c in header} <= {"columnHeader", "stubHead"}
    assert {c["kind"] for c in table["cells"] if c["rowIndex"] > 0} == {"content"}
    assert table["caption"]["content"] == "Table 1: Sales by region"
    # The table's words are written once, in its cells, row by row.
    assert result["content"].count("North") == 1
    assert result["content"].index("Region") < result["content"].index("North")
    # Each cell's text is a paragraph of its own that the cell points to.
    north = next(c for c in table["cells"] if c["content"] == "North")
    [pointer] = north["elements"]
    assert result["paragraphs"][int(pointer.rsplit("/", 1)[1])]["content"] == "North"
    _assert_spans_cut_content(result)


async def test_markdown_writes_the_table_as_html_and_the_title_as_a_heading(
    make_harness: MakeHarness,
) -> None:
    h = await make_harness(engine=PageEngine(TABLE_PAGE))
    _, result = await _layout(h, _page_png(), {"outputContentFormat": "markdown"})
    content = result["content"]
    assert content.startswith("# Quarterly Report\n\n")
    assert "<table>\n<caption>Table 1: Sales by region</caption>\n" in content
    assert "<tr><td>North</td><td>10</td><td>12</td></tr>" in content
    assert "<th>Q1</th>" in content
    assert content.rstrip().endswith("The north grew fastest this quarter.")
    rendered = MarkdownIt().render(content)
    assert "<h1>Quarterly Report</h1>" in rendered and "<td>North</td>" in rendered
    [title] = [p for p in result["paragraphs"] if p.get("role") == "title"]
    assert title["content"] == "# Quarterly Report"
    _assert_spans_cut_content(result)


async def test_sections_hold_the_page_in_order(make_harness: MakeHarness) -> None:
    h = await make_harness(engine=PageEngine(TABLE_PAGE))
    _, result = await _layout(h, _page_png())
    [root, *_] = result["sections"]
    assert "/tables/0" in [e for s in result["sections"] for e in s["elements"]]
    # Every paragraph outside the table is in a section, once.
    listed = [e for s in result["sections"] for e in s["elements"] if e.startswith("/para")]
    assert len(listed) == len(set(listed))
    assert root["spans"][0]["offset"] == 0


async def test_a_figure_has_its_caption_text_and_image(make_harness: MakeHarness) -> None:
    h = await make_harness(engine=PageEngine(FIGURE_PAGE))
    page = _page_png([("picture", (100, 100, 500, 400))])
    location, result = await _layout(h, page, {"output": "figures"})
    [figure] = result["figures"]
    assert figure["id"] == "1.1"
    assert figure["caption"]["content"] == "Figure 1. Revenue by year"
    [inner] = figure["elements"]
    assert result["paragraphs"][int(inner.rsplit("/", 1)[1])]["content"] == "Revenue"
    _assert_spans_cut_content(result)
    base, query = location.split("?")
    got = await h.client.get(f"{base}/figures/1.1?{query}")
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(got.content)).size == (400, 300)
    missing = await h.client.get(f"{base}/figures/1.2?{query}")
    _di_error(missing, 404, "NotFound", "FigureNotFound")
    for hostile in ("searchable.pdf", "1.1.png", "0.1", "1." + "9" * 80):
        got = await h.client.get(f"{base}/figures/{hostile}?{query}")
        _di_error(got, 404, "NotFound", "FigureNotFound")


async def test_markdown_wraps_a_figure_in_its_tags(make_harness: MakeHarness) -> None:
    h = await make_harness(engine=PageEngine(FIGURE_PAGE))
    _, result = await _layout(h, _page_png(), {"outputContentFormat": "markdown"})
    content = result["content"]
    start = content.index("<figure>")
    assert content[start:].startswith(
        "<figure>\n<figcaption>Figure 1. Revenue by year</figcaption>"
    )
    assert "Revenue\n</figure>" in content
    assert content.index("</figure>") < content.index("Revenue doubled")
    _assert_spans_cut_content(result)


async def test_figures_are_kept_only_when_asked_for(make_harness: MakeHarness) -> None:
    h = await make_harness(engine=PageEngine(FIGURE_PAGE))
    location, _ = await _layout(h, _page_png())
    base, query = location.split("?")
    got = await h.client.get(f"{base}/figures/1.1?{query}")
    _di_error(got, 404, "NotFound", "OutputNotAvailable")
    read = await h.client.post(
        "/documentintelligence/documentModels/prebuilt-read:analyze",
        params={**Q4, "output": "figures"},
        content=_page_png(),
        headers=BINARY,
    )
    _di_error(read, 400, "InvalidArgument", "InvalidParameter")


MARKS_PAGE = PageText(
    angle=0.0,
    lines=(
        _line("Do you agree?", 100, 60),
        _line("Yes", 140, 110),
        _line("No", 140, 160),
    ),
)


@pytest.mark.parametrize(
    ("content_format", "selected", "unselected"),
    [("text", ":selected:", ":unselected:"), ("markdown", "\u2612", "\u2610")],
)
async def test_selection_marks_stand_before_their_labels(
    make_harness: MakeHarness, content_format: str, selected: str, unselected: str
) -> None:
    h = await make_harness(engine=PageEngine(MARKS_PAGE))
    page = _page_png([("ticked", (106, 110, 126, 130)), ("box", (106, 160, 126, 180))])
    _, result = await _layout(h, page, {"outputContentFormat": content_format})
    marks = result["pages"][0]["selectionMarks"]
    assert [m["state"] for m in marks] == ["selected", "unselected"]
    assert f"{selected} Yes" in result["content"]
    assert f"{unselected} No" in result["content"]
    _assert_spans_cut_content(result)


async def test_the_2023_07_31_api_answers_layout_in_its_own_shape(
    make_harness: MakeHarness,
) -> None:
    h = await make_harness(engine=PageEngine(TABLE_PAGE))
    _, result = await _layout(h, _page_png(), base=LAYOUT31)
    assert "figures" not in result and "sections" not in result
    [table] = result["tables"]
    assert "caption" not in table and table["rowCount"] == 4
    assert any(p["content"] == "Table 1: Sales by region" for p in result["paragraphs"])
    _assert_spans_cut_content(result)


async def test_a_layout_result_is_not_found_under_another_model(make_harness: MakeHarness) -> None:
    h = await make_harness(engine=PageEngine(TABLE_PAGE))
    location, _ = await _layout(h, _page_png())
    other = location.replace("prebuilt-layout", "prebuilt-read")
    _di_error(await h.client.get(other), 404, "NotFound", "OperationNotFound")
    assert (await h.client.get(location)).status_code == 200


async def test_the_features_layout_callers_send_are_accepted(make_harness: MakeHarness) -> None:
    # markitdown's call: a preview version, three features, Markdown.
    h = await make_harness(engine=PageEngine(TABLE_PAGE))
    params = {
        "api-version": "2024-07-31-preview",
        "features": "formulas,ocrHighResolution,styleFont",
        "outputContentFormat": "markdown",
    }
    response = await h.client.post(
        f"{LAYOUT4}:analyze", params=params, content=_page_png(), headers=BINARY
    )
    assert response.status_code == 202, response.text
    h.run()
    body = (await h.client.get(response.headers["Operation-Location"])).json()
    assert body["analyzeResult"]["apiVersion"] == "2024-07-31-preview"
    assert "<table>" in body["analyzeResult"]["content"]


async def test_prebuilt_read_stays_text_only(make_harness: MakeHarness) -> None:
    h = await make_harness(engine=PageEngine(TABLE_PAGE))
    response = await h.client.post(
        "/documentintelligence/documentModels/prebuilt-read:analyze",
        params=Q4,
        content=_page_png(),
        headers=BINARY,
    )
    h.run()
    result = (await h.client.get(response.headers["Operation-Location"])).json()["analyzeResult"]
    assert "tables" not in result and "figures" not in result
    assert "selectionMarks" not in result["pages"][0]
    assert all("role" not in p for p in result["paragraphs"])
