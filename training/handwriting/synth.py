"""Synthetic pages of mixed printed and handwritten lines, for training and evaluating the
handwriting-style classifier (``emulator/engine/handwriting.py``).

Nothing is downloaded: handwriting comes from Debian's handwriting fonts, printed text from
its text fonts (the ``apt-get install`` line is in ``training/handwriting/README.md``). A
handwritten line is rendered in a handwriting font and then, most of the time, given what a
hand adds and a font does not: a slant, a baseline that wanders, uneven spacing and a small
elastic wobble of the strokes. Printed lines are rendered straight (a few get a slight warp,
as a photographed page does, so that a warp alone does not mean "handwriting"). Pages are then
degraded like scans: blur, noise, contrast, JPEG.

The fonts are split by family into ``train`` and ``heldout``: held-out figures are measured on
families the classifier never saw, with other random seeds, so they measure generalisation.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

Split = Literal["train", "heldout"]
Style = Literal["handwriting", "other"]

_T = Path("/usr/share/fonts/truetype")
_O = Path("/usr/share/fonts/opentype")

# Handwriting fonts by family (one family never spans both splits).
HANDWRITING: dict[Split, list[str]] = {
    "train": [
        *(f"{_T}/fifthhorseman/{n}.ttf" for n in ("dkg", "dkgBd", "dkgIt", "dkgBI")),
        f"{_T}/rufscript/Rufscript010.ttf",
        f"{_T}/sjfonts/Delphine.ttf",
        f"{_T}/kristi/Kristi.ttf",
        *(f"{_T}/tlwg/{n}.ttf" for n in ("Purisa", "Purisa-Bold", "Purisa-Oblique")),
        *(f"{_O}/bwht/BecauseWe{n}-Regular.otf" for n in ("Build", "Connect", "Create")),
        f"{_O}/dancingscript/DancingScript-Regular.otf",
        f"{_O}/dancingscript/DancingScript-Bold.otf",
        f"{_T}/humor-sans/Humor-Sans.ttf",
    ],
    "heldout": [
        f"{_T}/breip/breipfont.ttf",
        f"{_T}/sjfonts/SteveHand.ttf",
        f"{_O}/kaushanscript/KaushanScript-Regular.otf",
        *(f"{_O}/bwht/BecauseWe{n}-Regular.otf" for n in ("Learn", "Mentor", "Organize")),
    ],
}

# Handwriting fonts that draw every letter (or most) as a capital: "doctor" is drawn DOCTOR,
# so their text is compared without case.
CAPITALS = frozenset(
    {
        *(f"BecauseWe{n}-Regular.otf" for n in ("Build", "Connect", "Create")),
        *(f"BecauseWe{n}-Regular.otf" for n in ("Learn", "Mentor", "Organize")),
        "Humor-Sans.ttf",
    }
)

_DEJAVU = _T / "dejavu"
PRINTED: dict[Split, list[str]] = {
    "train": [
        *(
            f"{_T}/liberation/Liberation{f}-{s}.ttf"
            for f in ("Sans", "Serif", "Mono")
            for s in ("Regular", "Bold", "Italic")
        ),
        *(
            f"{_O}/urw-base35/{n}.otf"
            for n in (
                "NimbusSans-Regular",
                "NimbusSans-Bold",
                "NimbusRoman-Regular",
                "NimbusRoman-Italic",
                "NimbusMonoPS-Regular",
                "C059-Roman",
                "C059-Italic",
                "P052-Roman",
                "NimbusSansNarrow-Regular",
            )
        ),
        *(f"{_T}/freefont/{n}.ttf" for n in ("FreeSans", "FreeSerif", "FreeMono", "FreeSerifBold")),
        f"{_T}/charis/CharisSIL-Regular.ttf",
        f"{_T}/gentiumplus/GentiumPlus-Regular.ttf",
        f"{_T}/lato/Lato-Regular.ttf",
        f"{_T}/lato/Lato-Bold.ttf",
        f"{_T}/open-sans/OpenSans-Regular.ttf",
        f"{_T}/crosextra/Carlito-Regular.ttf",
        f"{_T}/crosextra/Caladea-Regular.ttf",
        f"{_T}/roboto/unhinted/RobotoTTF/Roboto-Regular.ttf",
        f"{_T}/inconsolata/Inconsolata.otf",
        f"{_O}/cabin/Cabin-Regular.otf",
        f"{_O}/cantarell/Cantarell-Regular.otf",
        f"{_O}/ebgaramond/EBGaramond12-Regular.otf",
    ],
    "heldout": [
        *(
            f"{_DEJAVU}/{n}.ttf"
            for n in (
                "DejaVuSans",
                "DejaVuSans-Bold",
                "DejaVuSans-Oblique",
                "DejaVuSerif",
                "DejaVuSerif-Italic",
                "DejaVuSansMono",
                "DejaVuSansCondensed",
            )
        ),
        *(
            f"{_T}/noto/{n}.ttf"
            for n in ("NotoSans-Regular", "NotoSerif-Regular", "NotoSerif-Italic")
        ),
        f"{_O}/urw-base35/URWBookman-Light.otf",
        f"{_O}/urw-base35/URWGothic-Book.otf",
    ],
}

# Base seeds: held-out pages never share a random stream with training pages.
SEEDS: dict[Split, int] = {"train": 1_000, "heldout": 900_000}

_WORDS = (  # noqa: SIM905
    "the of and to in is was that for on with as by at from his her they this have an be "
    "which one you had not but all were when we there can said would each about how their "
    "time if will way many some them these so make like him into has look two more write go "
    "see number no could people my than first water been call who oil its now find long down "
    "day did get come made may part over new sound take only little work know place year "
    "live back give most very after thing our just name good sentence man think say great "
    "where help through much before line right too mean old any same tell boy follow came "
    "want show also around form three small set put end does another well large must big "
    "even such because turn here why ask went men read need land different home us move try "
    "kind hand picture again change off play spell air away animal house point page letter "
    "mother answer found study still learn should America world meeting invoice total amount "
    "please remember Monday Tuesday Friday June April London Paris Berlin Maria John Anna "
    "thanks dear regards signature delivery address street phone customer order payment due "
    "notes shopping milk bread eggs coffee garden weekend doctor school homework chapter "
    "Sehr geehrte Damen Straße Grüße café déjà très été über Mädchen niño señor"
).split()


def words_line(rng: np.random.Generator, n: int) -> str:
    """``n`` words of filler text, now and then a number or punctuation."""
    out: list[str] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.08:
            out.append(str(int(rng.integers(1, 10_000))))
        elif r < 0.11:
            out.append(f"{int(rng.integers(1, 31)):02d}/{int(rng.integers(1, 13)):02d}")
        else:
            w = str(rng.choice(_WORDS))
            if rng.random() < 0.12:
                w = w.capitalize()
            if rng.random() < 0.08:
                w += str(rng.choice([",", ".", "!", "?", ":", ";"]))
            out.append(w)
    return " ".join(out)


def _render_text(text: str, font_path: str, size: int) -> npt.NDArray[np.float32]:
    """``text`` in ``font_path`` at ``size`` px: ink coverage in [0, 1], tight with a margin."""
    font = ImageFont.truetype(font_path, size)
    left, top, right, bottom = font.getbbox(text)
    pad = size // 2
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=255)
    return np.asarray(img, dtype=np.float32) / 255.0


def _smooth_noise(rng: np.random.Generator, n: int, scale: float) -> npt.NDArray[np.float64]:
    """A smooth random curve of ``n`` samples, features about ``scale`` samples long, in
    about [-1, 1]."""
    knots = max(2, int(n / max(scale, 1.0)) + 2)
    values = rng.uniform(-1.0, 1.0, knots)
    return np.interp(np.linspace(0, knots - 1, n), np.arange(knots), values)


def hand_warp(
    ink: npt.NDArray[np.float32], rng: np.random.Generator, size: int, strength: float
) -> npt.NDArray[np.float32]:
    """What a hand does to a line that a font does not: a slant, a wandering baseline,
    uneven spacing, a stroke wobble. ``strength`` 0 leaves ``ink`` as it is, 1 is a loose
    hand."""
    if strength <= 0:
        return ink
    h, w = ink.shape
    xs = np.arange(w, dtype=np.float64)
    # Baseline: a slow drift plus a wave about a word long.
    drift = _smooth_noise(rng, w, size * rng.uniform(4, 12)) * size * 0.10 * strength
    wave = np.sin(xs / (size * rng.uniform(1.5, 4)) + rng.uniform(0, 6.3)) * size * 0.05 * strength
    dy_col = drift + wave
    # Spacing: letters bunch up and spread out.
    dx_col = np.cumsum(_smooth_noise(rng, w, size * 1.5)) * 0.06 * strength
    dx_col -= dx_col.mean()
    shear = rng.uniform(-0.35, 0.35) * strength
    grid_y, grid_x = np.mgrid[0:h, 0:w].astype(np.float64)
    # Stroke wobble: a small smooth field over the whole line.
    wob = size * 0.04 * strength
    fx = cv2.GaussianBlur(rng.standard_normal((h, w)), (0, 0), size * 0.3) * wob * 8
    fy = cv2.GaussianBlur(rng.standard_normal((h, w)), (0, 0), size * 0.3) * wob * 8
    # Letters change size a little along the line.
    grow = 1.0 + _smooth_noise(rng, w, size * 2) * 0.10 * strength
    cy = h / 2
    map_x = grid_x + dx_col[None, :] + (grid_y - cy) * shear + fx
    map_y = cy + (grid_y - cy) / grow[None, :] - dy_col[None, :] + fy
    out = cv2.remap(
        ink,
        map_x.astype(np.float32),
        map_y.astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    # Pen pressure: strokes a little thicker or thinner.
    k = int(rng.integers(-1, 2)) if size >= 30 else 0
    if k:
        kernel = np.ones((2, 2), np.uint8)
        out = cv2.dilate(out, kernel) if k > 0 else cv2.erode(out, kernel)
    return np.asarray(out, dtype=np.float32)


@dataclass(frozen=True)
class TruthLine:
    """One line drawn on a synthetic page: its box (x0, y0, x1, y1) in page pixels, its
    style, its text and the font it was drawn in."""

    box: tuple[int, int, int, int]
    style: Style
    text: str
    font: str


def draw_line(
    rng: np.random.Generator, style: Style, font: str, text: str, size: int, strength: float
) -> npt.NDArray[np.float32]:
    """The ink of one line (coverage in [0, 1]), cropped to its ink with a small margin."""
    ink = _render_text(text, font, size)
    if style == "handwriting":
        ink = hand_warp(ink, rng, size, strength)
    else:
        ink = hand_warp(ink, rng, size, strength * 0.25) if strength else ink
    ys, xs = np.nonzero(ink > 0.1)
    if len(xs) == 0:
        return ink
    m = 2
    return ink[
        max(0, ys.min() - m) : ys.max() + m + 1, max(0, xs.min() - m) : xs.max() + m + 1
    ].copy()


def degrade(page: npt.NDArray[np.float32], rng: np.random.Generator) -> Image.Image:
    """A scanned-looking RGB image from a page of gray levels in [0, 1]."""
    img = page
    if rng.random() < 0.5:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.1))
    lo, hi = rng.uniform(0.0, 0.25), rng.uniform(0.8, 1.0)
    img = lo + (hi - lo) * img
    img = img + rng.normal(0, rng.uniform(0.0, 0.04), img.shape)
    rgb = np.clip(np.repeat(img[:, :, None], 3, axis=2) * 255, 0, 255).astype(np.uint8)
    out = Image.fromarray(rgb, "RGB")
    if rng.random() < 0.6:
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=int(rng.integers(40, 90)))
        buf.seek(0)
        out = Image.open(buf).convert("RGB")
    return out


def available(paths: list[str]) -> list[str]:
    return [p for p in paths if Path(p).is_file()]


def make_page(
    rng: np.random.Generator,
    split: Split,
    *,
    hand_fonts: list[str] | None = None,
    print_fonts: list[str] | None = None,
    mix: float | None = None,
    strength: float | None = None,
    width: int = 1400,
    height: int = 1800,
) -> tuple[Image.Image, list[TruthLine]]:
    """One page of lines, each printed or handwritten (share of handwriting ``mix``, drawn
    at random when None), from the ``split``'s fonts (or those given). ``strength`` fixes the
    hand warp of every handwritten line (None: drawn per line, a quarter of lines unwarped)."""
    hand = hand_fonts or available(HANDWRITING[split])
    printed = print_fonts or available(PRINTED[split])
    if not hand or not printed:
        raise RuntimeError("the handwriting or printed fonts are not installed")
    page_hand = [str(f) for f in rng.choice(hand, size=min(2, len(hand)), replace=False)]
    page_print = [str(f) for f in rng.choice(printed, size=min(2, len(printed)), replace=False)]
    if mix is None:
        mix = float(rng.choice([0.0, 0.3, 0.5, 0.5, 0.7, 1.0]))
    canvas = np.ones((height, width), dtype=np.float32)
    lines: list[TruthLine] = []
    y = int(rng.integers(40, 120))
    margin = int(rng.integers(40, 140))
    hand_ink = float(rng.uniform(0.0, 0.35))
    print_ink = float(rng.uniform(0.0, 0.3)) if rng.random() < 0.5 else 0.0
    while True:
        style: Style = "handwriting" if rng.random() < mix else "other"
        if style == "handwriting":
            font = str(rng.choice(page_hand))
            size = int(rng.integers(30, 64))
            s = strength if strength is not None else float(rng.choice([0.0, 1.0, 1.0, 1.0]))
            s *= float(rng.uniform(0.5, 1.2)) if strength is None else 1.0
        else:
            font = str(rng.choice(page_print))
            size = int(rng.integers(20, 46))
            s = float(rng.uniform(0.2, 0.6)) if rng.random() < 0.15 else 0.0
        text = words_line(rng, int(rng.integers(2, 9)))
        ink = draw_line(rng, style, font, text, size, s)
        h, w = ink.shape
        if w > width - 2 * margin:
            ink = ink[:, : width - 2 * margin]
            h, w = ink.shape
        if y + h > height - 40:
            break
        x = margin + int(rng.integers(0, max(1, (width - 2 * margin - w) // 3 + 1)))
        level = hand_ink if style == "handwriting" else print_ink
        region = canvas[y : y + h, x : x + w]
        np.minimum(region, 1.0 - ink * (1.0 - level), out=region)
        lines.append(TruthLine((x, y, x + w, y + h), style, text, Path(font).name))
        y += h + int(size * rng.uniform(0.5, 1.4))
    angle = float(rng.uniform(-1.5, 1.5)) if rng.random() < 0.3 else 0.0
    if angle:
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        canvas = cv2.warpAffine(canvas, matrix, (width, height), borderValue=1.0)
        pts = lambda b: np.array(  # noqa: E731
            [[b[0], b[1], 1], [b[2], b[1], 1], [b[2], b[3], 1], [b[0], b[3], 1]], float
        )
        rotated = []
        for ln in lines:
            q = pts(ln.box) @ matrix.T
            box = (int(q[:, 0].min()), int(q[:, 1].min()), int(q[:, 0].max()), int(q[:, 1].max()))
            rotated.append(TruthLine(box, ln.style, ln.text, ln.font))
        lines = rotated
    return degrade(canvas, rng), lines


def match(quad: npt.NDArray[np.float64], truths: list[TruthLine]) -> TruthLine | None:
    """The truth line a detected quad (4, 2) lies in: the one holding most of its box, when
    that is most of it and the quad is not also half in another."""
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    area = max((x1 - x0) * (y1 - y0), 1e-6)
    best, best_share, second = None, 0.0, 0.0
    for t in truths:
        ix = max(0.0, min(x1, t.box[2]) - max(x0, t.box[0]))
        iy = max(0.0, min(y1, t.box[3]) - max(y0, t.box[1]))
        share = ix * iy / area
        if share > best_share:
            best, best_share, second = t, share, best_share
        elif share > second:
            second = share
    if best is None or best_share < 0.5 or second > 0.25:
        return None
    return best


def angle_of(quad: npt.NDArray[np.float64]) -> float:
    return math.degrees(math.atan2(quad[1, 1] - quad[0, 1], quad[1, 0] - quad[0, 0]))
