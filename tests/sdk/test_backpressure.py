"""Backpressure: clients that submit faster than the emulator reads are told to wait (429
with ``Retry-After`` while its queue is full), and the SDK's default policy waits it out, so
every document is read and none is submitted twice."""

from __future__ import annotations

import threading
from collections.abc import Callable

from emulator.engine.fake import FakeEngine
from ocr_sdk import OcrError, RetryPolicy
from ocr_sdk.testing import run_emulator

CLIENTS = 10
READS_EACH = 4


def test_forty_reads_from_ten_clients_ride_out_a_queue_of_four(
    png: Callable[..., bytes],
) -> None:
    document = png(200, 80)
    results: list[int] = []
    failures: list[OcrError] = []
    lock = threading.Lock()
    with run_emulator(
        engine_factory=lambda _threads: FakeEngine(delay=0.5), max_queue=4, workers=1
    ) as emu:

        def client_thread() -> None:
            with emu.client() as client:  # the default retry policy
                for _ in range(READS_EACH):
                    try:
                        result = client.read(document)
                    except OcrError as error:
                        with lock:
                            failures.append(error)
                    else:
                        with lock:
                            results.append(len(result.pages))

        threads = [threading.Thread(target=client_thread) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        usage = emu.service.status()
    assert failures == []
    assert results == [1] * CLIENTS * READS_EACH
    assert usage["queue"]["waiting"] == 0


def test_a_budget_of_zero_gives_up_on_a_full_queue_at_once() -> None:
    policy = RetryPolicy(retry_budget=0)
    from ocr_sdk import RateLimitError

    error = RateLimitError("queue full", status_code=429, retry_after=1.0)
    assert not policy.should_retry(error, 1, idempotent=False, waited=0.0)
