"""What the ``ocr`` command says when it cannot do its job: a refused key or an unreachable
service is reported once, with what to check, and stops the batch; a reader that goes away
(``| head``) ends the command quietly with status 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from _cli_support import run

from emulator.engine.fake import FakeEngine
from emulator.server import run_in_thread
from emulator.settings import Settings
from emulator.testing import RunningEmulator

OCR = Path(sys.executable).with_name("ocr")
WRONG_KEY = "wrong-key-0123456789abcdef"


@pytest.fixture
def pages(tmp_path: Path, text_png: Callable[[Sequence[str]], bytes]) -> list[Path]:
    """Five small printed pages."""
    folder = tmp_path / "pages"
    folder.mkdir()
    paths = []
    for number in range(1, 6):
        path = folder / f"page{number}.png"
        path.write_bytes(text_png([f"PAGE {number}"]))
        paths.append(path)
    return paths


class _Refusing(BaseHTTPRequestHandler):
    """Answers every request 401 with the gateway's body, and counts them."""

    def do_POST(self) -> None:
        # The whole upload first (the SDK streams a file in chunks), as the service does.
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while size := int(self.rfile.readline().split(b";")[0], 16):
                self.rfile.read(size + 2)  # the chunk and its CRLF
            self.rfile.readline()  # the CRLF after the last, empty chunk
        else:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests += 1  # type: ignore[attr-defined]
        body = json.dumps({"error": {"code": "401", "message": "Access denied"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def refusing() -> Iterator[ThreadingHTTPServer]:
    """A service that refuses every key; ``.requests`` counts what it was sent."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    server.requests = 0  # type: ignore[attr-defined]
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


# --- a refused key -------------------------------------------------------------------------------


def test_a_wrong_key_from_the_environment_is_reported_once_and_stops_the_batch(
    ocr_emulator: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
    pages: list[Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OCR_ENDPOINT", ocr_emulator.endpoint)
    monkeypatch.setenv("OCR_API_KEY", WRONG_KEY)
    argv = ["read", "--concurrency", "1", *map(str, pages)]
    status, out, err = run(argv, capsys)
    assert status == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"ocr: error: {ocr_emulator.endpoint} rejected the API key: 401:")
    assert "Access denied" in lines[0]
    assert lines[1].startswith("  the key came from $OCR_API_KEY; check that it is a key of")
    assert lines[2] == "ocr: stopped: read 0 of 5 documents; the others would fail the same way"
    assert len(lines) == 3  # once, not once per file
    assert "FAILED" not in err
    assert WRONG_KEY not in err  # the key is named by its source, never shown


def test_a_wrong_key_from_the_flag_names_the_flag(
    ocr_emulator: RunningEmulator, pages: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["read", "--endpoint", ocr_emulator.endpoint, "--api-key", WRONG_KEY, str(pages[0])]
    status, _out, err = run(argv, capsys)
    assert status == 1
    assert "the key came from --api-key;" in err
    assert "stopped" not in err  # one input: nothing else was left to stop
    assert WRONG_KEY not in err


def test_no_key_at_all_says_how_to_give_one(
    ocr_emulator: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
    pages: list[Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("OCR_API_KEY", raising=False)
    status, _out, err = run(["read", "--endpoint", ocr_emulator.endpoint, str(pages[0])], capsys)
    assert status == 1
    assert "rejected the API key: 401:" in err
    assert "no key was sent: pass --api-key or set OCR_API_KEY" in err


def test_the_batch_stops_instead_of_sending_every_document(
    refusing: ThreadingHTTPServer, pages: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = f"http://127.0.0.1:{refusing.server_address[1]}"
    argv = ["read", "--endpoint", endpoint, "--api-key", "k", "--concurrency", "2"]
    status, _out, err = run([*argv, *map(str, pages)], capsys)
    assert status == 1
    assert err.count("rejected the API key") == 1
    # Only the documents already in flight were sent, not all five.
    assert refusing.requests <= 2  # type: ignore[attr-defined]


# --- an unreachable service ----------------------------------------------------------------------


def test_nothing_listening_is_explained_once_without_a_traceback(
    pages: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = sock.getsockname()[1]
        argv = ["read", "--endpoint", f"http://127.0.0.1:{port}", "--api-key", "k"]
        status, _out, err = run([*argv, *map(str, pages[:3])], capsys)
    assert status == 1
    lines = err.splitlines()
    assert lines[0].startswith("ocr: error: cannot reach the service: POST http://127.0.0.1:")
    assert f"nothing is listening at 127.0.0.1:{port}; is the emulator" in lines[0]
    assert lines[1] == "ocr: stopped: read 0 of 3 documents; the others would fail the same way"
    assert len(lines) == 2
    assert "Traceback" not in err


def test_an_untrusted_certificate_says_to_pass_the_ca_bundle(
    tmp_path: Path, pages: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ca = tmp_path / "ca.pem"
    settings = Settings(api_keys=("k",), port=0, workers=1, tls=True, tls_ca_out=ca)
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as endpoint:
        argv = ["read", "--endpoint", endpoint.url, "--api-key", "k", str(pages[0])]
        status, _out, err = run(argv, capsys)
        assert status == 1
        assert "cannot reach the service:" in err
        assert "is not trusted" in err and "--ca-bundle" in err
        # ... and with it, the same command works.
        status, out, err = run([*argv[:1], "--ca-bundle", str(ca), *argv[1:]], capsys)
        assert status == 0, err
        assert out.startswith("PAGE ")


# --- a reader that goes away ---------------------------------------------------------------------


def _environment(service: RunningEmulator) -> dict[str, str]:
    return {**os.environ, "OCR_ENDPOINT": service.endpoint, "OCR_API_KEY": service.api_key}


def test_a_closed_stdout_ends_the_command_with_status_0_and_nothing_on_stderr(
    service: RunningEmulator, pages: list[Path]
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first result is written
    try:
        done = subprocess.run(
            [str(OCR), "read", "--format", "json", *map(str, pages[:3])],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_environment(service),
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 0
    assert done.stderr == ""


def test_piped_into_head_the_command_exits_0_without_a_traceback(
    service: RunningEmulator, pages: list[Path]
) -> None:
    command = subprocess.Popen(
        [str(OCR), "read", *map(str, pages)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(service),
    )
    head = subprocess.Popen(["head", "-c", "1"], stdin=command.stdout, stdout=subprocess.PIPE)
    assert command.stdout is not None
    command.stdout.close()  # head holds the only reading end
    first, _ = head.communicate(timeout=120)
    _, err = command.communicate(timeout=120)
    assert first == b"="  # "==> page1.png <=="
    assert command.returncode == 0
    assert b"Traceback" not in err and b"BrokenPipe" not in err
