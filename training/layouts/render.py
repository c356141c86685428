"""Chromium: a page's HTML in, its truth (from the DOM), its PDF and its image out.

One headless Chromium (Selenium and the DevTools protocol) serves many pages. For each page
the viewport is set to the paper's size in CSS px and print media is emulated, so the layout
measured on screen is the one printed; content that does not fit is dropped (``data-drop``,
highest key first) until everything lies inside its box; then every block's words are read
from the DOM (a Range per word, ``getClientRects``) and grouped into lines in flow order.
``Page.printToPDF`` prints that DOM (CSS page size, no margins), and the image is the PDF
rasterised by PDFium at the page's dpi, so image, PDF and truth agree by construction.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Screen layout without hinting lays text out as print does.
    "--font-render-hinting=none",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "--allow-file-access-from-files",
)

# Runs in the page (execute_async_script): fits the content, then reads the truth.
_MEASURE_JS = Path(__file__).with_name("measure.js").read_text(encoding="utf-8")


class LayoutError(RuntimeError):
    """The page's content cannot be made to fit, or text spills out of its block."""


@dataclass
class Layout:
    """What Chromium measured (CSS px, origin at the page's top left) and printed."""

    blocks: list[dict[str, Any]]
    tables: list[dict[str, Any]]
    checkboxes: list[dict[str, Any]]
    pdf: bytes


class Browser:
    """One headless Chromium for many pages; use as a context manager."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        # Chromium's profile and its singleton socket go to TMPDIR: in a folder of our own,
        # they go when the browser does (a killed run leaves none in /tmp).
        self._dir = tempfile.TemporaryDirectory(prefix="layouts-")
        service = Service(CHROMEDRIVER, env={**os.environ, "TMPDIR": self._dir.name})
        try:
            self._driver = webdriver.Chrome(service=service, options=options)
        except BaseException:
            self._dir.cleanup()
            raise
        self._driver.set_page_load_timeout(60)
        self._driver.set_script_timeout(60)
        self._driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        self._file = Path(self._dir.name) / "page.html"
        self._size: tuple[int, int] | None = None

    def close(self) -> None:
        """Quit Chromium and remove the temporary page file."""
        try:
            self._driver.quit()
        finally:
            self._dir.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def layout(self, html: str, width: int, height: int) -> Layout:
        """Load ``html`` on a ``width`` x ``height`` CSS px viewport, fit it, read its truth
        and print it; raises ``LayoutError`` when it cannot be made to fit."""
        if self._size != (width, height):
            self._driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            self._size = (width, height)
        self._file.write_text(html, encoding="utf-8")
        self._driver.get(self._file.as_uri())
        raw = json.loads(self._driver.execute_async_script(_MEASURE_JS))
        if "error" in raw:
            raise RuntimeError("measuring failed: " + raw["error"])
        if not raw["ok"]:
            raise LayoutError(f"content does not fit the page ({raw['why']})")
        if not raw["sane"]:
            raise LayoutError(f"text spills out of its block ({raw['spill']})")
        if abs(raw["width"] - width) > 0.5 or abs(raw["height"] - height) > 0.5:
            raise RuntimeError(
                f"page measured {raw['width']}x{raw['height']}, not {width}x{height}"
            )
        printed = self._driver.execute_cdp_cmd(
            "Page.printToPDF",
            {
                "preferCSSPageSize": True,
                "printBackground": True,
                "marginTop": 0,
                "marginBottom": 0,
                "marginLeft": 0,
                "marginRight": 0,
                "scale": 1,
            },
        )
        return Layout(
            blocks=raw["blocks"],
            tables=raw["tables"],
            checkboxes=raw["checkboxes"],
            pdf=base64.b64decode(printed["data"]),
        )


def rasterise(pdf: bytes, dpi: float, width_css: int, height_css: int) -> npt.NDArray[np.uint8]:
    """The PDF's first page as a BGR image at ``dpi``, exactly ``round(css * dpi / 96)`` px."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        if len(document) != 1:
            raise LayoutError(f"the PDF has {len(document)} pages, not 1")
        bitmap = document[0].render(scale=dpi / 72, rev_byteorder=False)
        image = bitmap.to_numpy()[:, :, :3].copy()  # pdfium's BGR(x)
    finally:
        document.close()
    width, height = round(width_css * dpi / 96), round(height_css * dpi / 96)
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    h, w = min(height, image.shape[0]), min(width, image.shape[1])
    out[:h, :w] = image[:h, :w]
    return out


def available() -> bool:
    """Whether Debian's chromium and chromedriver are installed."""
    return os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)
