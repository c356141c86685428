"""Searchable PDF output, kept at this path for the code that imports it from here.

The writer lives in :mod:`ocr_sdk.output.searchable_pdf`; this module re-exports its public
names, so ``from ocr_sdk.searchable_pdf import write_searchable_pdf`` keeps working.
"""

from .output.searchable_pdf import (
    DEFAULT_DPI,
    PDF_EXTRA_HINT,
    image_page_size,
    write_searchable_pdf,
)

__all__ = [
    "DEFAULT_DPI",
    "PDF_EXTRA_HINT",
    "image_page_size",
    "write_searchable_pdf",
]
