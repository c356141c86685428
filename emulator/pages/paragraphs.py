"""A stored page's paragraphs (Document Intelligence's ``paragraphs`` and Markdown content),
by the rule the SDK's writers use: the grouping lives in :mod:`ocr_sdk.markdown` (the SDK's
``ocr read --format markdown`` uses it too); this module only hands it the emulator's page
records, in the SDK's neutral form (:func:`emulator.documents.searchable_pdf.text_page_of`,
shared with the searchable PDF).
"""

from __future__ import annotations

from typing import Any

from emulator.documents.searchable_pdf import text_page_of
from ocr_sdk.output.markdown import group_paragraphs


def paragraphs_of(record: dict[str, Any]) -> list[list[int]]:
    """The page's paragraphs as lists of line indices, in reading order: the lines the
    layout analysis put in reading order, cut where the geometry says a paragraph ends
    (:func:`ocr_sdk.markdown.group_paragraphs`)."""
    page = text_page_of(record)
    index = {id(line): i for i, line in enumerate(page.lines)}
    return [[index[id(line)] for line in group] for group in group_paragraphs(page)]
