"""The SDK's retry policy proven end to end: the real emulator on a real socket produces the
service's failures on purpose (fault injection) and the client recovers or reports them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator.testing import RunningEmulator
from ocr_sdk import (
    OcrConnectionError,
    OperationFailedError,
    RateLimitError,
    RetryPolicy,
    ServiceError,
)


@pytest.fixture(autouse=True)
def _clean(ocr_emulator: RunningEmulator) -> Iterator[None]:
    yield
    ocr_emulator.reset()


class Sleeps:
    """The client's sleep: records each wait and sleeps briefly, so a test sees the exact
    Retry-After the client honoured without waiting it out."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(min(seconds, 0.05))


def _fired(emu: RunningEmulator) -> list[int]:
    return [rule["fired"] for rule in emu.faults.describe()["faults"]]


def test_429_with_retry_after_then_success(
    ocr_emulator: RunningEmulator, png: Callable[..., bytes]
) -> None:
    ocr_emulator.inject_fault("analyze", status=429, retry_after=2, times=1)
    sleeps = Sleeps()
    with ocr_emulator.client(sleep=sleeps) as client:
        result = client.read(png(200, 80))
    assert result.pages
    assert _fired(ocr_emulator) == [1]
    assert sleeps.waits[0] == 2.0  # the server's Retry-After, exactly


def test_503_on_submit_then_success(
    ocr_emulator: RunningEmulator, png: Callable[..., bytes]
) -> None:
    ocr_emulator.inject_fault("analyze", status=503, times=2)
    with ocr_emulator.client(sleep=Sleeps()) as client:
        assert client.read(png(200, 80)).pages
    assert _fired(ocr_emulator) == [2]
    # Three POSTs, one operation: the page is billed once.
    assert ocr_emulator.usage()["total"] == {"transactions": 1, "operations": 1}


def test_the_free_tier_bills_the_two_pages_it_reads_through_the_sdk(
    multipage_tiff: Callable[[int], bytes],
) -> None:
    from emulator.engine.fake import FakeEngine
    from ocr_sdk.testing import run_emulator

    with run_emulator(tier="free", engine_factory=lambda _threads: FakeEngine()) as emu:
        with emu.client() as client:
            result = client.read(multipage_tiff(4))
        assert len(result.pages) == 2
        usage = emu.usage()
        assert usage["keys"][0]["transactions"] == 2
        emu.reset()
        assert emu.usage()["total"] == {"transactions": 0, "operations": 0}


def test_dropped_connection_on_poll_then_success(
    ocr_emulator: RunningEmulator, png: Callable[..., bytes]
) -> None:
    ocr_emulator.inject_fault("result", drop=True, times=1)
    with ocr_emulator.client(sleep=Sleeps()) as client:
        assert client.read(png(200, 80)).pages
    assert _fired(ocr_emulator) == [1]


def test_slow_poll_beyond_the_client_timeout_is_retried(
    ocr_emulator: RunningEmulator, png: Callable[..., bytes]
) -> None:
    ocr_emulator.inject_fault("result", delay=2.0, times=1)
    with ocr_emulator.client(sleep=Sleeps(), timeout=0.5) as client:
        assert client.read(png(200, 80)).pages
    assert _fired(ocr_emulator) == [1]


def test_a_job_forced_to_fail_raises_operation_failed(
    ocr_emulator: RunningEmulator, png: Callable[..., bytes]
) -> None:
    ocr_emulator.inject_fault("analyze", fail=True, times=1)
    with ocr_emulator.client() as client, pytest.raises(OperationFailedError):
        client.read(png(200, 80))


def test_500_on_submit_is_not_retried_so_no_second_job_starts(
    ocr_emulator: RunningEmulator, png: Callable[..., bytes]
) -> None:
    ocr_emulator.inject_fault("analyze", status=500, times=2)
    with ocr_emulator.client(sleep=Sleeps()) as client, pytest.raises(ServiceError) as info:
        client.read(png(200, 80))
    assert info.value.status_code == 500 and info.value.code == "InternalServerError"
    assert _fired(ocr_emulator) == [1]  # one attempt: a 500 may have started a job


def test_persistent_throttling_ends_in_rate_limit_error(
    ocr_emulator: RunningEmulator, png: Callable[..., bytes]
) -> None:
    ocr_emulator.inject_fault("analyze", status=429, retry_after=1)
    # Retry-After: 1 is waited out while the 2 s budget lasts: two retries, then the error.
    policy = RetryPolicy(retry_budget=2)
    sleeps = Sleeps()
    client = ocr_emulator.client(sleep=sleeps, retry=policy)
    with client, pytest.raises(RateLimitError) as info:
        client.read(png(200, 80))
    assert info.value.retry_after == 1.0
    assert _fired(ocr_emulator) == [3]
    assert sleeps.waits == [1.0, 1.0]


def test_a_drop_on_every_poll_ends_in_a_connection_error(
    ocr_emulator: RunningEmulator, png: Callable[..., bytes]
) -> None:
    ocr_emulator.inject_fault("result", drop=True)
    client = ocr_emulator.client(sleep=Sleeps(), retry=RetryPolicy(max_retries=1))
    with client, pytest.raises(OcrConnectionError):
        client.read(png(200, 80))


def test_async_client_recovers_from_throttling_and_a_drop(
    ocr_emulator: RunningEmulator, png: Callable[..., bytes]
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(min(seconds, 0.05))

    async def main() -> Any:
        async with ocr_emulator.async_client(sleep=sleep) as client:
            return await client.read(png(200, 80))

    ocr_emulator.inject_fault("analyze", status=429, retry_after=1, times=1)
    ocr_emulator.inject_fault("result", drop=True, times=1)
    assert asyncio.run(main()).pages
    assert _fired(ocr_emulator) == [1, 1]
    assert waits[0] == 1.0


def test_rate_limit_retry_after_is_enough_and_the_sdk_reads_through_it(
    png: Callable[..., bytes],
) -> None:
    """--rate-limit 2/s over a real socket: a 429's Retry-After is never too short (waiting
    exactly that long gets the next submission in), and the SDK reads through the limit."""
    import httpx

    from emulator.engine.fake import FakeEngine
    from ocr_sdk.testing import run_emulator

    document = png(200, 80)
    with run_emulator(engine_factory=lambda _threads: FakeEngine(), rate_limit="2/s") as emu:
        headers = {
            "Ocp-Apim-Subscription-Key": emu.api_key,
            "Content-Type": "application/octet-stream",
        }
        refused = 0
        with httpx.Client(base_url=emu.endpoint, headers=headers) as http:
            for _ in range(3):
                answers = [http.post("/vision/v3.2/read/analyze", content=document) for _ in "abc"]
                statuses = [answer.status_code for answer in answers]
                assert statuses[:2] == [202, 202] and statuses[2] == 429, statuses
                refused += 1
                wait = int(answers[2].headers["Retry-After"])
                assert wait == 1  # the window is one second; never rounded down to 0
                time.sleep(wait)
        assert refused == 3
        # Real sleeps here: the SDK must wait out each Retry-After to get through.
        with emu.client() as client:
            for _ in range(4):
                assert client.read(document).pages
