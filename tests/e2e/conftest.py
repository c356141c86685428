"""End-to-end fixtures: the emulator with the real engine, Microsoft's Document Intelligence
client for it, headless Chromium, a localhost file server for URL reads, and emulator
processes a test starts."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from _e2e_support import E2E_KEY, StaticFiles
from azure.ai.documentintelligence import DocumentIntelligenceClient
from azure.core.credentials import AzureKeyCredential

from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings
from tests._browser import chromium


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    """The emulator with the real RapidOCR engine on a real socket (one for each module that
    asks: the engine is loaded once a module)."""
    settings = Settings(api_keys=(E2E_KEY,), port=0, workers=1)
    with run_in_thread(settings) as running:
        yield running


@pytest.fixture
def di(endpoint: Endpoint) -> Iterator[DocumentIntelligenceClient]:
    """Microsoft's Document Intelligence client (2024-11-30) for :func:`endpoint`."""
    with DocumentIntelligenceClient(endpoint.url, AzureKeyCredential(E2E_KEY)) as client:
        yield client


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's headless Chromium (skipped without it; see :mod:`tests._browser`)."""
    with chromium(tmp_path_factory.mktemp("chromium")) as driver:
        yield driver


@pytest.fixture
def file_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A localhost HTTP server; yields its base URL and the dict of files it serves."""
    files: dict[str, bytes] = {}
    handler = type("Handler", (StaticFiles,), {"files": files})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", files
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Emulator processes a test starts; killed (if still running) and reaped after it."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()
