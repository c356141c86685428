"""Swagger UI (``/swagger``) in a real headless Chromium (see :mod:`tests._browser`): every
API's document is in the top bar, each lists its operations and opens every one of them
without a resolver error; "Authorize" with the key, then "Try it out" and "Execute", calls this
emulator and shows its answer, in one definition and in another. A document's bytes are
uploaded with the file input "Try it out" offers (PNG, JPEG, TIFF and PDF to ReadInStream, an
image to Image Analysis). Nothing loads from another origin, and the content-security policy
holds (the browser logs no violation).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from PIL import Image

from emulator.engine.fake import FakeEngine
from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings
from tests.conftest import encode

KEY = "swagger-test-key-0123456789"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    settings = Settings(api_keys=(KEY,), port=0, workers=1)
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        yield running


def _wait(browser: Any, condition: Callable[[Any], Any], timeout: float = 20) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(condition)


def _click(browser: Any, element: Any) -> None:
    """Scroll ``element`` to the middle of the window and click it, as a person would."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def _title(browser: Any) -> str:
    from selenium.webdriver.common.by import By

    titles = browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title")
    return str(titles[0].text) if titles else ""


def _choose(browser: Any, name: str) -> None:
    """Pick the definition ``name`` in the top bar and wait for it to render."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, "select")).select_by_visible_text(name)
    _wait(browser, lambda b: _title(b).startswith(name))


def _shown(browser: Any) -> set[tuple[str, str]]:
    """(method, path) of every operation the page lists (Swagger UI breaks a long path with
    zero-width spaces)."""
    pairs = browser.execute_script(
        "return Array.from(document.querySelectorAll('.opblock'), block => ["
        "block.querySelector('.opblock-summary-method').textContent,"
        "block.querySelector('.opblock-summary-path').textContent.replace(/\\u200b/g, '')])"
    )
    return {(method, path) for method, path in pairs}


def _operation(browser: Any, method: str, path: str) -> Any:
    from selenium.webdriver.common.by import By

    for block in browser.find_elements(By.CSS_SELECTOR, f".opblock-{method.lower()}"):
        shown = block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").text
        if shown.replace("\u200b", "") == path:
            return block
    raise AssertionError(f"{method} {path} is not listed")


class Answer(NamedTuple):
    """What the page shows of the emulator's answer to an "Execute"."""

    status: str
    #: The body, as the page prints it ("" for none).
    body: str
    #: The response headers, one ``name: value`` a line (names in lower case).
    headers: str


def _execute(browser: Any, block: Any, *values: str, upload: Path | None = None) -> Answer:
    """Open ``block``, "Try it out" (unless it is already) with ``values`` in its text inputs
    and ``upload`` picked in its file input, "Execute" (after "Clear", where an answer is
    shown); the answer the page shows."""
    from selenium.webdriver.common.by import By

    if "is-open" not in block.get_attribute("class"):
        _click(browser, block.find_element(By.CSS_SELECTOR, ".opblock-summary"))
    try_out = _wait(browser, lambda _b: block.find_elements(By.CSS_SELECTOR, ".try-out__btn"))[0]
    if try_out.text == "Try it out":
        _click(browser, try_out)
    inputs = block.find_elements(By.CSS_SELECTOR, ".parameters input[type=text]")
    for field, value in zip(inputs, values, strict=False):
        field.clear()
        field.send_keys(value)
    if upload is not None:
        _wait(
            browser,
            lambda _b: block.find_elements(
                By.CSS_SELECTOR, ".opblock-section-request-body input[type=file]"
            ),
        )[0].send_keys(str(upload))
    for clear in block.find_elements(By.CSS_SELECTOR, ".btn-clear"):
        _click(browser, clear)
    _wait(browser, lambda _b: not block.find_elements(By.CSS_SELECTOR, ".live-responses-table"))
    _click(browser, block.find_element(By.CSS_SELECTOR, ".execute"))
    status = _wait(
        browser,
        lambda _b: block.find_elements(
            By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status"
        ),
    )[0]
    bodies = block.find_elements(By.CSS_SELECTOR, ".live-responses-table .highlight-code")
    headers = block.find_elements(
        By.CSS_SELECTOR, ".live-responses-table .response-col_description .microlight"
    )
    return Answer(
        status.text,
        bodies[0].text if bodies else "",
        "\n".join(element.text for element in headers),
    )


def _authorize(browser: Any, key: str) -> None:
    """Type ``key`` into the key's scheme of the "Authorize" dialog."""
    from selenium.webdriver.common.by import By

    _click(browser, browser.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize"))
    schemes = _wait(
        browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".modal-ux .auth-container")
    )
    scheme = next(s for s in schemes if "Ocp-Apim-Subscription-Key" in s.text)
    scheme.find_element(By.CSS_SELECTOR, "input").send_keys(key)
    _click(browser, scheme.find_element(By.CSS_SELECTOR, "button.authorize"))
    _wait(browser, lambda _b: "Authorized" in scheme.text)
    _click(browser, scheme.find_element(By.CSS_SELECTOR, "button.btn-done"))


def _open_every_operation(browser: Any, listed: set[tuple[str, str]]) -> None:
    """Wait until the page lists exactly ``listed``, then open every operation (which
    resolves its references: a dangling one would show Swagger UI's error box)."""
    from selenium.webdriver.common.by import By

    _wait(browser, lambda b: _shown(b) == listed)
    browser.execute_script(
        "document.querySelectorAll('.opblock:not(.is-open) .opblock-summary-control')"
        ".forEach(control => control.click())"
    )
    _wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, ".opblock-body")) == len(listed))


def test_swagger_ui_lists_every_api_and_calls_this_emulator(
    endpoint: Endpoint, browser: Any, png: Callable[..., bytes]
) -> None:
    from selenium.webdriver.common.by import By

    submitted = httpx.post(
        endpoint.url + "/vision/v3.2/read/analyze",
        content=png(640, 200),
        headers={"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "application/octet-stream"},
    )
    assert submitted.status_code == 202
    operation_id = submitted.headers["Operation-Location"].rsplit("/", 1)[1]
    config = httpx.get(endpoint.url + "/swagger/config.json").json()
    assert len(config["urls"]) == 5

    browser.set_window_size(1280, 1600)
    browser.get(endpoint.url + "/swagger")
    _wait(browser, lambda b: _title(b).startswith(config["urls"][0]["name"]))
    for definition in config["urls"]:
        _choose(browser, definition["name"])
        document = httpx.get(endpoint.url + definition["url"]).json()
        listed = {(m.upper(), path) for path, item in document["paths"].items() for m in item}
        _open_every_operation(browser, listed)
        assert browser.find_elements(By.CSS_SELECTOR, ".errors-wrapper") == []
        assert "Could not resolve" not in browser.page_source

    _choose(browser, config["urls"][0]["name"])
    _authorize(browser, KEY)
    block = _operation(browser, "GET", "/read/analyzeResults/{operationId}")
    status, body, _headers = _execute(browser, block, operation_id)
    assert status == "200"
    assert '"status": "succeeded"' in body and "PAGE 640x200" in body  # the fake engine's text
    # Another definition (Swagger UI forgets the key on a switch): the meter, for this key.
    _choose(browser, "The emulator's own routes")
    _authorize(browser, KEY)
    status, body, _headers = _execute(browser, _operation(browser, "GET", "/_emulator/usage"))
    assert status == "200"
    assert '"caller": true' in body
    _assert_clean(browser, endpoint)


def _assert_clean(browser: Any, endpoint: Endpoint) -> None:
    """Nothing loaded from another origin, no error in the console, no CSP violation."""
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources and all(name.startswith(endpoint.url) for name in resources)
    log = browser.get_log("browser")
    assert [entry for entry in log if entry["level"] == "SEVERE"] == []
    assert not [entry for entry in log if "Content Security Policy" in entry["message"]]


def _operation_location(headers: str) -> str:
    """The ``Operation-Location`` of the response headers the page shows."""
    for line in headers.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "operation-location":
            return value.strip()
    raise AssertionError(f"no Operation-Location in {headers!r}")


def _finished(endpoint: Endpoint, operation_id: str) -> dict[str, Any]:
    """The ``analyzeResult`` of the operation, once it has succeeded."""
    url = f"{endpoint.url}/vision/v3.2/read/analyzeResults/{operation_id}"
    deadline = time.monotonic() + 20
    while (answer := httpx.get(url, headers={"Ocp-Apim-Subscription-Key": KEY}).json())[
        "status"
    ] != "succeeded":
        assert answer["status"] in ("notStarted", "running") and time.monotonic() < deadline
        time.sleep(0.05)
    result: dict[str, Any] = answer["analyzeResult"]
    return result


def test_swagger_ui_uploads_each_format_with_its_file_input(
    endpoint: Endpoint,
    browser: Any,
    tmp_path: Path,
    png: Callable[..., bytes],
    multipage_tiff: Callable[[int], bytes],
    pdf: Callable[[int], bytes],
) -> None:
    """ReadInStream takes a PNG, a JPEG, a two-page TIFF and a two-page PDF picked in its
    file input (202 and an Operation-Location); GetReadResult then reads one of them; Image
    Analysis reads an image uploaded the same way."""
    uploads = {
        "page.png": (png(640, 200), 1),
        "page.jpg": (encode(Image.new("RGB", (480, 160), "white"), "JPEG"), 1),
        "pages.tiff": (multipage_tiff(2), 2),
        "pages.pdf": (pdf(2), 2),
    }
    for name, (data, _pages) in uploads.items():
        (tmp_path / name).write_bytes(data)
    config = httpx.get(endpoint.url + "/swagger/config.json").json()
    browser.set_window_size(1280, 1600)
    browser.get(endpoint.url + "/swagger")
    _wait(browser, lambda b: _title(b).startswith(config["urls"][0]["name"]))
    _authorize(browser, KEY)

    stream = _operation(browser, "POST", "/read/analyze?overload=stream")
    submitted = {}
    for name in uploads:
        status, _body, headers = _execute(browser, stream, upload=tmp_path / name)
        assert status == "202", name
        location = _operation_location(headers)
        assert location.startswith(endpoint.url + "/vision/v3.2/read/analyzeResults/"), name
        submitted[name] = location.rsplit("/", 1)[1]

    # The PDF's result, polled by executing again while it runs: both of its pages.
    result = _operation(browser, "GET", "/read/analyzeResults/{operationId}")
    deadline = time.monotonic() + 20
    while True:
        status, body, _headers = _execute(browser, result, submitted["pages.pdf"])
        assert status == "200"
        if '"status": "succeeded"' in body or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert '"status": "succeeded"' in body
    assert '"page": 2' in body
    for name, (_data, pages) in uploads.items():  # every upload arrived whole: its pages
        assert len(_finished(endpoint, submitted[name])["readResults"]) == pages, name

    _choose(browser, "Image Analysis 4.0 (OCR emulator)")
    _authorize(browser, KEY)
    analyze = _operation(browser, "POST", "/imageanalysis:analyze")
    status, body, _headers = _execute(browser, analyze, upload=tmp_path / "page.png")
    assert status == "200"
    assert '"readResult"' in body
    _assert_clean(browser, endpoint)
