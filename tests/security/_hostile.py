"""Hostile documents, made small on the spot: the security tests and ``benchmarks/hostile.py``
(which replays the security review at full size) build their attacks from these."""

from __future__ import annotations

import io
import zlib

from PIL import Image, ImageDraw

MB = 1024 * 1024


def pdf_with_content(stream: bytes) -> bytes:
    """A one-page Letter PDF whose page content is the Flate-compressed ``stream``."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    out += trailer % (len(objects) + 1, xref)
    return bytes(out)


def strokes(count: int) -> bytes:
    """A PDF page of ``count`` crossing strokes: about 12 KB for 100 000, which take pdfium
    about a minute to draw."""
    content = b"0.1 w\n" + b"10 10 m 600 780 l 10 780 l 600 10 l S\n" * count
    return pdf_with_content(zlib.compress(content, 9))


def flate_bomb(inflated: int) -> bytes:
    """A PDF whose page content inflates to ``inflated`` bytes (about 1000 times its size)."""
    packer = zlib.compressobj(9)
    block = bytes(16 * MB)
    parts = [packer.compress(block) for _ in range(max(1, inflated // len(block)))]
    return pdf_with_content(b"".join([*parts, packer.flush()]))


def plain_pdf(text: str = "Plain page") -> bytes:
    """A 4 x 2 inch PDF page with one line of text: quick to draw and to read."""
    image = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(image).text((40, 80), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=100.0)
    return buffer.getvalue()


def plain_png(text: str = "Plain page") -> bytes:
    """A small PNG with one line of text."""
    image = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(image).text((40, 80), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
