"""The try-it page and Swagger UI in a real headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium): a person types the key, picks a file or gives a URL,
reads it, and sees the page with its boxes, the text and the JSON; Swagger UI renders the
contract. Nothing is loaded from another origin, and the content-security policy holds
(the browser logs no violation).

``.ci/run`` installs the browser and sets ``OCR_TESTS_REQUIRE_BROWSER``, so there a missing
browser fails these tests instead of skipping them.
"""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.engine.fake import FakeEngine
from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings

KEY = "browser-test-key-0123456789"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    settings = Settings(api_keys=(KEY,), port=0, workers=1)
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        yield running


def _wait(browser: Any, condition: Callable[[Any], Any], timeout: float = 20) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(condition)


def _console_errors(browser: Any) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_home_page_reads_a_chosen_file_and_draws_its_boxes(
    endpoint: Endpoint, browser: Any, tmp_path: Path, png: Callable[..., bytes]
) -> None:
    from selenium.webdriver.common.by import By

    page = httpx.get(endpoint.url + "/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert not re.search(r'(src|href)="(https?:)?//', page.text)  # no asset from elsewhere

    document = tmp_path / "scan.png"
    document.write_bytes(png(640, 200))
    browser.get(endpoint.url + "/")
    browser.find_element(By.ID, "key").send_keys(KEY)
    browser.find_element(By.ID, "file").send_keys(str(document))
    browser.find_element(By.ID, "read").click()
    _wait(browser, lambda b: "Read 1 page" in b.find_element(By.ID, "status").text)
    # The fake engine reads each page as "PAGE <width>x<height>", one line, one word a part.
    assert browser.find_element(By.ID, "text").text == "PAGE 640x200"
    assert '"status": "succeeded"' in browser.find_element(By.ID, "json").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#boxes polygon.line")) == 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "#boxes polygon.word")) == 2
    image = browser.find_element(By.ID, "image")
    assert image.get_attribute("src").startswith("blob:")  # the page the emulator drew
    assert browser.execute_script("return arguments[0].naturalWidth", image) == 640
    assert _console_errors(browser) == []


def test_a_url_a_wrong_key_and_the_options_reach_the_service(
    endpoint: Endpoint, browser: Any, png: Callable[..., bytes]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    document = png(300, 120)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.get(endpoint.url + "/")
        browser.find_element(By.ID, "key").send_keys("wrong-key")
        url = f"http://127.0.0.1:{server.server_address[1]}/page.png"
        browser.find_element(By.ID, "url").send_keys(url)
        browser.find_element(By.ID, "read").click()
        _wait(browser, lambda b: "401" in b.find_element(By.ID, "status").text)
        # The service's error, said once: no "401 401:".
        refused = browser.find_element(By.ID, "status").text
        assert refused.startswith("Access denied (401): Access denied due to invalid")
        assert "401 401" not in refused
        key = browser.find_element(By.ID, "key")
        key.clear()
        key.send_keys(KEY)
        Select(browser.find_element(By.ID, "readingOrder")).select_by_visible_text("basic")
        browser.find_element(By.ID, "language").send_keys("de")
        browser.find_element(By.ID, "read").click()
        _wait(browser, lambda b: "Read 1 page" in b.find_element(By.ID, "status").text)
        assert browser.find_element(By.ID, "text").text == "PAGE 300x120"
        assert '"language": "de"' in browser.find_element(By.ID, "json").text
        # A URL's page is shown too, as the emulator drew it (the browser never had the file).
        image = browser.find_element(By.ID, "image")
        assert image.is_displayed()
        assert browser.execute_script("return arguments[0].naturalWidth", image) == 300
        assert len(browser.find_elements(By.CSS_SELECTOR, "#boxes polygon.line")) == 1
    finally:
        server.shutdown()
    errors = [e for e in _console_errors(browser) if "401" not in e]  # the refused read
    assert errors == []


def test_swagger_ui_renders_the_contract_from_this_origin_only(
    endpoint: Endpoint, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(endpoint.url + "/swagger")
    title = _wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title"))
    assert "Computer Vision" in title.text
    operations = browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    assert any("/read/analyze" in op.text for op in operations)
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources and all(name.startswith(endpoint.url) for name in resources)
    assert _console_errors(browser) == []
    addressed = httpx.get(endpoint.url + "/swagger/read-v3.2.json").json()
    assert [server["url"] for server in addressed["servers"]] == [endpoint.url + "/vision/v3.2"]
    assert "x-ms-parameterized-host" not in addressed


def test_the_pages_need_no_key_but_what_they_call_does(endpoint: Endpoint) -> None:
    for path in ("/", "/swagger", "/static/try-it.js", "/swagger/assets/swagger-ui-bundle.js"):
        assert httpx.get(endpoint.url + path).status_code == 200, path
    for path in ("/static/../settings.py", "/static/nothing.js", "/swagger/assets/index.html"):
        assert httpx.get(endpoint.url + path).status_code in (401, 404), path
    assert httpx.get(endpoint.url + "/swagger.json").status_code == 401
    assert httpx.post(endpoint.url + "/vision/v3.2/read/analyze").status_code == 401
