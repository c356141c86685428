"""Markdown output, kept at this path for the code that imports it from here.

The writer lives in :mod:`ocr_sdk.output.markdown`; this module re-exports its public names,
so ``from ocr_sdk.markdown import to_markdown`` keeps working.
"""

from .output.markdown import (
    PAGE_BREAK,
    ParagraphRule,
    escape,
    group_paragraphs,
    markdown_from_paragraphs,
    to_markdown,
)

__all__ = [
    "PAGE_BREAK",
    "ParagraphRule",
    "escape",
    "group_paragraphs",
    "markdown_from_paragraphs",
    "to_markdown",
]
