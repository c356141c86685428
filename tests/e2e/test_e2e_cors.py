"""Calling the emulator from a web page on another origin (``--cors-origin``): a real headless
Chromium loads a page from a second local server, and the page's script submits a document
with its key (a preflighted request), reads ``Operation-Location`` and polls for the result,
as the JavaScript clients do. A page from an origin not on the list is blocked by the browser;
without the flag no origin is allowed."""

from __future__ import annotations

import base64
import http.server
import io
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from emulator.engine.fake import FakeEngine
from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings, SettingsError, load

KEY = "cors-test-key-0123456789"
ANALYZE = "/vision/v3.2/read/analyze"


class _Page(http.server.BaseHTTPRequestHandler):
    """Serves the one page, whatever the path."""

    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def page_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def endpoint(page_server: int) -> Iterator[Endpoint]:
    origin = f"http://127.0.0.1:{page_server}"
    settings = Settings(api_keys=(KEY,), port=0, workers=1, cors_origins=(origin,))
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        yield running


def _png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 80), "white").save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _reader_page(endpoint: Endpoint) -> bytes:
    """A page whose script reads a PNG through the emulator and writes what happened."""
    return f"""<!doctype html><html><body><pre id="out">working</pre><script>
const out = document.getElementById("out");
const bytes = Uint8Array.from(atob("{_png()}"), c => c.charCodeAt(0));
async function read() {{
  const submitted = await fetch("{endpoint.url}{ANALYZE}", {{
    method: "POST",
    headers: {{"Ocp-Apim-Subscription-Key": "{KEY}",
               "Content-Type": "application/octet-stream"}},
    body: bytes,
  }});
  const location = submitted.headers.get("Operation-Location");
  if (submitted.status !== 202 || !location) {{
    return "submitted " + submitted.status + " " + location;
  }}
  for (let i = 0; i < 200; i++) {{
    const polled = await fetch(location, {{headers: {{"Ocp-Apim-Subscription-Key": "{KEY}"}}}});
    const body = await polled.json();
    if (body.status === "succeeded" || body.status === "failed") {{
      return "done " + body.status + " " + body.analyzeResult.readResults.length;
    }}
    await new Promise(resolve => setTimeout(resolve, 50));
  }}
  return "timed out";
}}
read().then(text => {{ out.textContent = text; }},
            error => {{ out.textContent = "blocked " + error.name; }});
</script></body></html>""".encode()


def _outcome(browser: Any, url: str) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    element = browser.find_element(By.ID, "out")
    WebDriverWait(browser, 30).until(lambda _driver: element.text != "working")
    text: str = element.text
    return text


def test_a_page_on_an_allowed_origin_reads_a_document(
    endpoint: Endpoint, page_server: int, browser: Any
) -> None:
    _Page.page = _reader_page(endpoint)
    assert _outcome(browser, f"http://127.0.0.1:{page_server}/") == "done succeeded 1"


def test_a_page_on_another_origin_is_blocked(
    endpoint: Endpoint, page_server: int, browser: Any
) -> None:
    _Page.page = _reader_page(endpoint)
    # localhost is another origin than 127.0.0.1, though the same server.
    assert _outcome(browser, f"http://localhost:{page_server}/") == "blocked TypeError"


def test_the_preflight_needs_no_key_and_errors_carry_the_headers(
    endpoint: Endpoint, page_server: int
) -> None:
    origin = f"http://127.0.0.1:{page_server}"
    preflight = httpx.options(
        endpoint.url + ANALYZE,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "ocp-apim-subscription-key,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "ocp-apim-subscription-key" in allowed and "content-type" in allowed
    # A wrong key's 401 is readable by the page: it carries the headers, and exposes the id.
    refused = httpx.post(
        endpoint.url + ANALYZE,
        headers={"Origin": origin, "Ocp-Apim-Subscription-Key": "wrong"},
        content=b"x",
    )
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == origin
    exposed = refused.headers["access-control-expose-headers"].lower()
    assert "operation-location" in exposed and "retry-after" in exposed


def test_without_the_flag_no_origin_is_allowed() -> None:
    settings = Settings(api_keys=(KEY,), port=0, workers=1)
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        answer = httpx.options(
            running.url + ANALYZE,
            headers={"Origin": "http://127.0.0.1:1", "Access-Control-Request-Method": "POST"},
        )
    assert "access-control-allow-origin" not in answer.headers
    assert answer.status_code in (401, 405)


def test_origins_from_flags_and_environment() -> None:
    both = ["--api-key", "k", "--cors-origin", "https://a.example", "--cors-origin", "*"]
    assert load(both, {}).cors_origins == ("https://a.example", "*")
    environment = {"OCR_EMULATOR_CORS_ORIGIN": "http://[::1]:8080, https://b.example:8443"}
    assert load(["--api-key", "k"], environment).cors_origins == (
        "http://[::1]:8080",
        "https://b.example:8443",
    )
    for bad in ("https://a.example/", "a.example", "ftp://a.example", "https://a.example:x"):
        with pytest.raises(SettingsError, match="cors-origin"):
            load(["--api-key", "k", "--cors-origin", bad], {})
