"""Every example script runs as a user would run it, in a subprocess, and says what it should.

Each script starts its own embedded emulator (real OCR on the shipped sample page), as it
does for a user with nothing set up. The ``OCR_ENDPOINT`` branch of the scripts is run
against one emulator started here, which also proves the script used it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings
from ocr_sdk import OcrClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
SAMPLE_LINES = (
    "This is a lot of 12 point text to test the",
    "The quick brown dog jumped over the",
)

#: The scripts tested here; a new example without a test fails the coverage test below.
SCRIPTS = {"quickstart.py", "async_read.py", "batch.py", "resume.py", "azure_client.py"}


def run(
    script: str, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("OCR_ENDPOINT", "OCR_API_KEY")}
    environment.update(env or {})
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=environment,
        cwd=EXAMPLES.parent,
    )
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed


def assert_sample_text(stdout: str) -> None:
    for line in SAMPLE_LINES:
        assert line in stdout, stdout


def test_every_example_script_is_tested() -> None:
    scripts = {
        path.name
        for path in EXAMPLES.glob("*.py")
        if not path.name.startswith("_")
        and not path.name.startswith("test_")
        and path.name != "conftest.py"
    }
    assert scripts == SCRIPTS


def test_quickstart() -> None:
    out = run("quickstart.py").stdout
    assert out.startswith("--- page 1 (640x480 pixel, angle ")
    assert_sample_text(out)


def test_async_read_reports_status_then_text() -> None:
    out = run("async_read.py").stdout
    statuses = re.findall(rf"^operation {UUID}: (\w+)$", out, re.MULTILINE)
    assert statuses[0] == "notStarted" and statuses[-1] == "succeeded"
    assert re.search(r"^--- page 1: 8 lines, \d+ words$", out, re.MULTILINE), out
    assert_sample_text(out)


def test_batch_reads_every_strip_and_summarises() -> None:
    out = run("batch.py").stdout
    done = re.findall(r"^\[(\d)/3\] (strip-\d\.png): (\d+) lines", out, re.MULTILINE)
    assert sorted(name for _, name, _ in done) == ["strip-1.png", "strip-2.png", "strip-3.png"]
    assert [count for count, _, _ in done] == ["1", "2", "3"]  # progress counts up
    assert all(int(lines) >= 2 for _, _, lines in done)
    assert "read 3 of 3 documents in" in out


def test_resume_picks_up_the_operation_with_a_new_client() -> None:
    out = run("resume.py").stdout
    submitted = re.search(rf"^submitted sample\.tif: operation ({UUID}) \(\w+\)$", out, re.M)
    assert submitted, out
    assert f"resumed {submitted[1]}: succeeded, 1 page(s)" in out
    assert "get_read_result: succeeded" in out
    assert_sample_text(out)


def test_official_client() -> None:
    out = run("azure_client.py").stdout
    assert re.match(rf"operation {UUID}\nstatus succeeded\n", out), out
    assert "1 'This is a lot of 12 point text to test the' [" in out
    assert out.rstrip().endswith("unknown operation: NotFound")


# --- OCR_ENDPOINT: the scripts use the service they are given -----------------------------


@pytest.fixture(scope="module")
def service() -> Iterator[Endpoint]:
    with run_in_thread(Settings(api_keys=("shared-key",), port=0, workers=1)) as endpoint:
        yield endpoint


def endpoint_env(service: Endpoint) -> dict[str, str]:
    return {"OCR_ENDPOINT": service.url, "OCR_API_KEY": service.api_key}


def test_resume_uses_ocr_endpoint(service: Endpoint) -> None:
    out = run("resume.py", env=endpoint_env(service)).stdout
    submitted = re.search(rf"operation ({UUID})", out)
    assert submitted, out
    # The operation lives in this test's emulator, so the script did not start its own.
    with OcrClient(service.url, service.api_key) as client:
        assert client.get_read_result(submitted[1]).status == "succeeded"


def test_official_client_uses_ocr_endpoint(service: Endpoint) -> None:
    out = run("azure_client.py", env=endpoint_env(service)).stdout
    operation = re.match(rf"operation ({UUID})", out)
    assert operation, out
    with OcrClient(service.url, service.api_key) as client:
        assert client.get_read_result(operation[1]).status == "succeeded"


def test_batch_lists_failures_and_exits_non_zero(service: Endpoint, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    missing = tmp_path / "missing.png"
    completed = run(
        "batch.py",
        str(EXAMPLES / "sample.tif"),
        str(broken),
        str(missing),
        env=endpoint_env(service),
        check=False,
    )
    out = completed.stdout
    assert completed.returncode == 1, completed.stderr
    assert re.search(r"^\[\d/3\] broken\.png: FAILED InvalidImageFormat$", out, re.M), out
    assert re.search(r"^\[\d/3\] missing\.png: FAILED FileNotFoundError$", out, re.M), out
    assert re.search(r"^\[\d/3\] sample\.tif: 8 lines, 'This is a lot", out, re.M), out
    assert "read 1 of 3 documents in" in out
    assert sorted(re.findall(r"^failed: (.+)$", out, re.M)) == ["broken.png", "missing.png"]


def test_wrong_key_from_the_environment_fails_loudly(service: Endpoint) -> None:
    env = {"OCR_ENDPOINT": service.url, "OCR_API_KEY": "not-the-key"}
    completed = run("resume.py", env=env, check=False)
    assert completed.returncode != 0
    assert "AuthenticationError" in completed.stderr
