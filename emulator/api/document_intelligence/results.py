"""Document Intelligence's result bodies, shaped from the stored page records.

A page record (:mod:`emulator.page_records`) holds the page's size, unit, angle and its lines
and words in reading order with their polygons. Here they become ``content`` (every line's
text in reading order, lines joined by ``\\n``; with ``outputContentFormat=markdown``,
paragraphs as Markdown, escaped, pages separated by ``<!-- PageBreak -->``, as
:mod:`ocr_sdk.markdown` writes it for ``ocr read --format markdown``), and ``pages``,
``words``, ``lines`` and ``paragraphs`` whose spans index that content exactly, counted in the
request's ``stringIndexType``: user-perceived characters (``textElements``, Unicode's extended
grapheme clusters via the ``regex`` module), code points, or UTF-16 code units.

The content is built piece by piece and every span is taken as it is written, so a span
can never drift from the text it names, whatever the escaping or the index type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import regex

from emulator import languages
from emulator.api.document_intelligence.errors import analysis_failed
from emulator.api.document_intelligence.parsing import MODEL_ID, ApiVersion
from emulator.page_records import timestamp
from emulator.store import Job
from ocr_sdk.markdown import PAGE_BREAK, escape

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
    xs = [p[i] for p in polygons for i in range(0, len(p), 2)]
    ys = [p[i] for p in polygons for i in range(1, len(p), 2)]
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def analyze_result(
    records: Sequence[Record],
    version: ApiVersion,
    index_type: str,
    content_format: str,
    paragraphs_of: Paragraphs,
    features: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``analyzeResult`` of a succeeded ``prebuilt-read`` job."""
    markdown = content_format == "markdown"
    content = _Content(index_type)
    pages: list[dict[str, Any]] = []
    paragraphs: list[dict[str, Any]] = []
    handwritten: list[dict[str, int]] = []
    handwriting_confidence: list[float] = []
    for number, record in enumerate(records):
        if number:
            content.write(f"\n\n{PAGE_BREAK}\n\n" if markdown else "\n")
        page_start = content.length
        lines = record["lines"]
        groups = _cover(paragraphs_of(record), len(lines)) if lines else []
        page_words: list[dict[str, Any]] = []
        page_lines: list[dict[str, Any]] = [{} for _ in lines]
        for group_index, group in enumerate(groups):
            if group_index:
                content.write("\n\n" if markdown else "\n")
            paragraph_start = content.length
            for position, line_index in enumerate(group):
                if position:
                    content.write("\n")
                line = lines[line_index]
                line_start = content.length
                for word_index, word in enumerate(line["words"]):
                    if word_index:
                        content.write(" ")
                    # Escaped word by word (so each word's span is exact); a word escaped as
                    # if it began a line renders as itself wherever it stands.
                    text = escape(word["text"]) if markdown else word["text"]
                    span = content.write(text)
                    page_words.append(
                        {
                            "content": word["text"],
                            "polygon": word["boundingBox"],
                            "confidence": word["confidence"],
                            "span": span,
                        }
                    )
                line_span = {"offset": line_start, "length": content.length - line_start}
                page_lines[line_index] = {
                    "content": line["text"],
                    "polygon": line["boundingBox"],
                    "spans": [line_span],
                }
                style = line.get("appearance", {}).get("style", {})
                if style.get("name") == "handwriting":
                    handwritten.append(line_span)
                    handwriting_confidence.append(float(style.get("confidence", 1.0)))
            paragraph_span = {
                "offset": paragraph_start,
                "length": content.length - paragraph_start,
            }
            paragraphs.append(
                {
                    "spans": [paragraph_span],
                    "boundingRegions": [
                        {
                            "pageNumber": record["page"],
                            "polygon": _hull([lines[i]["boundingBox"] for i in group]),
                        }
                    ],
                    "content": "",  # filled below, from the finished content
                }
            )
        pages.append(
            {
                "pageNumber": record["page"],
                "angle": _angle(record["angle"]),
                "width": record["width"],
                "height": record["height"],
                "unit": record["unit"],
                "words": page_words,
                "lines": page_lines,
                "spans": [{"offset": page_start, "length": content.length - page_start}],
            }
        )
    text = content.text()
    if "languages" in features:
        result_languages = _languages(records, pages)
    slicer = _Slicer(text, index_type)
    for paragraph in paragraphs:
        paragraph["content"] = slicer.slice(paragraph["spans"][0])
    result: dict[str, Any] = {
        "apiVersion": version.echoed,
        "modelId": MODEL_ID,
        "stringIndexType": index_type,
        "content": text,
        "pages": pages,
        "paragraphs": paragraphs,
        "styles": (
            [
                {
                    "isHandwritten": True,
                    "spans": handwritten,
                    "confidence": round(min(handwriting_confidence), 3),
                }
            ]
            if handwritten
            else []
        ),
    }
    if "languages" in features:
        result["languages"] = result_languages
    if version.v4:
        result["contentFormat"] = content_format
    return result


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
        )
    elif job.status == "failed":
        body["error"] = analysis_failed()
    return body
