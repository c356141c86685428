"""The emulator process killed with SIGKILL in the middle of jobs (``--data-dir``, the real OCR
engine): after a restart every accepted job ends ``succeeded`` or ``failed``, none is left
``running`` or ``notStarted``, a result finished before the crash reads the same, and no file
under the data directory holds the documents' text or the API key."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from _e2e_support import ready_url
from PIL.PngImagePlugin import PngInfo

from tests.conftest import encode, text_image

ANALYZE = "/vision/v3.2/read/analyze"
FINISHED = {"succeeded", "failed"}
JOBS = 4


def _start(data_dir: Path, key: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OCR_EMULATOR_")}
    return subprocess.Popen(
        [
            sys.executable, "-m", "emulator", "--port", "0", "--workers", "1",
            "--api-key", key, "--data-dir", str(data_dir), "--log-level", "debug",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )  # fmt: skip


def _document(secret: str, number: int) -> bytes:
    """A page of printed text; the secret is also in a tEXt chunk, so the document's own
    bytes contain it verbatim."""
    info = PngInfo()
    info.add_text("Comment", f"{secret} document {number}")
    image = text_image([f"INVOICE {number} {secret[:12]}", "TOTAL 4711 EUR"], size=(700, 200))
    return encode(image, "PNG", pnginfo=info)


def _poll(client: httpx.Client, location: str, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while True:
        body: dict[str, Any] = client.get(location).json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (Linux ``/proc``; empty elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _wait_gone(pids: list[int], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    for pid in pids:
        while Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
            assert time.monotonic() < deadline, f"process {pid} outlived the killed emulator"
            time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def _texts(body: dict[str, Any]) -> list[str]:
    return [
        line["text"]
        for page in body.get("analyzeResult", {}).get("readResults", [])
        for line in page["lines"]
    ]


@pytest.mark.timeout(400)
def test_sigkill_mid_jobs_then_restart_loses_nothing_and_leaves_no_plaintext(
    processes: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    key = "crash-key-" + secrets.token_hex(8)
    secret = "ZEBRA" + secrets.token_hex(6).upper()
    headers = {"Ocp-Apim-Subscription-Key": key}
    binary = {**headers, "Content-Type": "application/octet-stream"}

    first = _start(data_dir, key)
    processes.append(first)
    url = ready_url(first)
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        done = client.post(ANALYZE, content=_document(secret, 0), headers=binary)
        assert done.status_code == 202
        finished_before = _poll(client, done.headers["Operation-Location"], FINISHED)
        assert finished_before["status"] == "succeeded"
        locations = []
        for number in range(1, JOBS + 1):
            response = client.post(ANALYZE, content=_document(secret, number), headers=binary)
            assert response.status_code == 202
            locations.append(response.headers["Operation-Location"])
        # Kill once the worker is inside a job, with the rest still queued behind it.
        _poll(client, locations[0], {"running", *FINISHED})
        children = _children(first.pid)
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        _wait_gone(children)  # worker processes do not outlive the emulator
        first_logs = first.stderr.read() if first.stderr else ""

    second = _start(data_dir, key)
    processes.append(second)
    url = ready_url(second)
    texts: list[str] = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        # The new process listens on another port: keep only the path of each location.
        again = client.get(urlsplit(done.headers["Operation-Location"]).path)
        assert again.json() == finished_before  # finished before the crash: still the same
        outcomes = []
        for location in locations:
            body = _poll(client, urlsplit(location).path, FINISHED)
            outcomes.append(body["status"])
            texts.extend(_texts(body))
        assert all(status in FINISHED for status in outcomes)
        assert outcomes.count("succeeded") == JOBS  # the engine reads every one of these
        texts.extend(_texts(finished_before))
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0
    second_logs = second.stderr.read() if second.stderr else ""

    # At rest: nothing under the data directory holds the documents' text or the key.
    assert any("4711" in text for text in texts), texts  # real text was recognised
    needles = {secret, key, *(text for text in texts if len(text) >= 6)}
    files = [path for path in data_dir.rglob("*") if path.is_file()]
    assert files
    for path in files:
        content = path.read_bytes()
        for needle in needles:
            for encoded in (needle.encode(), needle.encode("utf-16-le")):
                assert encoded not in content, (path.name, needle)
    for logs in (first_logs, second_logs):
        assert key not in logs and secret not in logs
    assert "Traceback" not in second_logs  # the killed process could not say goodbye
