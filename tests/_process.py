"""Emulator processes the tests start (``python -m emulator``, a slowed-down node): the URL a
process printed on its start-up line, once it is ready."""

from __future__ import annotations

import re
import subprocess
import time

import httpx

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
