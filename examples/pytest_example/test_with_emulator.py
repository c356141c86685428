"""Testing application code that uses ``ocr_sdk`` against the real emulator.

    pip install 'ocr-sdk[emulator]'
    pytest examples/pytest_example

The code under test, :func:`order_number`, reads an order number off a scanned slip. The
tests run it against a real emulator with real OCR (no mocks), then use the emulator's test
controls to see the states and failures a real service produces only by chance.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from emulator.testing import EmulatorHandle
from ocr_sdk import OcrClient, OperationFailedError

# --- the application code under test ---------------------------------------------------------


class SlipUnreadableError(Exception):
    """The slip could not be read."""


def order_number(client: OcrClient, slip: bytes) -> str:
    """The ``ORDER <digits>`` number printed on a slip."""
    try:
        text = client.read(slip).text
    except OperationFailedError as error:
        raise SlipUnreadableError(f"OCR failed for operation {error.operation_id}") from error
    match = re.search(r"ORDER\s*(\d+)", text.upper())
    if match is None:
        raise SlipUnreadableError(f"no order number in {text!r}")
    return match.group(1)


# --- the tests --------------------------------------------------------------------------------


def test_reads_the_order_number(ocr_emulator: EmulatorHandle, scan: Callable[[str], bytes]) -> None:
    with ocr_emulator.client() as client:
        assert order_number(client, scan("ORDER 4711")) == "4711"


def test_a_failed_operation_becomes_our_own_error(
    ocr_emulator: EmulatorHandle, scan: Callable[[str], bytes]
) -> None:
    ocr_emulator.fail_next_job()  # the service will report status "failed"
    with ocr_emulator.client() as client, pytest.raises(SlipUnreadableError, match="OCR failed"):
        order_number(client, scan("ORDER 1"))


def test_the_operation_can_be_seen_before_it_starts(
    ocr_emulator: EmulatorHandle, scan: Callable[[str], bytes]
) -> None:
    with ocr_emulator.client() as client:
        with ocr_emulator.holding_jobs():  # jobs wait in "notStarted" until the block ends
            poller = client.begin_read(scan("ORDER 7"))
            assert client.get_read_result(poller.operation_id).status == "notStarted"
        assert "7" in poller.result().text


def test_the_same_over_https(
    ocr_emulator_tls: EmulatorHandle, scan: Callable[[str], bytes]
) -> None:
    # The client from .client() already trusts the emulator's generated CA.
    with ocr_emulator_tls.client() as client:
        assert order_number(client, scan("ORDER 99")) == "99"
