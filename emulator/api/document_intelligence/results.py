"""Document Intelligence's result bodies, shaped from the stored page records.

A page record (:mod:`emulator.pages.records`) holds the page's size, unit, angle and its lines
and words in reading order with their polygons. Here they become ``content`` (every line's
text in reading order, lines joined by ``\\n``; with ``outputContentFormat=markdown``,
paragraphs as Markdown, escaped, pages separated by ``<!-- PageBreak -->``, as
:mod:`ocr_sdk.markdown` writes it for ``ocr read --format markdown``), and ``pages``,
``words``, ``lines`` and ``paragraphs`` whose spans index that content exactly, counted in the
request's ``stringIndexType``: user-perceived characters (``textElements``, Unicode's extended
grapheme clusters via the ``regex`` module), code points, or UTF-16 code units.

The content is built piece by piece and every span is taken as it is written, so a span
can never drift from the text it names, whatever the escaping or the index type.

Why one module (over 600 lines): the content and every span into it are written by one
writer (:class:`_Writer`) in one pass, and the spans are only right if every piece of text
goes through it; split across modules, a section or table could write text that no span
counts. What is not writing (the elements of a page, their order) is already apart, in
:mod:`emulator.api.document_intelligence.page_elements`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import regex

from emulator.api.document_intelligence.errors import analysis_failed
from emulator.api.document_intelligence.page_elements import (
    MARK,
    Cell,
    Figure,
    PageElements,
    Paragraph,
    Piece,
    Table,
    page_elements,
)
from emulator.api.document_intelligence.parsing import LAYOUT_MODEL_ID, MODEL_ID, ApiVersion
from emulator.pages import languages
from emulator.pages.records import timestamp
from emulator.store import Job
from emulator.structure.geometry import box_of, union
from emulator.structure.roles import PageParagraphs, paragraph_roles
from emulator.structure.roles import Paragraph as RoleParagraph
from ocr_sdk.output.markdown import PAGE_BREAK
from ocr_sdk.output.markdown import escape as escape_markdown

Record = dict[str, Any]
#: Groups a page's lines (indices in reading order) into paragraphs.
Paragraphs = Callable[[Record], list[list[int]]]

_GRAPHEME = regex.compile(r"\X")


def measure(text: str, index_type: str) -> int:
    """The length of ``text`` in ``index_type`` units."""
    if index_type == "unicodeCodePoint":
        return len(text)
    if index_type == "utf16CodeUnit":
        return len(text.encode("utf-16-le")) // 2
    return len(_GRAPHEME.findall(text))


class _Content:
    """The ``content`` string as it grows, with offsets in the requested units."""

    def __init__(self, index_type: str) -> None:
        self.index_type = index_type
        self.parts: list[str] = []
        self.length = 0

    def write(self, text: str) -> dict[str, int]:
        """Append ``text``; its span."""
        span = {"offset": self.length, "length": measure(text, self.index_type)}
        self.parts.append(text)
        self.length += span["length"]
        return span

    def text(self) -> str:
        return "".join(self.parts)


def _cover(groups: list[list[int]], count: int) -> list[list[int]]:
    """``groups`` with every line in exactly one paragraph, in reading order: a line the
    grouping left out becomes a paragraph of its own, where it comes."""
    seen = {i for group in groups for i in group}
    if seen == set(range(count)) and sum(map(len, groups)) == count:
        return groups
    ordered: list[list[int]] = []
    placed: set[int] = set()
    for group in groups:
        kept = [i for i in group if i not in placed and 0 <= i < count]
        placed.update(kept)
        if kept:
            ordered.append(kept)
    ordered += [[i] for i in range(count) if i not in placed]
    return sorted(ordered, key=min)


def _angle(value: float) -> float:
    # The record keeps v3.2's [-180, 180); Document Intelligence's range is (-180, 180].
    return 180.0 if value <= -180 else value


def _hull(polygons: Sequence[Sequence[float]]) -> list[float]:
    """The axis-aligned quadrilateral around ``polygons`` (a paragraph's region)."""
    x0, y0, x1, y1 = union(box_of(p) for p in polygons)
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def analyze_result(
    records: Sequence[Record],
    version: ApiVersion,
    index_type: str,
    content_format: str,
    paragraphs_of: Paragraphs,
    features: Sequence[str] = (),
    model_id: str = MODEL_ID,
) -> dict[str, Any]:
    """The ``analyzeResult`` of a succeeded job of ``model_id`` (``prebuilt-read``, or
    ``prebuilt-layout`` with its tables, figures, selection marks, roles and sections)."""
    layout = model_id == LAYOUT_MODEL_ID
    per_page = [
        page_elements(
            record,
            _cover(paragraphs_of(record), len(record["lines"])) if record["lines"] else [],
            layout,
        )
        for record in records
    ]
    if layout:
        _assign_roles(records, per_page)
    writer = _Writer(index_type, content_format == "markdown", version, layout)
    for number, (record, elements) in enumerate(zip(records, per_page, strict=True)):
        if number:
            writer.content.write(f"\n\n{PAGE_BREAK}\n\n" if writer.markdown else "\n")
        writer.page(record, elements)
    text = writer.content.text()
    slicer = _Slicer(text, index_type)
    for item in writer.sliced:
        item["content"] = slicer.slice(item["spans"][0]) if item["spans"] else ""
    result: dict[str, Any] = {
        "apiVersion": version.echoed,
        "modelId": model_id,
        "stringIndexType": index_type,
        "content": text,
        "pages": writer.pages,
    }
    if layout:
        result["tables"] = writer.tables
    result["paragraphs"] = writer.paragraphs
    if layout and version.v4:
        result["figures"] = writer.figures
        result["sections"] = writer.sections()
    result["styles"] = (
        [
            {
                "isHandwritten": True,
                "spans": writer.handwritten,
                "confidence": round(min(writer.handwriting_confidence), 3),
            }
        ]
        if writer.handwritten
        else []
    )
    if "languages" in features:
        result["languages"] = _languages(records, writer.pages)
    if version.v4:
        result["contentFormat"] = content_format
    return result


def _assign_roles(records: Sequence[Record], per_page: Sequence[PageElements]) -> None:
    """Give the page's own paragraphs (not a caption, a cell or a figure's text) their role
    (:func:`emulator.structure.roles.paragraph_roles`)."""
    pages: list[PageParagraphs] = []
    owners: list[list[Paragraph]] = []
    for record, elements in zip(records, per_page, strict=True):
        lines = record["lines"]
        found: list[RoleParagraph] = []
        mine: list[Paragraph] = []
        for element in elements.elements:
            paragraph = element.paragraph
            pieces = [p for p in paragraph.pieces if p.line >= 0] if paragraph else []
            if paragraph is None or not pieces:
                continue
            boxes = [lines[p.line]["boundingBox"] for p in pieces]
            extents = [box_of(b) for b in boxes]
            heights = sorted(e[3] - e[1] for e in extents)
            hull = union(extents)
            found.append(
                RoleParagraph(
                    "\n".join(lines[p.line]["text"] for p in pieces),
                    hull,
                    heights[len(heights) // 2],
                    len(pieces),
                )
            )
            mine.append(paragraph)
        pages.append(PageParagraphs(record["width"], record["height"], found))
        owners.append(mine)
    for paragraphs, roles in zip(owners, paragraph_roles(pages), strict=True):
        for paragraph, role in zip(paragraphs, roles, strict=True):
            paragraph.role = role


# How a paragraph of each role is written in Markdown: a heading's prefix, or the name of the
# HTML comment that carries it (page furniture is kept out of the text that renders).
_HEADINGS = {"title": "# ", "sectionHeading": "## "}
_COMMENTS = {"pageHeader": "PageHeader", "pageFooter": "PageFooter", "pageNumber": "PageNumber"}
_MARK_TEXT = {True: ":selected:", False: ":unselected:"}
_MARK_MARKDOWN = {True: "\u2612", False: "\u2610"}  # ☒ and ☐, as the service writes them
_HEADER_KINDS = {"columnHeader", "rowHeader", "stubHead"}
Escape = Callable[[str], str]


def _as_is(text: str) -> str:
    return text


def _html(text: str) -> str:
    return html.escape(text, quote=False)


class _Writer:
    """Writes the pages' elements into ``content`` and collects everything that points into
    it: pages (words, lines, selection marks), paragraphs, tables, figures and the flow of
    top-level elements that sections are cut from."""

    def __init__(self, index_type: str, markdown: bool, version: ApiVersion, layout: bool):
        self.content = _Content(index_type)
        self.markdown = markdown
        self.version = version
        self.layout = layout
        self.pages: list[dict[str, Any]] = []
        self.paragraphs: list[dict[str, Any]] = []
        self.tables: list[dict[str, Any]] = []
        self.figures: list[dict[str, Any]] = []
        #: Everything whose ``content`` is cut from the finished text by its first span.
        self.sliced: list[dict[str, Any]] = []
        self.handwritten: list[dict[str, int]] = []
        self.handwriting_confidence: list[float] = []
        #: The top-level elements in order: (reference, span, role).
        self.flow: list[tuple[str, dict[str, int], str | None]] = []

    # -- pages ----------------------------------------------------------------------------

    def page(self, record: Record, found: PageElements) -> None:
        self.record = record
        self.found = found
        self.words: list[dict[str, Any]] = []
        self.line_spans: dict[int, list[dict[str, int]]] = {}
        self.mark_spans: dict[int, dict[str, int]] = {}
        page_start = self.content.length
        between = "\n\n" if self.markdown else "\n"
        for position, element in enumerate(found.elements):
            if position:
                self.content.write(between)
            if element.paragraph is not None:
                index, span, role = self.paragraph(element.paragraph)
                self.flow.append((f"/paragraphs/{index}", span, role))
            elif element.table is not None:
                self.table(element.table)
            elif element.figure is not None:
                self.figure(element.figure)
        lines = record["lines"]
        page_lines: list[dict[str, Any]] = []
        for index, line in enumerate(lines):
            spans = self.line_spans.get(index)
            if not spans:
                continue  # all of it was a selection mark's ink
            kept = [
                word["text"]
                for w, word in enumerate(line["words"])
                if (index, w) not in found.dropped
            ]
            page_lines.append(
                {
                    "content": " ".join(kept) if len(kept) < len(line["words"]) else line["text"],
                    "polygon": line["boundingBox"],
                    "spans": spans,
                }
            )
            style = line.get("appearance", {}).get("style", {})
            if style.get("name") == "handwriting":
                self.handwritten.extend(spans)
                self.handwriting_confidence.append(float(style.get("confidence", 1.0)))
        page: dict[str, Any] = {
            "pageNumber": record["page"],
            "angle": _angle(record["angle"]),
            "width": record["width"],
            "height": record["height"],
            "unit": record["unit"],
            "words": self.words,
            "lines": page_lines,
            "spans": [{"offset": page_start, "length": self.content.length - page_start}],
        }
        if self.layout:
            page["selectionMarks"] = [
                {
                    "state": mark["state"],
                    "polygon": mark["polygon"],
                    "confidence": mark["confidence"],
                    "span": self.mark_spans[m],
                }
                for m, mark in enumerate(found.marks)
                if m in self.mark_spans
            ]
        self.pages.append(page)

    # -- the pieces of text -----------------------------------------------------------------

    def pieces(self, pieces: Sequence[Piece], escape: Escape, joiner: str) -> None:
        """Write ``pieces`` (lines, or parts of lines), ``joiner`` between them."""
        lines = self.record["lines"]
        for position, piece in enumerate(pieces):
            if position:
                self.content.write(joiner)
            first: int | None = None
            last = 0
            for t, (li, wi) in enumerate(piece.tokens):
                if t:
                    self.content.write(" ")
                if li == MARK:
                    mark = self.found.marks[wi]
                    selected = mark["state"] == "selected"
                    text = (_MARK_MARKDOWN if self.markdown else _MARK_TEXT)[selected]
                    self.mark_spans[wi] = self.content.write(text)
                    continue
                word = lines[li]["words"][wi]
                span = self.content.write(escape(word["text"]))
                if first is None:
                    first = span["offset"]
                last = span["offset"] + span["length"]
                self.words.append(
                    {
                        "content": word["text"],
                        "polygon": word["boundingBox"],
                        "confidence": word["confidence"],
                        "span": span,
                    }
                )
            if first is not None:
                self.line_spans.setdefault(piece.line, []).append(
                    {"offset": first, "length": last - first}
                )

    def _region(self, pieces: Sequence[Piece]) -> list[dict[str, Any]]:
        polygons = [self.record["lines"][p.line]["boundingBox"] for p in pieces if p.line >= 0]
        polygons += [
            self.found.marks[wi]["polygon"] for p in pieces for li, wi in p.tokens if li == MARK
        ]
        if not polygons:
            return []
        return [{"pageNumber": self.record["page"], "polygon": _hull(polygons)}]

    def _add_paragraph(
        self, pieces: Sequence[Piece], span: dict[str, int], role: str | None
    ) -> int:
        entry: dict[str, Any] = {"spans": [span], "boundingRegions": self._region(pieces)}
        if role is not None:
            entry["role"] = role
        entry["content"] = ""  # cut from the finished content
        self.paragraphs.append(entry)
        self.sliced.append(entry)
        return len(self.paragraphs) - 1

    def paragraph(
        self, paragraph: Paragraph, escape: Escape | None = None
    ) -> tuple[int, dict[str, int], str | None]:
        """Write one paragraph as its role has it written; its index, span and role."""
        start = self.content.length
        role = paragraph.role
        if not self.markdown:
            self.pieces(paragraph.pieces, _as_is, "\n")
        elif escape is not None:
            self.pieces(paragraph.pieces, escape, " ")
        elif role in _COMMENTS:
            self.content.write(f'<!-- {_COMMENTS[role]}="')
            self.pieces(paragraph.pieces, _html, " ")
            self.content.write('" -->')
        elif role in _HEADINGS:
            self.content.write(_HEADINGS[role])
            self.pieces(paragraph.pieces, escape_markdown, " ")
        else:
            self.pieces(paragraph.pieces, escape_markdown, "\n")
        span = {"offset": start, "length": self.content.length - start}
        return self._add_paragraph(paragraph.pieces, span, role), span, role

    def _caption(self, caption: Paragraph, tag: str) -> dict[str, Any]:
        """Write a caption inside ``tag`` (Markdown); its ``DocumentCaption``."""
        self.content.write(f"<{tag}>")
        index, span, _ = self.paragraph(caption, _html)
        self.content.write(f"</{tag}>")
        return self._caption_entry(caption, index, span)

    def _caption_entry(
        self, caption: Paragraph, index: int, span: dict[str, int]
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "content": "",
            "boundingRegions": self._region(caption.pieces),
            "spans": [span],
            "elements": [f"/paragraphs/{index}"],
        }
        self.sliced.append(entry)
        return entry

    # -- tables and figures -----------------------------------------------------------------

    def table(self, table: Table) -> None:
        caption: dict[str, Any] | None = None
        # In Markdown (2024-11-30) the caption is the table's <caption>; otherwise it is a
        # paragraph of its own before the table, which 2023-07-31 (no caption field) keeps
        # as a plain paragraph.
        inline = self.markdown and self.version.v4
        if table.caption is not None and not inline:
            index, span, _ = self.paragraph(table.caption)
            if self.version.v4:
                caption = self._caption_entry(table.caption, index, span)
            else:
                self.flow.append((f"/paragraphs/{index}", span, None))
            self.content.write("\n\n" if self.markdown else "\n")
        start = self.content.length
        if self.markdown:
            self.content.write("<table>\n")
            if inline and table.caption is not None:
                caption = self._caption(table.caption, "caption")
                self.content.write("\n")
        rows: dict[int, list[Cell]] = {}
        for cell in table.cells:
            rows.setdefault(cell.row, []).append(cell)
        cells: list[dict[str, Any]] = []
        for row in range(table.rows):
            if self.markdown:
                self.content.write("<tr>")
            for cell in sorted(rows.get(row, ()), key=lambda c: c.column):
                if self.markdown:
                    tag = "th" if cell.kind in _HEADER_KINDS else "td"
                    spans = "".join(
                        f' {name}="{value}"'
                        for name, value in (
                            ("rowspan", cell.row_span),
                            ("colspan", cell.column_span),
                        )
                        if value > 1
                    )
                    self.content.write(f"<{tag}{spans}>")
                    cells.append(self._cell(cell))
                    self.content.write(f"</{tag}>")
                else:
                    if cell.pieces and self.content.length > start:
                        self.content.write("\n")
                    cells.append(self._cell(cell))
            if self.markdown:
                self.content.write("</tr>\n")
        if self.markdown:
            self.content.write("</table>")
        span = {"offset": start, "length": self.content.length - start}
        entry: dict[str, Any] = {
            "rowCount": table.rows,
            "columnCount": table.columns,
            "cells": cells,
            "boundingRegions": [{"pageNumber": self.record["page"], "polygon": table.polygon}],
            "spans": [span],
        }
        if caption is not None:
            entry["caption"] = caption
        self.tables.append(entry)
        self.flow.append((f"/tables/{len(self.tables) - 1}", span, None))

    def _cell(self, cell: Cell) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": cell.kind,
            "rowIndex": cell.row,
            "columnIndex": cell.column,
            "rowSpan": cell.row_span,
            "columnSpan": cell.column_span,
            "content": "",
            "boundingRegions": [{"pageNumber": self.record["page"], "polygon": cell.polygon}],
            "spans": [],
        }
        if cell.pieces:
            start = self.content.length
            if self.markdown:
                self.pieces(cell.pieces, _html, " ")
            else:
                self.pieces(cell.pieces, _as_is, "\n")
            span = {"offset": start, "length": self.content.length - start}
            entry["spans"] = [span]
            index = self._add_paragraph(cell.pieces, span, None)
            if self.version.v4:
                entry["elements"] = [f"/paragraphs/{index}"]
            self.sliced.append(entry)
        return entry

    def figure(self, figure: Figure) -> None:
        if not self.version.v4:
            # 2023-07-31 has no figures: their caption and text are paragraphs.
            parts = ([figure.caption] if figure.caption else []) + figure.paragraphs
            for position, paragraph in enumerate(parts):
                if position:
                    self.content.write("\n")
                index, span, role = self.paragraph(paragraph)
                self.flow.append((f"/paragraphs/{index}", span, role))
            return
        start = self.content.length
        caption: dict[str, Any] | None = None
        elements: list[str] = []
        if self.markdown:
            self.content.write("<figure>\n")
            if figure.caption is not None:
                caption = self._caption(figure.caption, "figcaption")
                self.content.write("\n")
            for paragraph in figure.paragraphs:
                self.content.write("\n")
                elements.append(f"/paragraphs/{self.paragraph(paragraph)[0]}")
                self.content.write("\n")
            self.content.write("</figure>")
        else:
            if figure.caption is not None:
                index, span, _ = self.paragraph(figure.caption)
                caption = self._caption_entry(figure.caption, index, span)
            for paragraph in figure.paragraphs:
                if self.content.length > start:
                    self.content.write("\n")
                elements.append(f"/paragraphs/{self.paragraph(paragraph)[0]}")
        span = {"offset": start, "length": self.content.length - start}
        entry: dict[str, Any] = {
            "id": f"{self.record['page']}.{figure.number}",
            "boundingRegions": [{"pageNumber": self.record["page"], "polygon": figure.polygon}],
            "spans": [span],
            "elements": elements,
        }
        if caption is not None:
            entry["caption"] = caption
        self.figures.append(entry)
        self.flow.append((f"/figures/{len(self.figures) - 1}", span, None))

    # -- sections -----------------------------------------------------------------------------

    def sections(self) -> list[dict[str, Any]]:
        """The document cut at its section headings: the first section holds what comes
        before the first heading and, in order, every heading's section; page headers,
        footers and numbers belong to none."""
        sections: list[dict[str, Any]] = [{"elements": [], "parts": []}]
        current = 0
        for reference, span, role in self.flow:
            if role in _COMMENTS:
                continue
            if role == "sectionHeading":
                sections.append({"elements": [], "parts": []})
                current = len(sections) - 1
                sections[0]["elements"].append(f"/sections/{current}")
            sections[current]["elements"].append(reference)
            sections[current]["parts"].append(span)
            if current:
                sections[0]["parts"].append(span)
        out = []
        for section in sections:
            parts = section.pop("parts")
            if not parts:
                section["spans"] = []
            else:
                first = min(p["offset"] for p in parts)
                end = max(p["offset"] + p["length"] for p in parts)
                section["spans"] = [{"offset": first, "length": end - first}]
            out.append(section)
        return out if out[0]["elements"] else []


def _languages(records: Sequence[Record], pages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``languages`` (the ``languages`` feature): each detected language with the spans of the
    lines in it and the model's confidence; a line long enough to tell on its own is
    classified by itself, the others take their page's language."""
    found: dict[str, dict[str, Any]] = {}
    for record, page in zip(records, pages, strict=True):
        texts = [line["text"] for line in record["lines"]]
        page_language = languages.page_language(texts)
        for text, line in zip(texts, page["lines"], strict=True):
            own = languages.line_language(text) or page_language
            if own is None:
                continue
            entry = found.setdefault(
                own.code, {"locale": own.code, "spans": [], "confidence": own.confidence}
            )
            entry["spans"].extend(line["spans"])
            entry["confidence"] = min(entry["confidence"], own.confidence)
    return list(found.values())


class _Slicer:
    """Cuts ``text`` by spans counted in ``index_type`` units."""

    def __init__(self, text: str, index_type: str) -> None:
        self.text = text
        if index_type == "unicodeCodePoint":
            self.starts = list(range(len(text) + 1))
        else:
            units = _GRAPHEME.findall(text) if index_type == "textElements" else _utf16_units(text)
            self.starts = [0]
            for unit in units:
                self.starts.append(self.starts[-1] + len(unit))

    def slice(self, span: dict[str, int]) -> str:
        start, end = span["offset"], span["offset"] + span["length"]
        return self.text[self.starts[start] : self.starts[end]]


def _utf16_units(text: str) -> list[str]:
    # A character outside the BMP is two UTF-16 units: the second one adds nothing more.
    units: list[str] = []
    for char in text:
        units.append(char)
        if ord(char) > 0xFFFF:
            units.append("")
    return units


def operation_body(
    job: Job,
    records: Sequence[Record] | None,
    version: ApiVersion,
    paragraphs_of: Paragraphs,
) -> dict[str, Any]:
    """The ``AnalyzeOperation`` (2024-11-30) or ``AnalyzeResultOperation`` (2023-07-31) a GET
    answers for ``job``: ``analyzeResult`` once succeeded, ``error`` once failed."""
    body: dict[str, Any] = {
        "status": job.status,
        "createdDateTime": timestamp(job.created),
        "lastUpdatedDateTime": timestamp(job.updated),
    }
    if job.status == "succeeded" and records is not None:
        body["analyzeResult"] = analyze_result(
            records,
            version,
            job.options.string_index_type,
            job.options.content_format,
            paragraphs_of,
            job.options.features,
            job.options.model_id,
        )
    elif job.status == "failed":
        body["error"] = analysis_failed()
    return body
