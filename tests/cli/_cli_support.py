"""Running the ``ocr`` command in-process for the tests."""

from __future__ import annotations

import pytest

from ocr_sdk.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``ocr`` with ``argv``: its exit status, stdout and stderr."""
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err
