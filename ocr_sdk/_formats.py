"""What kind of document a byte string is, from its magic bytes: one rule for the SDK's
searchable-PDF writer and the emulator's document decoder, so both agree on every input.
Standard library only."""

from __future__ import annotations

from typing import Literal

__all__ = ["DocumentFormat", "sniff_format"]

DocumentFormat = Literal["png", "jpeg", "bmp", "tiff", "pdf"]


def sniff_format(data: bytes) -> DocumentFormat | None:
    """Tell the format from the magic bytes at the start of ``data``; ``None`` if unknown."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"BM"):
        return "bmp"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    # PDF allows up to 1024 bytes of junk before the header; real files from some tools
    # carry a few, so look a little further than offset 0.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    return None
