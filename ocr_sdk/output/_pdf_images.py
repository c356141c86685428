"""The images of a searchable PDF: each frame of an image document as a PDF image XObject.

A frame keeps its own compressed data whenever PDF can show it unchanged (JPEG as
``DCTDecode``, most PNG as ``FlateDecode`` with PNG predictors, a Group 4 TIFF as
``CCITTFaxDecode``); anything else is decoded as the emulator decodes it and stored losslessly
with zlib. :mod:`ocr_sdk.output.searchable_pdf` makes the pages they are drawn on.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ._pdf_extra import load_pikepdf, load_pillow

if TYPE_CHECKING:
    import pikepdf
    from PIL import Image

__all__ = ["Picture", "frame_count", "frame_picture", "image_xobject", "placement"]

# Level 3 keeps the few images that must be re-encoded (TIFF, BMP, PNG with alpha) within
# about 10 % of level 6's size on the corpus's page scans, at a third of its time.
_ZLIB_LEVEL = 3


@dataclass(frozen=True, slots=True)
class Picture:
    """One image as a PDF image XObject will hold it."""

    data: bytes
    width: int
    """Stored width in pixels (before the orientation is applied)."""
    height: int
    colors: int
    bits: int
    filter: str | None
    colorspace: str
    """``DeviceGray``, ``DeviceRGB``, ``DeviceCMYK`` or ``Indexed``."""
    palette: bytes = b""
    decode: tuple[float, ...] | None = None
    icc: bytes | None = None
    predictor: bool = False
    """Flate data carries PNG row filters (PNG's own IDAT)."""
    ccitt_black_is_zero: bool | None = None
    """For CCITT G4 data: whether the TIFF says its 0 bits are black (``None``: not CCITT)."""
    orientation: int = 1
    """EXIF orientation still to apply when drawing (1: none)."""
    dpi: tuple[float, float] | None = None
    """The stored image's resolution (x, y), as it declares it."""

    @property
    def displayed(self) -> tuple[int, int]:
        """Width and height as displayed, after the orientation."""
        return (self.height, self.width) if self.orientation >= 5 else (self.width, self.height)

    @property
    def displayed_dpi(self) -> tuple[float, float] | None:
        """Resolution (x, y) as displayed."""
        if self.dpi is None or self.orientation < 5:
            return self.dpi
        return self.dpi[1], self.dpi[0]


def _orientation(image: Image.Image) -> int:
    try:
        value = int(image.getexif().get(0x0112, 1))
    except (TypeError, ValueError, OSError, SyntaxError):
        return 1
    return value if 1 <= value <= 8 else 1


def _jpeg_picture(data: bytes, image: Image.Image) -> Picture | None:
    """The JPEG's own bytes, when PDF's DCTDecode can show them as Pillow does."""
    mode = image.mode
    if mode not in {"L", "RGB", "CMYK"}:
        return None
    stream = data if image.format == "JPEG" else _first_jpeg(data)
    if stream is None:
        return None
    decode = None
    if mode == "CMYK" and "adobe" in image.info:
        # Adobe's CMYK JPEGs store inverted samples (Pillow inverts them on decoding).
        decode = (1.0, 0.0) * 4
    colorspace = {"L": "DeviceGray", "RGB": "DeviceRGB", "CMYK": "DeviceCMYK"}[mode]
    return Picture(
        data=stream,
        width=image.width,
        height=image.height,
        colors=len(mode),
        bits=8,
        filter="DCTDecode",
        colorspace=colorspace,
        decode=decode,
        icc=image.info.get("icc_profile") or None,
        orientation=_orientation(image),
        dpi=image.info.get("dpi"),
    )


def _first_jpeg(data: bytes) -> bytes | None:
    """The first image of an MPO file (a phone photo), which is what the service reads."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xDA:  # start of scan: the entropy-coded data ends at the first EOI
            end = data.find(b"\xff\xd9", position)
            return data[: end + 2] if end >= 0 else None
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length
    return None


def _png_picture(data: bytes, image: Image.Image) -> Picture | None:
    """The PNG's own compressed data, when PDF can show it unchanged: not interlaced, no alpha
    channel or transparency, no EXIF orientation (Pillow may find one only after the pixels)."""
    position = 8
    chunks: dict[bytes, bytes] = {}
    idat: list[bytes] = []
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 8 + length
        if end + 4 > len(data):
            return None  # truncated: let Pillow say what is wrong
        body = data[position + 8 : end]
        if kind == b"IDAT" and zlib.crc32(data[position + 4 : end]) != int.from_bytes(
            data[end : end + 4], "big"
        ):
            return None  # corrupt data must not pass into the PDF unnoticed
        position = end + 4
        if kind == b"IDAT":
            idat.append(body)
        elif kind in {b"tEXt", b"zTXt", b"iTXt"}:
            if body.startswith(b"Raw profile type exif\0"):
                return None
        else:
            chunks.setdefault(kind, body)
        if kind == b"IEND":
            break
    header = chunks.get(b"IHDR")
    if header is None or len(header) != 13 or not idat:
        return None
    width, height, bits, color_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if interlace or b"tRNS" in chunks or b"eXIf" in chunks or color_type not in {0, 2, 3}:
        return None
    palette = b""
    if color_type == 3:
        palette = chunks.get(b"PLTE", b"")
        if not palette or len(palette) % 3 or bits > 8:
            return None
    return Picture(
        data=b"".join(idat),
        width=width,
        height=height,
        colors={0: 1, 2: 3, 3: 1}[color_type],
        bits=bits,
        filter="FlateDecode",
        colorspace={0: "DeviceGray", 2: "DeviceRGB", 3: "Indexed"}[color_type],
        palette=palette,
        icc=image.info.get("icc_profile") or None,
        predictor=True,
        dpi=image.info.get("dpi"),
    )


def _decoded_picture(image: Image.Image, orientation: int) -> Picture:
    """Any frame, decoded as the emulator decodes it (orientation applied, transparency over
    white), stored losslessly with zlib; 16-bit grey keeps its 16 bits.

    ``orientation`` is the frame's EXIF orientation as read before its pixels were: Pillow
    turns a TIFF frame as it loads it, and a PNG's orientation may only be found then.
    """
    from PIL import ImageOps

    dpi = image.info.get("dpi")
    if orientation == 1:
        orientation = _orientation(image)
    oriented = image
    if _orientation(image) != 1:
        oriented = ImageOps.exif_transpose(image)
    if orientation >= 5 and dpi is not None:
        dpi = (dpi[1], dpi[0])
    mode = oriented.mode
    palette, icc = b"", oriented.info.get("icc_profile") or None
    if mode in {"1", "L"}:
        raw, colors, bits, colorspace = oriented.tobytes(), 1, 1 if mode == "1" else 8, "DeviceGray"
    elif mode in {"RGB", "CMYK"}:
        raw, colors, bits, colorspace = oriented.tobytes(), len(mode), 8, f"Device{mode}"
    elif mode in {"I;16", "I;16B", "I;16L", "I;16N"}:
        raw, colors, bits, colorspace = oriented.tobytes("raw", "I;16B"), 1, 16, "DeviceGray"
    elif mode == "P" and "transparency" not in oriented.info:
        raw, colors, bits, colorspace = oriented.tobytes(), 1, 8, "Indexed"
        palette, icc = bytes(oriented.getpalette("RGB") or b"")[: 3 * 256], None
    else:
        rgb = _to_rgb(oriented)
        raw, colors, bits, colorspace = rgb.tobytes(), 3, 8, "DeviceRGB"
    return Picture(
        data=zlib.compress(raw, _ZLIB_LEVEL),
        width=oriented.width,
        height=oriented.height,
        colors=colors,
        bits=bits,
        filter="FlateDecode",
        colorspace=colorspace,
        palette=palette,
        icc=icc,
        dpi=dpi,
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB as the emulator shows pages to its engine: transparency over white, wide greys
    scaled by their range."""
    pil = load_pillow()
    if image.mode in {"I", "F"}:
        low, high = cast("tuple[float, float]", image.getextrema())
        if high > 255 or low < 0:
            span = max(float(high) - float(low), 1e-9)
            image = image.point(lambda value: (value - low) * (255.0 / span))
        return image.convert("L").convert("RGB")
    has_alpha = image.mode in {"RGBA", "LA", "PA", "La", "RGBa"} or (
        image.mode in {"P", "L", "RGB"} and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = pil.new("RGBA", rgba.size, (255, 255, 255, 255))
        composed: Image.Image = pil.alpha_composite(background, rgba).convert("RGB")
        return composed
    return image.convert("RGB")


def _g4_picture(image: Image.Image, document: bytes) -> Picture | None:
    """A bilevel TIFF frame's own CCITT Group 4 data (the archival scan format), when it is one
    strip in the bit order PDF's CCITTFaxDecode reads."""
    tags = image.tag_v2  # type: ignore[attr-defined]
    offsets, counts = tags.get(273), tags.get(279)
    photometric = tags.get(262)
    if (
        image.info.get("compression") != "group4"
        or image.mode != "1"
        or offsets is None
        or counts is None
        or len(offsets) != 1
        or len(counts) != 1
        or tags.get(266, 1) != 1  # FillOrder: most significant bit first
        or int(tags.get(293, 0)) & 0b10  # T6Options: uncompressed mode, which PDF lacks
        or photometric not in {0, 1}
        or 322 in tags  # tiled
    ):
        return None
    start, length = int(offsets[0]), int(counts[0])
    if start + length > len(document):
        return None
    return Picture(
        data=document[start : start + length],
        width=image.width,
        height=image.height,
        colors=1,
        bits=1,
        filter="CCITTFaxDecode",
        colorspace="DeviceGray",
        ccitt_black_is_zero=photometric == 1,
        orientation=_orientation(image),
        dpi=image.info.get("dpi"),
    )


def frame_picture(document: bytes, index: int) -> Picture:
    """Frame ``index`` as it will be embedded: its own compressed data when PDF can show it as
    is (JPEG, most PNG, Group 4 TIFF), else decoded and stored losslessly."""
    pil = load_pillow()
    # Opened afresh for each frame and read with the same calls as the emulator, so the image
    # state (notably the EXIF orientation of a TIFF frame) is the one the service saw.
    with pil.open(io.BytesIO(document)) as image:
        if index:
            image.seek(index)
        picture = None
        if image.format in {"JPEG", "MPO"}:
            picture = _jpeg_picture(document, image)
        elif image.format == "PNG":
            picture = _png_picture(document, image)
        elif image.format == "TIFF":
            picture = _g4_picture(image, document)
        if picture is None:
            orientation = _orientation(image)
            image.load()
            picture = _decoded_picture(image, orientation)
        return picture


def frame_count(document: bytes) -> int:
    """How many pages an image document has: a TIFF's frames, one for any other image."""
    pil = load_pillow()
    with pil.open(io.BytesIO(document)) as image:
        # Only TIFF pages are pages: the service reads the first image of an animated PNG or
        # of a phone's MPO file.
        return int(getattr(image, "n_frames", 1)) if image.format == "TIFF" else 1


def placement(picture: Picture, width: float, height: float) -> list[float]:
    """The matrix drawing the image's unit square over a ``width`` x ``height`` page with its
    EXIF orientation applied (stored row 0, column 0 is the image space's top left)."""
    w, h = width, height
    return {
        1: [w, 0, 0, h, 0, 0],
        2: [-w, 0, 0, h, w, 0],  # mirrored left to right
        3: [-w, 0, 0, -h, w, h],  # turned half a turn
        4: [w, 0, 0, -h, 0, h],  # mirrored top to bottom
        5: [0, -h, -w, 0, w, h],  # transposed
        6: [0, -h, w, 0, 0, h],  # turned a quarter clockwise
        7: [0, h, w, 0, 0, 0],  # transversed
        8: [0, h, -w, 0, w, 0],  # turned a quarter anticlockwise
    }[picture.orientation]


def image_xobject(pdf: pikepdf.Pdf, picture: Picture) -> pikepdf.Object:
    """``picture`` as an image XObject stream of ``pdf``, with its colour space and filter."""
    pdflib = load_pikepdf()
    Name, Dictionary, Array = pdflib.Name, pdflib.Dictionary, pdflib.Array
    colorspace: Any = Name("/" + picture.colorspace)
    if picture.colorspace == "Indexed":
        entries = len(picture.palette) // 3
        base = Name.DeviceRGB
        colorspace = Array([Name.Indexed, base, entries - 1, pdflib.String(picture.palette)])
    elif picture.icc is not None:
        icc = pdf.make_stream(picture.icc)
        icc.N = picture.colors
        colorspace = Array([Name.ICCBased, icc])
    stream = pdf.make_stream(picture.data)
    stream.Type = Name.XObject
    stream.Subtype = Name.Image
    stream.Width = picture.width
    stream.Height = picture.height
    stream.BitsPerComponent = picture.bits
    stream.ColorSpace = colorspace
    if picture.filter is not None:
        stream.Filter = Name("/" + picture.filter)
    if picture.predictor:
        stream.DecodeParms = Dictionary(
            Predictor=15,
            Colors=picture.colors,
            BitsPerComponent=picture.bits,
            Columns=picture.width,
        )
    if picture.ccitt_black_is_zero is not None:
        stream.DecodeParms = Dictionary(K=-1, Columns=picture.width, Rows=picture.height)
        if picture.ccitt_black_is_zero:
            stream.Decode = Array([1, 0])
    if picture.decode is not None:
        stream.Decode = Array(list(picture.decode))
    return stream
