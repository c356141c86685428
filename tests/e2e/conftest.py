"""End-to-end fixtures: a localhost file server for URL reads."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from _e2e_support import StaticFiles


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
