"""The ``ocr`` command: ``main(argv)`` in-process against the session's emulator (the
``ocr_emulator`` fixture), and the installed console script in a subprocess for
``--emulator`` and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from _cli_support import run

from emulator.testing import RunningEmulator
from ocr_sdk import cli
from ocr_sdk.cli import UsageError, expand_inputs, output_names

OCR = Path(sys.executable).with_name("ocr")
CORRUPT = b"\x89PNG\r\n\x1a\n" + b"this is not a png" * 8


@pytest.fixture
def folder(tmp_path: Path, png: Callable[..., bytes]) -> Path:
    """Blank pages (quick to OCR), one in a subfolder, a corrupt one and a non-document."""
    root = tmp_path / "scans"
    (root / "sub").mkdir(parents=True)
    (root / "a.png").write_bytes(png(120, 60))
    (root / "sub" / "b.png").write_bytes(png(140, 60))
    (root / "corrupt.png").write_bytes(CORRUPT)
    (root / "notes.txt").write_text("not a document")
    return root


# --- reading -------------------------------------------------------------------------------------


def test_text_of_one_file_from_the_environment(
    service: RunningEmulator, hello: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["read", str(hello)], capsys)
    assert status == 0, err
    assert out.split() == ["HELLO", "42"]
    assert err == ""  # no summary for a single success


def test_flags_win_over_the_environment(
    ocr_emulator: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
    png: Callable[..., bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OCR_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("OCR_API_KEY", "wrong")
    page = tmp_path / "page.png"
    page.write_bytes(png())
    argv = ["read", "--endpoint", ocr_emulator.endpoint, "--api-key", ocr_emulator.api_key]
    status, _out, err = run([*argv, str(page)], capsys)
    assert status == 0, err


def test_json_is_the_service_wire_format(
    service: RunningEmulator,
    hello: Path,
    validate: Callable[[str, Any], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(
        ["read", "--format", "json", "--reading-order", "natural", str(hello)], capsys
    )
    assert status == 0, err
    body = json.loads(out)
    validate("ReadOperationResult", body)
    assert body["status"] == "succeeded"
    [page] = body["analyzeResult"]["readResults"]
    assert " ".join(line["text"] for line in page["lines"]).split() == ["HELLO", "42"]


def test_a_folder_with_a_corrupt_file_lists_the_failure_and_exits_1(
    service: RunningEmulator, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["read", "--concurrency", "2", str(folder)], capsys)
    assert status == 1
    # Results on stdout in input order (sorted paths), whatever order they completed in.
    assert out.splitlines()[0] == f"==> {folder / 'a.png'} <=="
    assert f"==> {folder / 'sub' / 'b.png'} <==" in out
    assert "corrupt.png" not in out and "notes.txt" not in out
    assert "read 2 of 3 documents, 1 failed" in err
    assert f"FAILED {folder / 'corrupt.png'}: InvalidImageFormat:" in err


def test_output_writes_one_file_per_input(
    service: RunningEmulator, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "corrupt.png").unlink()
    out_dir = tmp_path / "out"
    status, out, err = run(
        ["read", "--format", "json", "--output", str(out_dir), str(folder)], capsys
    )
    assert status == 0, err
    assert out == ""
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.png.json", "b.png.json"]
    body = json.loads((out_dir / "b.png.json").read_text())
    assert body["analyzeResult"]["readResults"][0]["width"] == 140
    assert "read 2 of 2 documents, 0 failed" in err


def test_several_inputs_as_json_lines_name_their_input(
    service: RunningEmulator, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = folder / "a.png", folder / "sub" / "b.png"
    status, out, _err = run(["read", "--format", "json", str(b), str(a)], capsys)
    assert status == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["input"] for line in lines] == [str(b), str(a)]
    assert [line["result"]["status"] for line in lines] == ["succeeded", "succeeded"]


def test_a_url_is_fetched_by_the_service(
    service: RunningEmulator, png: Callable[..., bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    document = png(160, 80)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/docs/page.png"
        status, out, err = run(["read", "--format", "json", url], capsys)
    finally:
        server.shutdown()
        server.server_close()
    assert status == 0, err
    assert json.loads(out)["analyzeResult"]["readResults"][0]["width"] == 160


def test_the_progress_bar_goes_to_stderr(
    service: RunningEmulator, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "corrupt.png").unlink()
    status, _out, err = run(
        ["read", "--progress", "--output", str(tmp_path / "o"), str(folder)], capsys
    )
    assert status == 0
    assert "2/2" in err


def test_embedded_emulator_in_process(
    hello: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OCR_ENDPOINT", raising=False)
    status, out, err = run(["read", "--emulator", str(hello)], capsys)
    assert status == 0, err
    assert out.split() == ["HELLO", "42"]


def test_the_console_script_with_an_embedded_emulator(folder: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCR_")}
    done = subprocess.run(
        [
            str(OCR),
            "read",
            "--emulator",
            "--format",
            "json",
            "--output",
            str(tmp_path / "o"),
            str(folder),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a.png.json", "b.png.json"]
    assert "FAILED" in done.stderr and "InvalidImageFormat" in done.stderr
    assert "Traceback" not in done.stderr


# --- Ctrl-C --------------------------------------------------------------------------------------


def test_ctrl_c_stops_cleanly_with_status_130(png: Callable[..., bytes], tmp_path: Path) -> None:
    arrived = threading.Event()

    class Stuck(BaseHTTPRequestHandler):
        """Takes the upload and never answers, so the command is mid-request."""

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            arrived.set()
            self.server.release.wait(30)  # type: ignore[attr-defined]

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stuck)
    server.release = threading.Event()  # type: ignore[attr-defined]
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = tmp_path / "page.png"
    page.write_bytes(png())
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    process = subprocess.Popen(
        [str(OCR), "read", "--endpoint", endpoint, "--api-key", "k", str(page)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert arrived.wait(30), "the command never sent its request"
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()
    assert process.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err


# --- usage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["read", "{page}"], "no endpoint"),
        (
            ["read", "--endpoint", "http://127.0.0.1:9", "--concurrency", "0", "{page}"],
            "--concurrency",
        ),
        (["read", "--endpoint", "http://127.0.0.1:9", "{missing}"], "no such file"),
        (["read", "--endpoint", "http://127.0.0.1:9", "{empty}"], "no documents in folder"),
        (["read", "--endpoint", "http://127.0.0.1:9", "{glob}"], "no file matches"),
        (["read", "--endpoint", "ftp://example.com", "{page}"], "http"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    argv: list[str],
    message: str,
    tmp_path: Path,
    png: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("OCR_ENDPOINT", raising=False)
    page = tmp_path / "page.png"
    page.write_bytes(png())
    (tmp_path / "empty").mkdir()
    values = {
        "page": str(page),
        "missing": str(tmp_path / "missing.png"),
        "empty": str(tmp_path / "empty"),
        "glob": str(tmp_path / "*.tif"),
    }
    status, out, err = run([arg.format(**values) for arg in argv], capsys)
    assert status == 2
    assert out == ""
    assert err.startswith("ocr: error:") and message in err


def test_ca_bundle_and_insecure_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = run(["read", "--ca-bundle", "ca.pem", "--insecure", "x.png"], capsys)
    assert status == 2
    assert "not allowed with" in err


def test_without_the_cli_extra_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    status, _out, err = run(["read", "x.png"], capsys)
    assert status == 2
    assert "pip install 'ocr-sdk[cli]'" in err


def test_emulator_without_its_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, hello: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "emulator.testing", None)
    status, _out, err = run(["read", "--emulator", str(hello)], capsys)
    assert status == 2
    assert "--emulator needs the emulator extra: pip install 'ocr-sdk[emulator]'" in err


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _err = run(["read", "--help"], capsys)
    assert status == 0
    for option in (
        "--emulator",
        "--pages",
        "--language",
        "--reading-order",
        "--format",
        "--output",
        "--concurrency",
    ):
        assert option in out


def test_importing_ocr_sdk_does_not_import_the_cli() -> None:
    code = "import sys, ocr_sdk; print('ocr_sdk.cli' in sys.modules, 'tqdm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --- inputs and output names ---------------------------------------------------------------------


def test_inputs_expand_folders_recursively_and_globs(tmp_path: Path) -> None:
    (tmp_path / "d" / "deep").mkdir(parents=True)
    (tmp_path / "d" / ".hidden").mkdir()
    for name in (
        "d/x.PNG",
        "d/deep/y.pdf",
        "d/z.txt",
        "d/.hidden/h.png",
        "d/.dot.png",
        "g1.tif",
        "g2.tif",
    ):
        (tmp_path / name).write_bytes(b"")
    inputs = expand_inputs(
        [
            str(tmp_path / "d"),
            str(tmp_path / "g*.tif"),
            "https://example.com/a.pdf",
            str(tmp_path / "d" / "x.PNG"),
        ]
    )
    assert [item.name for item in inputs] == [
        str(tmp_path / "d" / "deep" / "y.pdf"),
        str(tmp_path / "d" / "x.PNG"),
        str(tmp_path / "g1.tif"),
        str(tmp_path / "g2.tif"),
        "https://example.com/a.pdf",
    ]  # x.PNG named twice is read once
    assert inputs[-1].url == "https://example.com/a.pdf" and inputs[-1].path is None


def test_a_file_named_explicitly_is_sent_whatever_its_suffix(tmp_path: Path) -> None:
    (tmp_path / "scan.dat").write_bytes(b"")
    assert [i.path for i in expand_inputs([str(tmp_path / "scan.dat")])] == [tmp_path / "scan.dat"]
    with pytest.raises(UsageError):
        expand_inputs([str(tmp_path / "nope.png")])


def test_output_names_are_distinct_and_stay_in_the_folder() -> None:
    inputs = [
        cli.Input("a/x.png", path=Path("a/x.png")),
        cli.Input("b/x.png", path=Path("b/x.png")),
        cli.Input("x.pdf", path=Path("x.pdf")),
        cli.Input("u", url="https://h.example/docs/..%2F..%2Fetc"),
        cli.Input("v", url="https://h.example/"),
    ]
    assert output_names(inputs, "txt") == [
        "x.png.txt",
        "x.png-2.txt",
        "x.pdf.txt",
        "_.._etc.txt",
        "url.txt",
    ]
