"""The command line: ``python -m emulator`` prints one startup line, serves, and exits 0 on
SIGTERM/SIGINT; bad options exit 2 with a clear message."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

LINE = re.compile(r"^OCR emulator \(Read v3\.2\) listening on (?P<url>https?://\S+)(?P<rest>.*)$")


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OCR_EMULATOR_")}
    environment.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--workers", "1", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def wait_ready(url: str, **client: object) -> None:
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=url, **client) as http:  # type: ignore[arg-type]
        while time.monotonic() < deadline:
            try:
                if http.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise AssertionError("the emulator never became ready")


def test_startup_line_generated_key_and_sigterm(processes: list[subprocess.Popen[str]]) -> None:
    process = start()
    processes.append(process)
    assert process.stdout is not None
    line = process.stdout.readline().rstrip("\n")
    match = LINE.match(line)
    assert match, line
    url = match["url"]
    key_match = re.search(r"API key: (\S+)", match["rest"])
    assert key_match, line
    assert "CA certificate" not in line
    wait_ready(url)
    with httpx.Client(base_url=url) as http:
        assert http.get("/status").json()["workers"] == 1
        unknown = "/vision/v3.2/read/analyzeResults/00000000-0000-4000-8000-000000000000"
        headers = {"Ocp-Apim-Subscription-Key": key_match[1]}
        assert http.get(unknown, headers=headers).status_code == 404
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert process.stdout.read() == ""  # exactly one line on stdout
    assert process.stderr is not None
    logs = process.stderr.read()
    assert key_match[1] not in logs  # the key never reaches the logs
    assert "Traceback" not in logs


def test_sigint_also_shuts_down_cleanly(processes: list[subprocess.Popen[str]]) -> None:
    process = start("--api-key", "given-key")
    processes.append(process)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "API key" not in line  # only a generated key is printed
    url = LINE.match(line.rstrip("\n"))["url"]  # type: ignore[index]
    wait_ready(url)
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0


def test_tls_from_the_environment_prints_the_ca(
    processes: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    import ssl

    ca = tmp_path / "out" / "ca.pem"
    process = start(
        env={"OCR_EMULATOR_TLS": "1", "OCR_EMULATOR_TLS_CA_OUT": str(ca),
             "OCR_EMULATOR_API_KEY": "env-key"}
    )  # fmt: skip
    processes.append(process)
    assert process.stdout is not None
    line = process.stdout.readline().rstrip("\n")
    match = LINE.match(line)
    assert match and match["url"].startswith("https://"), line
    assert f"CA certificate: {ca}" in line
    wait_ready(match["url"], verify=ssl.create_default_context(cafile=str(ca)))
    process.terminate()
    assert process.wait(30) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "allow-insecure-http"),
        (["--retention", "9d"], "7d"),
        (["--tier", "gold"], "invalid choice"),
    ],
)
def test_bad_options_exit_2(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_port_in_use_is_a_clear_error() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "emulator", "--port", str(port), "--api-key", "k"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "ocr-emulator: error:" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_script_is_declared() -> None:
    import tomllib

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    scripts = tomllib.loads(pyproject.read_text())["project"]["scripts"]
    assert scripts["ocr-emulator"] == "emulator.cli:main"


@pytest.mark.parametrize("size", [0, 5, 33])
def test_encryption_key_file_of_the_wrong_size_exits_2_with_one_line(
    tmp_path: Path, size: int
) -> None:
    key_file = tmp_path / "key.bin"
    key_file.write_bytes(b"k" * size)
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--port", "0", "--encryption-key-file", str(key_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    assert lines[0].startswith("ocr-emulator: error: ")
    assert str(key_file) in lines[0] and "32 bytes" in lines[0]
    assert result.stdout == ""
