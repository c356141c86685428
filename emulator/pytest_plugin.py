"""pytest plugin: the ``ocr_emulator`` and ``ocr_emulator_tls`` fixtures.

Registered through the ``pytest11`` entry point of ``ocr-sdk``, so it is active wherever the
package is installed. This module imports only pytest: the emulator (Starlette, uvicorn,
the OCR engine) is imported when a test first asks for a fixture, so installing ``ocr-sdk``
without the ``emulator`` extra leaves pytest working, and a suite that never uses the fixture
pays nothing. Disable it with ``-p no:ocr_emulator``.

Both fixtures are session-scoped: one emulator per test session, engines loaded once. Jobs
persist across tests unless a test calls ``ocr_emulator.reset()`` (see docs/testing.md for
an autouse fixture that does it after every test).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from emulator.testing import RunningEmulator

__all__ = ["ocr_emulator", "ocr_emulator_tls", "pytest_addoption"]

_MISSING_EXTRA = (
    "the ocr_emulator fixtures need the emulator extra: pip install 'ocr-sdk[emulator]' "
    "(import failed: {error})"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options of the emulator fixtures (command line, or ``ini`` for the defaults)."""
    group = parser.getgroup("ocr-emulator", "OCR emulator fixtures (ocr_emulator)")
    group.addoption(
        "--ocr-emulator-workers",
        type=int,
        default=None,
        help="OCR worker threads of the session's emulator (default 1, or the ini value)",
    )
    group.addoption(
        "--ocr-emulator-tier",
        choices=["free", "paid"],
        default=None,
        help="pricing tier of the session's emulator (default paid, or the ini value)",
    )
    parser.addini("ocr_emulator_workers", "OCR worker threads of the emulator", default="1")
    parser.addini("ocr_emulator_tier", "pricing tier of the emulator: free or paid", default="paid")


def _start(request: pytest.FixtureRequest, *, tls: bool) -> Iterator[RunningEmulator]:
    missing: str | None = None
    try:
        from emulator.testing import run_emulator
    except ImportError as error:
        missing = _MISSING_EXTRA.format(error=error)
    if missing is not None:
        # Outside the except block, so the report is the one line, not a chained traceback.
        pytest.fail(missing, pytrace=False)
    config = request.config
    workers = config.getoption("--ocr-emulator-workers") or int(
        config.getini("ocr_emulator_workers")
    )
    tier = config.getoption("--ocr-emulator-tier") or config.getini("ocr_emulator_tier")
    if tier not in ("free", "paid"):
        raise pytest.UsageError(f"ocr_emulator_tier must be 'free' or 'paid', not {tier!r}")
    with run_emulator(tls=tls, workers=workers, tier=tier) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def ocr_emulator(request: pytest.FixtureRequest) -> Iterator[RunningEmulator]:
    """The real OCR emulator over plain HTTP on a free loopback port, for the session.

    Yields a :class:`emulator.testing.RunningEmulator`: ``.endpoint``, ``.api_key``,
    ``.client()``, ``.async_client()``, ``.reset()``, ``.hold_jobs()``/``.release()``,
    ``.fail_next_job()``.
    """
    yield from _start(request, tls=False)


@pytest.fixture(scope="session")
def ocr_emulator_tls(request: pytest.FixtureRequest) -> Iterator[RunningEmulator]:
    """Like ``ocr_emulator`` but over HTTPS with a generated CA (``.ca_path``), which the
    clients from ``.client()`` / ``.async_client()`` trust. A separate emulator, started only
    when a test uses it."""
    yield from _start(request, tls=True)
