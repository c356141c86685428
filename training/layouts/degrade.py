"""Image degradations that also move the truth: a scan (rotation on an expanded canvas, blur,
noise, grey paper, lower contrast, JPEG) or a photo of a curved page (curl, perspective,
uneven light, blur, JPEG).

``draw(mode, rng)`` draws a page's parameters; ``apply(image, params)`` returns the degraded
image and the ``Transform`` that maps a point of the clean image to the degraded one. Points
are continuous pixel coordinates (the clean image's pixel ``i`` spans ``[i, i + 1)``), the same
frame as the truth's polygons; the image is resampled with the exact inverse of that map, so
the two agree to well under a pixel.

The curl displaces each point vertically by ``A * profile(x) * (1 + k * (y / H - 0.5))``: a
bulge across the page, strongest at the spine side, slightly stronger towards one end of the
page. It is linear in ``y``, so its inverse is exact.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float64]

MODES = ("clean", "scan", "photo", "mixed")


def _u8(array: Any) -> Image:
    """An OpenCV result typed as the 8-bit image it is (no copy)."""
    return np.asarray(array, dtype=np.uint8)


@dataclass(frozen=True)
class Params:
    """One page's degradation, drawn from its seed (sizes relative to the page)."""

    mode: str = "clean"
    rotate: float = 0.0  # degrees, counter-clockwise
    blur: float = 0.0  # Gaussian sigma in px of the image
    noise: float = 0.0  # Gaussian noise sd in grey levels
    contrast: float = 1.0  # ink contrast factor
    paper: float = 1.0  # paper brightness
    jpeg: int | None = None  # JPEG quality, or None for PNG
    curl: float = 0.0  # curl amplitude as a fraction of the page height
    curl_k: float = 0.0  # how much stronger the curl is at the bottom than the top
    spine: str = "left"  # the side the curl is strongest at
    perspective: float = 0.0  # corner displacement as a fraction of the page width
    light: float = 0.0  # strength of the uneven illumination
    seed: int = 0  # noise and corner directions

    @property
    def geometric(self) -> bool:
        """Whether the page's geometry changes."""
        return bool(self.rotate or self.curl or self.perspective)


def draw(mode: str, rng: random.Random) -> Params:
    """A page's degradation for ``mode`` (``mixed``: clean, scan or photo, 50/30/20)."""
    if mode == "mixed":
        mode = rng.choices(("clean", "scan", "photo"), (50, 30, 20))[0]
    seed = rng.randrange(2**31)
    if mode == "clean":
        return Params(seed=seed)
    if mode == "scan":
        return Params(
            mode="scan",
            rotate=round(rng.uniform(-3, 3), 2) if rng.random() < 0.85 else 0.0,
            blur=round(rng.uniform(0, 1.2), 2),
            noise=round(rng.uniform(0, 9), 1),
            contrast=round(rng.uniform(0.6, 1.0), 2),
            paper=round(rng.uniform(0.82, 1.0), 2),
            jpeg=rng.randint(40, 90) if rng.random() < 0.5 else None,
            seed=seed,
        )
    if mode == "photo":
        return Params(
            mode="photo",
            rotate=round(rng.uniform(-1.5, 1.5), 2),
            blur=round(rng.uniform(0.3, 1.4), 2),
            noise=round(rng.uniform(2, 8), 1),
            contrast=round(rng.uniform(0.65, 0.95), 2),
            paper=round(rng.uniform(0.8, 0.97), 2),
            jpeg=rng.randint(50, 92) if rng.random() < 0.8 else None,
            curl=round(rng.uniform(0.004, 0.015) * rng.choice((1, -1)), 4),
            curl_k=round(rng.uniform(-0.6, 0.6), 2),
            spine=rng.choice(("left", "right")),
            perspective=round(rng.uniform(0.005, 0.03), 4),
            light=round(rng.uniform(0.1, 0.35), 2),
            seed=seed,
        )
    raise ValueError(f"unknown degradation {mode!r} (one of {', '.join(MODES)})")


class Transform:
    """Clean-image point -> degraded-image point (continuous px): curl, then a projective
    map (rotation, perspective and the canvas offset)."""

    def __init__(
        self,
        homography: npt.NDArray[np.float64],
        curl: tuple[float, float, float, str, int] | None = None,
    ) -> None:
        self.homography = homography
        self.curl = curl  # amplitude px, k, clean width, spine, clean height

    @property
    def curved(self) -> bool:
        """Whether straight lines bend (polygons then follow the curve with more points)."""
        return self.curl is not None

    def profile(self, x: Points) -> Points:
        """The curl's bulge across the page, 0..1."""
        assert self.curl is not None
        _, _, width, spine, _ = self.curl
        u = np.clip(x / width, 0, 1)
        u = u if spine == "left" else 1 - u
        return 0.55 * np.exp(-u / 0.12) + 0.45 * np.sin(np.pi * np.clip(u, 0, 1)) ** 2

    def curl_dy(self, x: Points, y: Points) -> Points:
        """The curl's vertical displacement at clean points."""
        assert self.curl is not None
        amplitude, k, _, _, height = self.curl
        return amplitude * self.profile(x) * (1 + k * (y / height - 0.5))

    def __call__(self, points: Points) -> Points:
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        x, y = p[:, 0], p[:, 1]
        if self.curl is not None:
            y = y + self.curl_dy(x, y)
        h = self.homography @ np.stack([x, y, np.ones_like(x)])
        return np.stack([h[0] / h[2], h[1] / h[2]], axis=1)


IDENTITY = Transform(np.eye(3))


def _index_matrix(continuous: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A continuous-coordinate projective map as OpenCV's pixel-index map."""
    shift = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], dtype=np.float64)
    back = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], dtype=np.float64)
    return back @ continuous @ shift


def _fit_canvas(
    matrix: npt.NDArray[np.float64], outline: Points
) -> tuple[npt.NDArray[np.float64], int, int]:
    """Shift ``matrix`` so the mapped ``outline`` starts at (0, 0); the canvas size it needs."""
    h = matrix @ np.vstack([outline.T, np.ones(len(outline))])
    xy = h[:2] / h[2]
    x0, y0 = np.floor(xy.min(axis=1))
    x1, y1 = np.ceil(xy.max(axis=1))
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
    return shift @ matrix, int(x1 - x0), int(y1 - y0)


def _outline(width: int, height: int, n: int = 32) -> Points:
    """Points along a rectangle's border."""
    t = np.linspace(0, 1, n)
    return np.concatenate(
        [
            np.stack([t * width, np.zeros(n)], axis=1),
            np.stack([np.full(n, width), t * height], axis=1),
            np.stack([t * width, np.full(n, height)], axis=1),
            np.stack([np.zeros(n), t * height], axis=1),
        ]
    )


def apply(image: Image, params: Params) -> tuple[Image, Transform]:
    """The degraded image (BGR uint8) and the map of clean points onto it."""
    if params.mode == "clean":
        return image, IDENTITY
    rng = np.random.default_rng(params.seed)
    height, width = image.shape[:2]
    paper = round(255 * params.paper)
    tint = (paper, paper, paper) if params.mode == "scan" else (paper - 6, paper - 2, paper)
    out = _tone(image, params.contrast, tint)

    transform = IDENTITY
    if params.mode == "scan":
        matrix = _rotation(params.rotate, width, height)
        matrix, w, h = _fit_canvas(matrix, _outline(width, height))
        if params.rotate:
            out = _u8(
                cv2.warpAffine(
                    out,
                    _index_matrix(matrix)[:2],
                    (w, h),
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT,
                    borderValue=tint,
                )
            )
        transform = Transform(matrix)
    else:
        out, transform = _photo_geometry(out, params, rng)

    if params.light:
        out = _light(out, params, rng)
    sigma = params.blur
    if sigma > 0.05:
        out = _u8(cv2.GaussianBlur(out, (0, 0), sigma))
    if params.noise:
        # OpenCV's generator (seeded) is several times faster than numpy's at this size.
        noise = np.empty(out.shape[:2], np.int16)
        cv2.setRNGSeed(params.seed)
        cv2.randn(noise, 0, params.noise)  # type: ignore[call-overload]
        out = _u8(cv2.add(out, cv2.merge([noise, noise, noise]), dtype=cv2.CV_8U))
    return out, transform


def _tone(image: Image, contrast: float, paper: tuple[int, int, int]) -> Image:
    """Ink lightened by ``contrast`` on paper of colour ``paper``."""
    if contrast == 1 and paper == (255, 255, 255):
        return image
    lut = np.empty((256, 3), dtype=np.uint8)
    levels = np.arange(256, dtype=np.float64)
    for c in range(3):
        lut[:, c] = np.clip(paper[c] - (255 - levels) * contrast * paper[c] / 255, 0, 255)
    return _u8(cv2.merge([cv2.LUT(image[:, :, c], lut[:, c]) for c in range(3)]))


def _rotation(degrees: float, width: int, height: int) -> npt.NDArray[np.float64]:
    """A rotation about the page's centre (continuous coordinates, y down, positive =
    counter-clockwise as seen)."""
    a = math.radians(degrees)
    cx, cy = width / 2, height / 2
    cos, sin = math.cos(a), math.sin(a)
    return np.array(
        [[cos, sin, cx - cos * cx - sin * cy], [-sin, cos, cy + sin * cx - cos * cy], [0, 0, 1]],
        dtype=np.float64,
    )


def _photo_geometry(
    image: Image, params: Params, rng: np.random.Generator
) -> tuple[Image, Transform]:
    height, width = image.shape[:2]
    amplitude = params.curl * height
    background = (
        int(rng.integers(70, 150)),
        int(rng.integers(70, 140)),
        int(rng.integers(60, 130)),
    )
    pad = math.ceil(abs(amplitude) * 1.4) + 4
    curl = (amplitude, params.curl_k, float(width), params.spine, height)
    shift = np.array([[1, 0, pad], [0, 1, pad], [0, 0, 1]], dtype=np.float64)
    probe = Transform(shift, curl)

    # Curl: for each output pixel (x', y') of the padded canvas, the clean point it shows.
    ch, cw = height + 2 * pad, width + 2 * pad
    xs = np.arange(cw, dtype=np.float64) + 0.5 - pad  # clean x of each output column
    a = amplitude * probe.profile(xs)
    k = params.curl_k
    # y = (y' - a (1 - k/2)) / (1 + a k / H): per column, a scale and an offset.
    scale = (1 / (1 + a * k / height)).astype(np.float32)
    offset = (-a * (1 - k / 2) * scale - 0.5).astype(np.float32)
    ys = (np.arange(ch, dtype=np.float32) + np.float32(0.5 - pad))[:, None]
    map_y = ys * scale[None, :] + offset[None, :]
    map_x = np.ascontiguousarray(np.broadcast_to((xs - 0.5).astype(np.float32)[None, :], (ch, cw)))
    curled = cv2.remap(
        image,
        map_x,
        map_y,
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=background,
    )

    # Perspective (and a small rotation) of the padded canvas, then a canvas that holds it.
    jitter = params.perspective * width
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32)
    dst = src + rng.uniform(-jitter, jitter, size=(4, 2)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    matrix = _rotation(params.rotate, cw, ch) @ matrix
    matrix, w, h = _fit_canvas(matrix, _outline(cw, ch))
    out = cv2.warpPerspective(
        curled,
        _index_matrix(matrix),
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=background,
    )
    return _u8(out), Transform(matrix @ shift, curl)


def _light(image: Image, params: Params, rng: np.random.Generator) -> Image:
    """Uneven illumination: a smooth gradient and a shadow along the spine."""
    h, w = image.shape[:2]
    small = (max(8, w // 16), max(8, h // 16))
    gx, gy = np.meshgrid(np.linspace(0, 1, small[0]), np.linspace(0, 1, small[1]))
    angle = rng.uniform(0, 2 * np.pi)
    field = (np.cos(angle) * (gx - 0.5) + np.sin(angle) * (gy - 0.5)) * 2
    cx, cy = rng.uniform(0.2, 0.8, size=2)
    field += 0.6 * ((gx - cx) ** 2 + (gy - cy) ** 2)
    spine_x = 0.0 if params.spine == "left" else 1.0
    field += 1.2 * np.exp(-np.abs(gx - spine_x) / 0.06)
    field = (field - field.min()) / max(1e-6, float(np.ptp(field)))
    gain = (1 - params.light * field).astype(np.float32)
    gain = cv2.resize(gain, (w, h), interpolation=cv2.INTER_LINEAR)
    return _u8(cv2.multiply(image, cv2.merge([gain, gain, gain]), dtype=cv2.CV_8U))


def encode(image: Image, params: Params) -> tuple[bytes, str]:
    """The image file's bytes and extension: JPEG at the page's quality, else PNG (one grey
    channel when the page has no colour: a third of the data to write and read)."""
    if (
        image.ndim == 3
        and (image[:, :, 0] == image[:, :, 1]).all()
        and (image[:, :, 1] == image[:, :, 2]).all()
    ):
        image = np.ascontiguousarray(image[:, :, 0])
    if params.jpeg is not None:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, params.jpeg])
        ext = ".jpg"
    else:
        ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        ext = ".png"
    if not ok:
        raise RuntimeError("image encoding failed")
    return data.tobytes(), ext


def record(params: Params, transform: Transform) -> dict[str, object]:
    """The truth's ``degradations`` object (amplitudes in px of the image)."""
    data = asdict(params)
    del data["seed"]
    amplitude = transform.curl[0] if transform.curl else 0.0
    data["curl"] = round(abs(amplitude), 2)
    data["curlFraction"] = params.curl
    return {k: data[k] for k in ("mode", "rotate", "blur", "jpeg", "noise", "contrast", "curl")} | {
        "curlFraction": data["curlFraction"],
        "curlK": params.curl_k,
        "spine": params.spine if params.curl else None,
        "paper": params.paper,
        "perspective": params.perspective,
        "light": params.light,
    }
