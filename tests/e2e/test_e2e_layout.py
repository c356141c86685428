"""``prebuilt-layout`` with the real OCR engine on a real socket, through Microsoft's clients
unchanged (``azure-ai-documentintelligence`` 1.0.2, sync and async, and
``azure-ai-formrecognizer`` 3.3.3 at API 2023-07-31 and 2022-08-31), markitdown's converter
itself, and the calls LangChain's loader and azure-search-openai-demo's parser make, replayed
call for call, each reading what it reads from the real service.

The page is drawn here: a running header, a title, a paragraph, a ruled table with its
caption, a bar chart with a label and a caption, two check boxes (one ticked) and a page
number."""

from __future__ import annotations

import asyncio
import html
import io
import re
from typing import Any

from _e2e_support import E2E_KEY
from azure.ai.documentintelligence import DocumentIntelligenceClient
from azure.ai.documentintelligence.aio import (
    DocumentIntelligenceClient as AsyncDocumentIntelligenceClient,
)
from azure.ai.documentintelligence.models import (
    AnalyzeDocumentRequest,
    AnalyzeOutputOption,
    AnalyzeResult,
    DocumentContentFormat,
    DocumentTable,
)
from azure.ai.formrecognizer import DocumentAnalysisApiVersion, DocumentAnalysisClient
from azure.core.credentials import AzureKeyCredential
from PIL import Image, ImageDraw

from emulator.server import Endpoint
from tests.conftest import encode, font

TABLE = [
    ["Region", "First half", "Second half"],
    ["North", "1,204", "1,530"],
    ["South", "980", "1,012"],
    ["East", "640", "702"],
]


def _layout_page() -> bytes:
    image = Image.new("RGB", (1700, 2200), "white")
    pen = ImageDraw.Draw(image)
    pen.text((150, 90), "Northwind Traders Ltd", fill="black", font=font(28))
    pen.text((150, 200), "Annual Summary 2025", fill="black", font=font(64))
    pen.text(
        (150, 330),
        "Sales grew in every region this year, led by the north.",
        fill="black",
        font=font(34),
    )
    pen.text((150, 450), "Table 1: Sales by region", fill="black", font=font(34))
    top = 520
    pen.line((140, top, 1560, top), fill="black", width=3)
    for r, row in enumerate(TABLE):
        for x, text in zip((150, 700, 1150), row, strict=True):
            pen.text((x, top + 20 + r * 80), text, fill="black", font=font(34))
        bottom = top + (r + 1) * 80
        pen.line((140, bottom, 1560, bottom), fill="black", width=3 if r in (0, 3) else 1)
    pen.rectangle((150, 980, 1000, 1500), outline=(90, 90, 90), width=2)
    for i, height in enumerate((150, 260, 380)):
        left = 250 + i * 230
        pen.rectangle((left, 1450 - height, left + 150, 1450), fill=(40 + 60 * i, 90, 170))
    pen.text((200, 1010), "Revenue", fill="black", font=font(30))
    pen.text((150, 1530), "Figure 1: Revenue by year", fill="black", font=font(34))
    for i, (label, ticked) in enumerate((("Approved", True), ("Rejected", False))):
        y = 1680 + i * 80
        pen.rectangle((150, y, 190, y + 40), outline="black", width=3)
        if ticked:
            pen.line((156, y + 6, 184, y + 34), fill="black", width=4)
            pen.line((156, y + 34, 184, y + 6), fill="black", width=4)
        pen.text((215, y - 2), label, fill="black", font=font(34))
    pen.text((780, 2100), "Page 1", fill="black", font=font(28))
    return encode(image)


PAGE = _layout_page()


def _grid(table: Any) -> list[list[str]]:
    grid = [[""] * table.column_count for _ in range(table.row_count)]
    for cell in table.cells:
        grid[cell.row_index][cell.column_index] = cell.content
    return grid


def test_layout_with_the_2024_11_30_client(di: DocumentIntelligenceClient) -> None:
    poller = di.begin_analyze_document(
        "prebuilt-layout",
        body=PAGE,
        output_content_format=DocumentContentFormat.MARKDOWN,
        output=[AnalyzeOutputOption.FIGURES],
    )
    result = poller.result()
    assert result.model_id == "prebuilt-layout" and result.content_format == "markdown"
    [table] = result.tables
    assert _grid(table) == TABLE
    assert {c.kind for c in table.cells if c.row_index == 0} <= {"columnHeader", "stubHead"}
    assert table.caption is not None and table.caption.content == "Table 1: Sales by region"
    content = result.content
    assert "<caption>Table 1: Sales by region</caption>" in content
    assert "<tr><td>North</td><td>1,204</td><td>1,530</td></tr>" in content
    assert "# Annual Summary 2025" in content
    marks = result.pages[0].selection_marks
    assert [m.state for m in marks] == ["selected", "unselected"]
    assert "\u2612 Approved" in content and "\u2610 Rejected" in content
    [figure] = result.figures
    assert figure.caption is not None and figure.caption.content == "Figure 1: Revenue by year"
    png = b"".join(
        di.get_analyze_result_figure(
            model_id=result.model_id,
            result_id=poller.details["operation_id"],
            figure_id=figure.id,
        )
    )
    picture = Image.open(io.BytesIO(png))
    assert abs(picture.width - 850) < 60 and abs(picture.height - 520) < 60
    assert result.sections and result.sections[0].elements


def test_layout_with_the_2023_07_31_client(endpoint: Endpoint) -> None:
    for version in (DocumentAnalysisApiVersion.V2023_07_31, DocumentAnalysisApiVersion.V2022_08_31):
        client = DocumentAnalysisClient(
            endpoint.url, AzureKeyCredential(E2E_KEY), api_version=version
        )
        with client:
            result = client.begin_analyze_document("prebuilt-layout", PAGE).result()
        [table] = result.tables
        assert _grid(table) == TABLE, version
        marks = result.pages[0].selection_marks
        assert [m.state for m in marks] == ["selected", "unselected"], version
        assert ":selected: Approved" in result.content
        assert any(p.role == "title" for p in result.paragraphs), version


def test_langchains_loader_default_is_layout_in_markdown(endpoint: Endpoint) -> None:
    """LangChain's ``AzureAIDocumentIntelligenceLoader`` with its defaults (``prebuilt-layout``,
    ``mode="markdown"``), replayed call for call: the document's content, whole."""
    with DocumentIntelligenceClient(
        endpoint=endpoint.url,
        credential=AzureKeyCredential(E2E_KEY),
        headers={"x-ms-useragent": "langchain-parser/1.0.0"},
        features=None,
    ) as client:
        poller = client.begin_analyze_document(
            "prebuilt-layout",
            io.BytesIO(PAGE),
            content_type="application/octet-stream",
            output_content_format="markdown",
        )
        content = poller.result().content
    assert "<table>" in content and "North" in content and "Annual Summary 2025" in content


def test_markitdowns_converter(endpoint: Endpoint) -> None:
    """markitdown's own ``DocumentIntelligenceConverter`` (2024-07-31-preview, features
    ``formulas``, ``ocrHighResolution``, ``styleFont``, Markdown), run as it is."""
    from markitdown import StreamInfo
    from markitdown.converters import DocumentIntelligenceConverter

    converter = DocumentIntelligenceConverter(
        endpoint=endpoint.url, credential=AzureKeyCredential(E2E_KEY)
    )
    info = StreamInfo(mimetype="image/png", extension=".png")
    assert converter.accepts(io.BytesIO(PAGE), info)
    markdown = converter.convert(io.BytesIO(PAGE), info).markdown
    assert "<!--" not in markdown  # markitdown drops the page furniture's comments
    assert "<td>South</td><td>980</td><td>1,012</td>" in markdown
    assert "# Annual Summary 2025" in markdown


def _table_html(table: DocumentTable) -> str:
    rows = [
        sorted((c for c in table.cells if c.row_index == i), key=lambda c: c.column_index)
        for i in range(table.row_count)
    ]
    out = "<table>"
    for cells in rows:
        out += "<tr>"
        for cell in cells:
            tag = "th" if cell.kind in ("columnHeader", "rowHeader") else "td"
            out += f"<{tag}>{html.escape(cell.content)}</{tag}>"
        out += "</tr>"
    return out + "</table>"


def test_the_search_demos_parser(endpoint: Endpoint) -> None:
    """azure-search-openai-demo's ``DocumentAnalysisParser``, replayed: the async client,
    ``output=["figures"]``, ``features=["ocrHighResolution"]``, Markdown; then each page's
    text cut by ``pages[].spans`` with every table's spans replaced by HTML made from its
    cells (``kind``, ``rowSpan``, ``columnSpan``) and every figure's by its caption."""

    async def parse() -> AnalyzeResult:
        async with AsyncDocumentIntelligenceClient(
            endpoint=endpoint.url, credential=AzureKeyCredential(E2E_KEY)
        ) as client:
            poller = await client.begin_analyze_document(
                model_id="prebuilt-layout",
                body=AnalyzeDocumentRequest(bytes_source=PAGE),
                output=["figures"],
                features=["ocrHighResolution"],
                output_content_format="markdown",
            )
            return await poller.result()

    result = asyncio.run(parse())
    [page] = result.pages
    start, length = page.spans[0].offset, page.spans[0].length
    owner: list[tuple[str, int] | None] = [None] * length
    for kind, things in (("table", result.tables or []), ("figure", result.figures or [])):
        for index, thing in enumerate(things):
            assert thing.bounding_regions and thing.bounding_regions[0].page_number == 1
            for span in thing.spans:
                for i in range(span.offset - start, span.offset - start + span.length):
                    if 0 <= i < length:
                        owner[i] = (kind, index)
    text, added = "", set()
    for i, who in enumerate(owner):
        if who is None:
            text += result.content[start + i]
        elif who not in added:
            added.add(who)
            if who[0] == "table":
                text += _table_html((result.tables or [])[who[1]])
            else:
                figure = (result.figures or [])[who[1]]
                polygon = figure.bounding_regions[0].polygon  # type: ignore[index]
                assert polygon[4] > polygon[0] and polygon[5] > polygon[1]
                caption = figure.caption.content if figure.caption else ""
                text += f"<figure><figcaption>{caption}</figcaption></figure>"
    assert added == {("table", 0), ("figure", 0)}
    assert "<tr><td>East</td><td>640</td><td>702</td></tr>" in text
    assert "<figcaption>Figure 1: Revenue by year</figcaption>" in text
    # Nothing outside the table and the figure went missing.
    assert re.search(r"Sales grew in every region this year, led by the north\.", text)
    assert "Approved" in text and "Rejected" in text
