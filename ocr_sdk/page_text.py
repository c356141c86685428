"""The writers' neutral pages, kept at this path for the code that imports them from here.

They live in :mod:`ocr_sdk.output.text`; this module re-exports its public names, so
``from ocr_sdk.page_text import TextPage, text_pages`` keeps working.
"""

from .output.text import (
    Polygon,
    TextBox,
    TextLine,
    TextPage,
    TextWord,
    text_page,
    text_pages,
)

__all__ = [
    "Polygon",
    "TextBox",
    "TextLine",
    "TextPage",
    "TextWord",
    "text_page",
    "text_pages",
]
