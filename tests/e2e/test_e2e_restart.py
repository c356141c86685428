"""Restart with ``--data-dir`` on a real socket: finished results survive, and a job cut off by
the shutdown is resumed by the next process and finishes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from emulator.engine.fake import FakeEngine
from emulator.server import run_in_thread
from emulator.settings import Settings

KEY = "restart-key-0123456789"
HEADERS = {"Ocp-Apim-Subscription-Key": KEY}


def _submit(client: httpx.Client, data: bytes) -> str:
    response = client.post(
        "/vision/v3.2/read/analyze",
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 202, response.text
    return str(response.headers["Operation-Location"].rsplit("/", 1)[-1])


def _wait_for(client: httpx.Client, operation_id: str, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = client.get(f"/vision/v3.2/read/analyzeResults/{operation_id}").json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.02)


def test_restart_keeps_results_and_resumes_unfinished_jobs(
    tmp_path: Path, png: Callable[..., bytes], multipage_tiff: Callable[[int], bytes]
) -> None:
    gate = threading.Event()
    gate.set()
    first_engine = FakeEngine(gate=gate)
    settings = Settings(api_keys=(KEY,), port=0, workers=1, data_dir=tmp_path)

    with run_in_thread(settings, engine_factory=lambda _n: first_engine) as endpoint:
        with httpx.Client(base_url=endpoint.url, headers=HEADERS) as client:
            finished = _submit(client, png(250, 125))
            finished_body = _wait_for(client, finished, {"succeeded"})
            gate.clear()
            cut_off = _submit(client, multipage_tiff(3))
            _wait_for(client, cut_off, {"running"})
        # Let the page in progress complete once shutdown has begun; the runner then stops
        # before the next page and puts the job back in the queue.
        threading.Timer(0.5, gate.set).start()

    with (
        run_in_thread(settings, engine_factory=lambda _n: FakeEngine()) as endpoint,
        httpx.Client(base_url=endpoint.url, headers=HEADERS) as client,
    ):
        assert _wait_for(client, finished, {"succeeded"}) == finished_body
        resumed = _wait_for(client, cut_off, {"succeeded", "failed"})
        assert resumed["status"] == "succeeded"
        assert [p["page"] for p in resumed["analyzeResult"]["readResults"]] == [1, 2, 3]
    assert first_engine.calls == 2  # page 1 of the first job, page 1 of the cut-off one
