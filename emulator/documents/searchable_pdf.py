"""The searchable PDF of a document: its own pages with an invisible text layer of the pages
read. The writer lives in :mod:`ocr_sdk` (the SDK's ``ocr read --format pdf`` uses it too);
this module only hands it the emulator's page records, in the SDK's neutral form
(:func:`text_page_of`). It runs in a decoding child (:mod:`emulator.documents.decoding`),
which holds the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ocr_sdk import Page
from ocr_sdk.output.text import TextPage, text_page


def text_page_of(record: dict[str, Any]) -> TextPage:
    """A page record (Read v3.2's ``readResults`` entry) as a :class:`TextPage`."""
    return text_page(Page.model_validate(record))


def searchable_pdf(document: bytes, records: Sequence[dict[str, Any]]) -> bytes:
    """The searchable PDF of ``document``: its own pages with an invisible text layer of the
    pages read (:func:`ocr_sdk.searchable_pdf.write_searchable_pdf`)."""
    from ocr_sdk.output.searchable_pdf import write_searchable_pdf

    return write_searchable_pdf(document, [text_page_of(record) for record in records])
