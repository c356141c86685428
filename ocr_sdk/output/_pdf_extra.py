"""The ``pdf`` extra's libraries (pikepdf, and Pillow for images), imported on first use.

The searchable-PDF writer (:mod:`ocr_sdk.output.searchable_pdf`) gets them from here, so that
a missing extra is always reported the same way: an ``ImportError`` that says what to install.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PDF_EXTRA_HINT", "load_pikepdf", "load_pillow"]

PDF_EXTRA_HINT = "searchable PDF output needs the pdf extra: pip install 'ocr-sdk[pdf]'"


def load_pikepdf() -> Any:
    """The ``pikepdf`` module; ``ImportError`` with :data:`PDF_EXTRA_HINT` without it."""
    try:
        import pikepdf
    except ImportError:
        raise ImportError(PDF_EXTRA_HINT) from None
    return pikepdf


def load_pillow() -> Any:
    """Pillow's ``PIL.Image`` module; ``ImportError`` with :data:`PDF_EXTRA_HINT` without it."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(PDF_EXTRA_HINT) from None
    return Image
