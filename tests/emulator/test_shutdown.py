"""Graceful shutdown: on SIGTERM a real emulator process takes no more work, finishes the page
it is reading (the whole job, when there is time) and exits 0 within ``--shutdown-timeout``;
past the timeout the job is cut short and left to resume, never lost or failed."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from emulator.clock import utc_now
from emulator.engine.fake import FakeEngine
from emulator.jobs import JobRunner, ThreadJobQueue
from emulator.security.crypto import KEY_FILE_NAME, RecordCipher, load_or_create_key
from emulator.settings import TIER_LIMITS, SettingsError, load
from emulator.store import Job, JobOptions, MemoryStore, SqliteStore
from tests._process import ready_url
from tests.emulator import _slow_node as slow_node

ROOT = Path(__file__).resolve().parents[2]
KEY = "shutdown-key-0123456789"
ANALYZE = "/vision/v3.2/read/analyze"


def _tiff(pages: int) -> bytes:
    frames = [Image.new("RGB", (100 + 10 * i, 80), "white") for i in range(pages)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def _start(data_dir: Path, page_seconds: float, *flags: str) -> subprocess.Popen[str]:
    """The emulator command with a fake engine taking ``page_seconds`` a page."""
    common = ("--api-key", KEY, "--data-dir", str(data_dir), "--log-format", "json")
    return slow_node.start(page_seconds, *common, *flags)


def _submit_and_wait_running(url: str, pages: int) -> str:
    """Submit a ``pages``-page document; return its operation id once it is running."""
    with httpx.Client(base_url=url, headers={"Ocp-Apim-Subscription-Key": KEY}) as client:
        response = client.post(
            ANALYZE, content=_tiff(pages), headers={"Content-Type": "application/octet-stream"}
        )
        assert response.status_code == 202, response.text
        location = response.headers["Operation-Location"]
        deadline = time.monotonic() + 30
        while client.get(location).json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return location.rsplit("/", 1)[-1]


def _terminate(process: subprocess.Popen[str]) -> tuple[int, float, list[dict[str, Any]]]:
    """SIGTERM the process; its exit status, how long it took to exit, its JSON log lines."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    elapsed = time.monotonic() - started
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return process.returncode, elapsed, lines


def _stored(data_dir: Path, job_id: str) -> Job:
    cipher = RecordCipher(load_or_create_key(data_dir / KEY_FILE_NAME))
    store = SqliteStore(cipher, data_dir)
    try:
        job = store.get(job_id)
    finally:
        store.close()
    assert job is not None
    return job


@pytest.mark.timeout(180)
def test_sigterm_lets_the_running_job_finish_then_exits(tmp_path: Path) -> None:
    process = _start(tmp_path, 1.5, "--shutdown-timeout", "30s")
    try:
        url = ready_url(process, 120.0)
        job_id = _submit_and_wait_running(url, pages=3)
        status, elapsed, lines = _terminate(process)
    finally:
        process.kill()
    assert status == 0
    # About 4.5 s of pages: finished well within the 30 s allowed, not cut off at it.
    assert elapsed < 20, elapsed
    job = _stored(tmp_path, job_id)
    assert job.status == "succeeded" and job.pages_done == 3
    states = [line["state"] for line in lines if line.get("operation") == job_id]
    assert states == ["notStarted", "running", "succeeded"], states


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "sent",
    [signal.SIGINT, signal.SIGTERM],
    ids=["ctrl-c in a terminal", "systemd's default stop"],
)
def test_a_signal_to_the_whole_process_group_still_lets_the_job_finish(
    tmp_path: Path, sent: signal.Signals
) -> None:
    # Ctrl-C signals every process of the terminal's group, systemd's KillMode=control-group
    # every process of the unit: the decoders and workers must leave stopping to the emulator.
    process = _start(tmp_path, 1.0, "--shutdown-timeout", "30s")
    try:
        url = ready_url(process, 120.0)
        job_id = _submit_and_wait_running(url, pages=3)
        os.killpg(process.pid, sent)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr[-2000:]
    job = _stored(tmp_path, job_id)
    assert job.status == "succeeded" and job.pages_done == 3, stderr[-3000:]


def test_only_the_fork_server_ignores_sigterm_and_sigint() -> None:
    # The rule is set by a module the decoders' fork server alone imports: a process that
    # starts decoders (the emulator) still stops on SIGTERM, and a decoder ignores it. A child
    # of the fork server ignores both from its first instruction: one that raises them at
    # once, before any code of ours runs in it, exits 0 (with Python's default SIGINT handler
    # it would end in KeyboardInterrupt, exit code 1).
    script = """
import os, signal, sys, time
from emulator.documents import decoding
decoder = decoding.DecoderProcess()
try:
    os.kill(decoder.process.pid, signal.SIGTERM)
    time.sleep(0.5)
    print(decoder.process.is_alive(), "emulator.documents.fork_server" in sys.modules,
          signal.getsignal(signal.SIGTERM) is signal.SIG_IGN)
finally:
    decoder.close()
for sent in (signal.SIGINT, signal.SIGTERM):
    child = decoding._CONTEXT.Process(target=signal.raise_signal, args=(sent,))
    child.start()
    child.join(30)
    print(child.exitcode)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.stdout.split() == ["True", "False", "False", "0", "0"], done.stderr


@pytest.mark.timeout(180)
def test_sigterm_past_the_timeout_cuts_the_job_short_and_leaves_it_to_resume(
    tmp_path: Path,
) -> None:
    process = _start(tmp_path, 6.0, "--shutdown-timeout", "1s")
    try:
        url = ready_url(process, 120.0)
        job_id = _submit_and_wait_running(url, pages=3)
        status, elapsed, lines = _terminate(process)
    finally:
        process.kill()
    assert status == 0
    # 1 s allowed, a moment for the worker to notice, and its process is killed mid-page:
    # far less than the 18 s the job needs.
    assert elapsed < 10, elapsed
    job = _stored(tmp_path, job_id)
    assert job.status == "notStarted" and job.pages_done == 0  # resumed at the next start
    states = [line["state"] for line in lines if line.get("operation") == job_id]
    assert states == ["notStarted", "running", "notStarted"], states


def _job(store: MemoryStore, pages: int) -> str:
    job = Job(
        id=str(uuid.uuid4()),
        status="notStarted",
        created=utc_now(),
        updated=utc_now(),
        options=JobOptions(pages=tuple(range(1, pages + 1))),
    )
    store.create(job, _tiff(pages))
    return job.id


def test_a_draining_queue_takes_no_more_work_and_lets_the_running_job_finish() -> None:
    gate = threading.Event()
    engine = FakeEngine(gate=gate)
    store = MemoryStore(RecordCipher.generate())
    runner = JobRunner(store, utc_now, TIER_LIMITS["paid"], timedelta(hours=1))
    queue = ThreadJobQueue(lambda _n: engine, workers=1, intra_op_threads=1, capacity=5)
    queue.start(runner)
    try:
        running, waiting = _job(store, 2), _job(store, 1)
        queue.submit(running)
        queue.submit(waiting)
        deadline = time.monotonic() + 5
        while engine.calls == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        queue.drain()
        assert not queue.wait_idle(0.2)  # held at its first page
        gate.set()
        assert queue.wait_idle(5)
        assert store.get(running).status == "succeeded"  # type: ignore[union-attr]
        assert store.get(waiting).status == "notStarted"  # type: ignore[union-attr]
        assert engine.calls == 2
    finally:
        gate.set()
        queue.stop()


def test_the_shutdown_timeout_option() -> None:
    assert load(["--api-key", "k"]).shutdown_timeout == 30.0
    assert load(["--api-key", "k", "--shutdown-timeout", "2m"]).shutdown_timeout == 120.0
    environ = {"OCR_EMULATOR_SHUTDOWN_TIMEOUT": "0"}
    assert load(["--api-key", "k"], environ).shutdown_timeout == 0.0
    with pytest.raises(SettingsError):
        load(["--api-key", "k", "--shutdown-timeout", "soon"])
