"""A stored page in the SDK's neutral form, for the writers the SDK and the emulator share:
its paragraphs (Document Intelligence's ``paragraphs`` and Markdown content) and its
searchable PDF. Both writers live in :mod:`ocr_sdk` (the SDK's ``ocr read --format
pdf|markdown`` uses them too); this module only hands them the emulator's page records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ocr_sdk import Page
from ocr_sdk.markdown import group_paragraphs
from ocr_sdk.page_text import TextPage, text_page


def text_page_of(record: dict[str, Any]) -> TextPage:
    """A page record (Read v3.2's ``readResults`` entry) as a :class:`TextPage`."""
    return text_page(Page.model_validate(record))


def paragraphs_of(record: dict[str, Any]) -> list[list[int]]:
    """The page's paragraphs as lists of line indices, in reading order: the lines the
    layout analysis put in reading order, cut where the geometry says a paragraph ends
    (:func:`ocr_sdk.markdown.group_paragraphs`)."""
    page = text_page_of(record)
    index = {id(line): i for i, line in enumerate(page.lines)}
    return [[index[id(line)] for line in group] for group in group_paragraphs(page)]


def searchable_pdf(document: bytes, records: Sequence[dict[str, Any]]) -> bytes:
    """The searchable PDF of ``document``: its own pages with an invisible text layer of the
    pages read (:func:`ocr_sdk.searchable_pdf.write_searchable_pdf`)."""
    from ocr_sdk.searchable_pdf import write_searchable_pdf

    return write_searchable_pdf(document, [text_page_of(record) for record in records])
