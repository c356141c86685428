"""What ``python -m emulator`` says at start: where to click (the try-it page and Swagger UI)
in its one startup line, and, when the port is taken, which port and what to do instead of
a bare ``[Errno 98]``."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

LINE = re.compile(r"^OCR emulator \(Read v3\.2\) listening on (?P<url>https?://\S+)(?P<rest>.*)$")


def emulator(*args: str) -> list[str]:
    return [sys.executable, "-m", "emulator", "--workers", "1", *args]


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OCR_EMULATOR_")}


@contextlib.contextmanager
def taken_port(port: int = 0) -> Iterator[int]:
    """A port held by a listening socket of this process for the block."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def test_a_taken_port_is_named_with_what_to_do_and_exits_1() -> None:
    with taken_port() as port:
        done = subprocess.run(
            emulator("--port", str(port)),
            capture_output=True,
            text=True,
            env=environment(),
            timeout=120,
        )
    assert done.returncode == 1
    assert done.stdout == ""  # no startup line: it never listened
    assert done.stderr.strip() == (
        f"ocr-emulator: error: port {port} on 127.0.0.1 is already in use (another emulator?); "
        "pick another with --port or OCR_EMULATOR_PORT (0 picks a free one)"
    )
    assert "Traceback" not in done.stderr and "Errno" not in done.stderr


def test_port_5000_taken_mentions_airplay_and_the_environment_variable_works() -> None:
    # 5000 is the default port, and the one macOS's AirPlay Receiver holds. Here it is held by
    # this test, or, if something already had it, by that: taken either way.
    with contextlib.ExitStack() as stack:
        with contextlib.suppress(OSError):
            stack.enter_context(taken_port(5000))
        done = subprocess.run(
            emulator(),
            capture_output=True,
            text=True,
            env={**environment(), "OCR_EMULATOR_PORT": "5000"},
            timeout=120,
        )
    assert done.returncode == 1
    assert "port 5000 on 127.0.0.1 is already in use" in done.stderr
    assert "on macOS the AirPlay Receiver uses 5000" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_startup_line_gives_the_try_it_page_and_swagger_ui(
    processes: list[subprocess.Popen[str]],
) -> None:
    process = subprocess.Popen(
        emulator("--port", "0", "--api-key", "k"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    processes.append(process)
    assert process.stdout is not None
    line = process.stdout.readline().rstrip("\n")
    match = LINE.match(line)
    assert match, line
    url = match["url"]
    assert f" | try it: {url}/ | " in line
    assert f" | Swagger UI: {url}/swagger" in line
    # Both open in a browser without a key, while the engine may still be loading.
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=url) as http:
        while True:
            try:
                try_it, swagger = http.get("/"), http.get("/swagger")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail("the emulator never answered")
                time.sleep(0.1)
    assert try_it.status_code == 200 and "text/html" in try_it.headers["content-type"]
    assert swagger.status_code == 200 and "swagger" in swagger.text.lower()
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
