"""Helpers for the end-to-end tests: the shared key and a static-file HTTP handler."""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import httpx

E2E_KEY = "e2e-key-0123456789abcdef"
LISTENING = re.compile(r"listening on (?P<url>https?://\S+)")


def ready_url(process: subprocess.Popen[str], timeout: float = 180.0) -> str:
    """The URL an emulator process printed in its startup line, once ``/ready`` answers 200."""
    assert process.stdout is not None
    line = process.stdout.readline()
    match = LISTENING.search(line)
    assert match, line
    url = match["url"]
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url) as http:
        while time.monotonic() < deadline:
            try:
                if http.get("/ready").status_code == 200:
                    return url
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise AssertionError("the emulator never became ready")


class StaticFiles(BaseHTTPRequestHandler):
    """Serves ``files`` (path -> bytes) over plain HTTP on localhost."""

    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body or b"")

    def log_message(self, *args: Any) -> None:
        pass
