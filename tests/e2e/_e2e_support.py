"""Helpers for the end-to-end tests: the shared key, a static-file HTTP handler, and
:func:`tests._process.ready_url` for the emulator processes they start."""

from __future__ import annotations

import contextlib
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from tests._process import ready_url

__all__ = ["E2E_KEY", "StaticFiles", "ready_url"]

E2E_KEY = "e2e-key-0123456789abcdef"


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
