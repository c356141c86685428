"""The ``ocr_emulator`` fixtures used exactly as a user would: real emulator, real OCR.

Real OCR is kept to a few small images; the rest of the controls are checked with blank
pages, which the engine reads in a blink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from emulator.testing import EmulatorHandle
from ocr_sdk import NotFoundError, OperationFailedError


@pytest.fixture(autouse=True)
def _clean(ocr_emulator: EmulatorHandle) -> Iterator[None]:
    # The documented pattern: one emulator for the session, a clean slate for every test.
    yield
    ocr_emulator.reset()


@pytest.fixture
def hello(tmp_path: Path, text_png: Callable[[Sequence[str]], bytes]) -> Path:
    path = tmp_path / "hello.png"
    path.write_bytes(text_png(["HELLO 42"]))
    return path


@pytest.fixture
def blank(png: Callable[..., bytes]) -> bytes:
    return png(120, 60)


def words(text: str) -> Sequence[str]:
    return text.upper().split()


def test_the_fixture_reads_real_text(ocr_emulator: EmulatorHandle, hello: Path) -> None:
    assert ocr_emulator.endpoint.startswith("http://127.0.0.1:")
    assert ocr_emulator.ca_path is None
    with ocr_emulator.client() as client:
        result = client.read(hello)
    assert words(result.text) == ["HELLO", "42"]


async def test_the_async_client_reads_real_text(ocr_emulator: EmulatorHandle, hello: Path) -> None:
    async with ocr_emulator.async_client() as client:
        result = await client.read(hello)
    assert words(result.text) == ["HELLO", "42"]


def test_the_tls_variant_serves_https_with_its_own_ca(
    ocr_emulator_tls: EmulatorHandle, ocr_emulator: EmulatorHandle, hello: Path
) -> None:
    assert ocr_emulator_tls.endpoint.startswith("https://127.0.0.1:")
    assert ocr_emulator_tls.ca_path is not None and ocr_emulator_tls.ca_path.is_file()
    assert ocr_emulator_tls.port != ocr_emulator.port
    with ocr_emulator_tls.client() as client:
        assert words(client.read(hello).text) == ["HELLO", "42"]


def test_reset_forgets_every_job(ocr_emulator: EmulatorHandle, blank: bytes) -> None:
    with ocr_emulator.client() as client:
        done = client.begin_read(blank)
        done.result()
        ocr_emulator.hold_jobs()
        waiting = client.begin_read(blank)
        ocr_emulator.reset()
        for operation_id in (done.operation_id, waiting.operation_id):
            with pytest.raises(NotFoundError):
                client.get_read_result(operation_id)
        # reset() also released the hold: a new job runs to the end.
        assert client.read(blank).pages


def test_a_held_job_stays_not_started_until_released(
    ocr_emulator: EmulatorHandle, blank: bytes
) -> None:
    with ocr_emulator.client() as client, ocr_emulator.holding_jobs():
        poller = client.begin_read(blank)
        # Held before a worker may touch it: every poll sees notStarted, however many.
        for _ in range(3):
            assert client.get_read_result(poller.operation_id).status == "notStarted"
        ocr_emulator.release()
        assert poller.result().pages[0].lines == []


def test_a_job_held_while_running_reports_running(
    ocr_emulator: EmulatorHandle, blank: bytes
) -> None:
    with ocr_emulator.client() as client:
        ocr_emulator.hold_jobs(at="running")
        try:
            poller = client.begin_read(blank)
            assert ocr_emulator.wait_for_held(1, timeout=30) == [poller.operation_id]
            assert client.get_read_result(poller.operation_id).status == "running"
        finally:
            ocr_emulator.release()
        assert poller.result().operation.status == "succeeded"


def test_fail_next_job_fails_exactly_the_next_job(
    ocr_emulator: EmulatorHandle, blank: bytes
) -> None:
    ocr_emulator.fail_next_job()
    with ocr_emulator.client() as client:
        with pytest.raises(OperationFailedError) as caught:
            client.read(blank)
        assert caught.value.result is not None
        assert caught.value.result.status == "failed"
        assert client.read(blank).operation.status == "succeeded"
