"""The try-it page in headless Chromium, for every kind of input: the emulator draws each
page (a browser cannot show a PDF or a TIFF), the page's tabs switch its image, boxes and
text together, progress is shown page by page while the job runs, errors read cleanly, and
the layout holds from a 360 px phone to a wide screen.

Geometry is checked through the DOM (element boxes, natural image sizes), never by comparing
pixels. Skipped without Debian's ``chromium`` and ``chromium-driver`` (see
:mod:`tests._browser`).
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from emulator.engine.base import PageText
from emulator.engine.fake import FakeEngine
from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings

KEY = "try-it-test-key-0123456789"


class _SteppedEngine(FakeEngine):
    """The fake engine, except that a page of the size a test holds waits until the test
    lets it go: the test then sees the job halfway, however fast or busy the machine."""

    def __init__(self) -> None:
        super().__init__()
        self.held_size: tuple[int, int] | None = None
        self.go = threading.Event()

    def recognize(self, image: Any, **options: Any) -> PageText:
        if image.size == self.held_size:
            self.go.wait(60)
        return super().recognize(image, **options)


ENGINE = _SteppedEngine()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    settings = Settings(api_keys=(KEY,), port=0, workers=1)
    with run_in_thread(settings, engine_factory=lambda _threads: ENGINE) as running:
        yield running


@contextlib.contextmanager
def _holding(size: tuple[int, int]) -> Iterator[None]:
    """Hold every page of ``size`` until the block ends."""
    ENGINE.go.clear()
    ENGINE.held_size = size
    try:
        yield
    finally:
        ENGINE.held_size = None
        ENGINE.go.set()


def _encode(frames: list[Image.Image], fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:])
    frames[0].save(out, fmt, **options)
    return out.getvalue()


def _pages(*sizes: tuple[int, int]) -> list[Image.Image]:
    """Pages of ``sizes`` with a dark band across each, so that no two look alike."""
    frames = []
    for width, height in sizes:
        page = Image.new("RGB", (width, height), "white")
        page.paste((40, 40, 40), (width // 10, height // 3, width * 9 // 10, height // 2))
        frames.append(page)
    return frames


# name: (file name, bytes, the fake engine's text of each page)
DOCUMENTS: dict[str, tuple[str, Callable[[], bytes], list[str]]] = {
    "png": ("scan.png", lambda: _encode(_pages((640, 200)), "PNG"), ["PAGE 640x200"]),
    "jpeg": ("photo.jpg", lambda: _encode(_pages((500, 375)), "JPEG"), ["PAGE 500x375"]),
    "tiff": (
        "fax.tiff",
        lambda: _encode(_pages((600, 400), (300, 450)), "TIFF"),
        ["PAGE 600x400", "PAGE 300x450"],
    ),
    # Letter, then Letter landscape, at 100 dpi: drawn at 200 dpi for the engine.
    "pdf": (
        "letter.pdf",
        lambda: _encode(_pages((850, 1100), (1100, 850)), "PDF", resolution=100.0),
        ["PAGE 1700x2200", "PAGE 2200x1700"],
    ),
}


def _wait(browser: Any, condition: Callable[[Any], Any], timeout: float = 60) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(condition)


def _viewport(browser: Any, width: int, height: int = 900) -> None:
    """Lay the page out for a window ``width`` CSS pixels wide (as a phone or a desktop)."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def _rect(browser: Any, element_id: str) -> dict[str, float]:
    rect: dict[str, float] = browser.execute_script(
        "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width};",
        element_id,
    )
    return rect


def _overflows(browser: Any) -> bool:
    return bool(browser.execute_script("return document.scrollingElement.scrollWidth > innerWidth"))


def _status(browser: Any) -> str:
    from selenium.webdriver.common.by import By

    text: str = browser.find_element(By.ID, "status").text
    return text


def _read(browser: Any, endpoint: Endpoint, path: Path, key: str = KEY) -> None:
    """Open the page, give the key and the file, press Read."""
    from selenium.webdriver.common.by import By

    browser.get(endpoint.url + "/")
    browser.find_element(By.ID, "key").send_keys(key)
    browser.find_element(By.ID, "file").send_keys(str(path))
    browser.find_element(By.ID, "read").click()


def _shown_page(browser: Any) -> dict[str, Any]:
    """What the page shows now: the image's natural size and box, the boxes' boxes, the
    text, the image's URL."""
    shown: dict[str, Any] = browser.execute_script(
        """
        const image = document.getElementById("image");
        const box = (e) => { const r = e.getBoundingClientRect();
          return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
        return {
          natural: [image.naturalWidth, image.naturalHeight],
          image: box(image),
          shown: !image.hidden && image.complete,
          src: image.src,
          boxes: [...document.querySelectorAll("#boxes polygon")].map(box),
          text: document.getElementById("text").textContent,
          title: document.getElementById("text-title").textContent,
        };
        """
    )
    return shown


def _showing(text: str) -> Callable[[Any], bool]:
    """A wait's condition: the text panel shows ``text``, and the image set with it (in the
    same step, see try-it.js ``showPage``) is decoded: an image decodes after the text is
    drawn, later still on a busy machine."""

    def showing(browser: Any) -> bool:
        shown = _shown_page(browser)
        return bool(shown["text"] == text and shown["shown"])

    return showing


@pytest.mark.parametrize("kind", list(DOCUMENTS))
def test_every_kind_of_document_is_shown_page_by_page(
    endpoint: Endpoint, browser: Any, tmp_path: Path, kind: str
) -> None:
    from selenium.webdriver.common.by import By

    name, make, texts = DOCUMENTS[kind]
    document = tmp_path / name
    document.write_bytes(make())
    _viewport(browser, 1280)
    count = len(texts)
    # The last page waits until its progress is seen: page by page, while the job runs.
    width, height = (int(side) for side in texts[-1].split()[1].split("x"))
    with _holding((width, height)):
        _read(browser, endpoint, document)
        progress = f"Page 1 of {count} read…" if count > 1 else "Reading page 1 of 1…"
        _wait(browser, lambda b: _status(b) == progress)
    _wait(browser, lambda b: f"Read {count} page(s)." == _status(b))

    pages = json.loads(browser.find_element(By.ID, "json").text)["analyzeResult"]["readResults"]
    tabs = browser.find_elements(By.CSS_SELECTOR, "#page-tabs button")
    assert [tab.text for tab in tabs] == [f"Page {n}" for n in range(1, count + 1)]
    sources = set()
    for index in reversed(range(count)):  # the last first: a tab really switches
        tabs[index].click()
        _wait(browser, _showing(texts[index]))
        shown = _shown_page(browser)
        assert tabs[index].get_attribute("aria-selected") == "true"
        # Only the chosen page's text.
        assert all(other not in shown["text"] for other in texts if other != texts[index])
        assert shown["title"] == (f"Text of page {index + 1}" if count > 1 else "Text")
        # The page as the emulator drew it, in the shape of the page the result describes.
        assert shown["shown"] and shown["src"].startswith("blob:")
        width, height = shown["natural"]
        assert width > 0 and height > 0
        page = pages[index]
        assert width / height == pytest.approx(page["width"] / page["height"], rel=0.01)
        # The page's boxes (one line, two words), all on the image.
        assert len(shown["boxes"]) == 3
        image = shown["image"]
        for box in shown["boxes"]:
            assert box["left"] >= image["left"] - 1 and box["right"] <= image["right"] + 1
            assert box["top"] >= image["top"] - 1 and box["bottom"] <= image["bottom"] + 1
        sources.add(shown["src"])
    assert len(sources) == count  # an image of each page, not one for all


def test_the_layout_holds_from_a_phone_to_a_wide_screen(
    endpoint: Endpoint, browser: Any, tmp_path: Path
) -> None:
    name, make, _texts = DOCUMENTS["pdf"]
    document = tmp_path / name
    document.write_bytes(make())
    try:
        _viewport(browser, 360)
        browser.get(endpoint.url + "/")
        assert not _overflows(browser)  # the form alone
        _read(browser, endpoint, document)
        _wait(browser, lambda b: _status(b) == "Read 2 page(s).")

        # A phone: the page above its text, each about as wide as the screen, nothing wider.
        assert not _overflows(browser)
        view, panels = _rect(browser, "view"), _rect(browser, "panels")
        assert panels["top"] >= view["bottom"] - 1
        assert _rect(browser, "text")["width"] >= 300
        assert _rect(browser, "figure")["width"] >= 300

        # A wide screen: the page beside its text.
        _viewport(browser, 1280)
        assert not _overflows(browser)
        view, panels = _rect(browser, "view"), _rect(browser, "panels")
        assert panels["left"] >= view["right"] - 1
        assert panels["top"] < view["bottom"] and view["top"] < panels["bottom"]
        assert view["width"] >= 600 and _rect(browser, "text")["width"] >= 300
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_errors_read_cleanly(endpoint: Endpoint, browser: Any, tmp_path: Path) -> None:
    document = tmp_path / "scan.png"
    document.write_bytes(DOCUMENTS["png"][1]())
    _read(browser, endpoint, document, key="not-the-key")
    _wait(browser, lambda b: "401" in _status(b))
    assert _status(browser).startswith("Access denied (401): Access denied due to invalid")
    assert "401 401" not in _status(browser)

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 10)
    _read(browser, endpoint, broken)
    _wait(browser, lambda b: "400" in _status(b))
    # The code says more than the status here, so it is shown with it.
    assert _status(browser).startswith("Bad request (400 InvalidImageFormat): ")
