"""OCR engines behind one small interface: a page image in, lines and words out."""

from emulator.engine.base import OcrEngine, PageText, TextLine, TextWord

__all__ = ["OcrEngine", "PageText", "TextLine", "TextWord"]
