"""The Read container's ``syncAnalyze`` over a real socket: real text read by the real OCR
engine in one request, and a client that hangs up mid-wait leaving nothing behind."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx

from emulator.engine.fake import FakeEngine
from emulator.testing import run_emulator
from tests.conftest import encode, text_image

SYNC = "/vision/v3.2/read/syncAnalyze"


def test_sync_analyze_reads_real_text_in_one_request(validate: Any) -> None:
    document = encode(text_image(["Read in one request", "Answered when done"]))
    with (
        run_emulator() as emu,
        httpx.Client(
            base_url=emu.endpoint,
            headers={"Ocp-Apim-Subscription-Key": emu.api_key},
            timeout=60,
        ) as client,
    ):
        response = client.post(
            SYNC,
            params={"language": "en"},
            content=document,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        validate("ReadOperationResult", body)
        assert body["status"] == "succeeded"
        [page] = body["analyzeResult"]["readResults"]
        assert [line["text"] for line in page["lines"]] == [
            "Read in one request",
            "Answered when done",
        ]
        assert emu.service.clear() == 0  # nothing kept once answered


def test_a_client_that_hangs_up_leaves_no_job_behind(png: Any) -> None:
    document = png()
    with run_emulator(engine_factory=lambda _threads: FakeEngine()) as emu:
        emu.hold_jobs("notStarted")
        request = (
            f"POST {SYNC} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{emu.port}\r\n"
            f"Ocp-Apim-Subscription-Key: {emu.api_key}\r\n"
            "Content-Type: application/octet-stream\r\n"
            f"Content-Length: {len(document)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as raw:
            raw.sendall(request + document)
            [job_id] = emu.wait_for_held(1)
            assert emu.service.store.get(job_id) is not None
        # The emulator notices the hang-up at its next look and deletes the job.
        deadline = time.monotonic() + 10
        while emu.service.store.get(job_id) is not None:
            assert time.monotonic() < deadline, "the abandoned job was kept"
            time.sleep(0.02)
        emu.release()
        assert emu.service.clear() == 0
