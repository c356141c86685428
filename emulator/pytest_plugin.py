"""pytest plugin: the ``ocr_emulator`` and ``ocr_emulator_tls`` fixtures.

Registered through the ``pytest11`` entry point of ``ocr-sdk``, so it is active wherever the
package is installed. This module imports only pytest: the emulator (Starlette, uvicorn,
the OCR engine) is imported when a test first asks for a fixture, so installing ``ocr-sdk``
without the ``emulator`` extra leaves pytest working, and a suite that never uses the fixture
pays nothing. Disable it with ``-p no:ocr_emulator``.

Both fixtures are session-scoped: one emulator per test session, engines loaded once. Jobs
persist across tests unless a test calls ``ocr_emulator.reset()`` (see docs/testing.md for
an autouse fixture that does it after every test).

Under ``pytest -n N`` (pytest-xdist) the workers share one emulator process
(:mod:`emulator.testing.shared`): the first worker to use a fixture starts it, the last one
stops it, and each worker has its own key, so its jobs, holds, faults and meter are its own
and its ``reset()`` clears only those. ``--ocr-emulator-per-worker`` gives each worker an
emulator of its own instead (the engine loaded in every worker), for tests that reach into
the emulator's objects (``.service``, ``.app``).
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import pytest

if TYPE_CHECKING:
    from emulator.testing import EmulatorHandle

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
    group.addoption(
        "--ocr-emulator-per-worker",
        action="store_true",
        default=None,
        help="under pytest-xdist, an emulator in each worker instead of one for all",
    )
    parser.addini("ocr_emulator_workers", "OCR worker threads of the emulator", default="1")
    parser.addini(
        "ocr_emulator_per_worker",
        "under pytest-xdist, an emulator in each worker instead of one for all",
        type="bool",
        default=False,
    )
    parser.addini("ocr_emulator_tier", "pricing tier of the emulator: free or paid", default="paid")


def _shared_by_workers(config: pytest.Config) -> int | None:
    """The number of xdist workers, if this process is one of them and they share one
    emulator; else None."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None or os.name != "posix":
        return None
    per_worker = config.getoption("--ocr-emulator-per-worker")
    if per_worker if per_worker is not None else config.getini("ocr_emulator_per_worker"):
        return None
    return int(workerinput.get("workercount", 1))


def _start(request: pytest.FixtureRequest, *, tls: bool) -> Iterator[EmulatorHandle]:
    config = request.config
    workers = config.getoption("--ocr-emulator-workers") or int(
        config.getini("ocr_emulator_workers")
    )
    tier: Literal["free", "paid"] = config.getoption("--ocr-emulator-tier") or config.getini(
        "ocr_emulator_tier"
    )
    if tier not in ("free", "paid"):
        raise pytest.UsageError(f"ocr_emulator_tier must be 'free' or 'paid', not {tier!r}")
    worker_count = _shared_by_workers(config)
    # A worker that shares an emulator imports neither the server nor the engine.
    home = "shared" if worker_count is not None else "local"
    missing: str | None = None
    try:
        importlib.import_module(f"emulator.testing.{home}")
    except ImportError as error:
        missing = _MISSING_EXTRA.format(error=error)
    if missing is not None:
        # Outside the except block, so the report is the one line, not a chained traceback.
        pytest.fail(missing, pytrace=False)
    if worker_count is not None:
        from emulator.testing.shared import SharedEmulatorFullError, shared_emulator

        # Every worker's base temporary directory is under the run's: there they meet.
        directory = request.getfixturevalue("tmp_path_factory").getbasetemp().parent
        try:
            with shared_emulator(
                directory,
                tls=tls,
                tier=tier,
                workers=workers,
                slots=max(4, 2 * worker_count),
                watch_pid=os.getppid(),  # xdist's controller: the run itself
            ) as shared:
                yield shared
            return
        except SharedEmulatorFullError as error:
            # Restarted workers took every key: this one runs its own rather than fail.
            warnings.warn(f"{error}; this worker runs its own emulator", stacklevel=1)
    from emulator.testing.local import run_emulator

    with run_emulator(tls=tls, workers=workers, tier=tier) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def ocr_emulator(request: pytest.FixtureRequest) -> Iterator[EmulatorHandle]:
    """The real OCR emulator over plain HTTP on a free loopback port, for the session.

    Yields an :class:`emulator.testing.EmulatorHandle`: ``.endpoint``, ``.api_key``,
    ``.client()``, ``.async_client()``, ``.reset()``, ``.hold_jobs()``/``.release()``,
    ``.fail_next_job()``, ``.inject_fault()``, ``.usage()``. It is a
    :class:`~emulator.testing.RunningEmulator` in this process, or under pytest-xdist a
    :class:`~emulator.testing.SharedEmulator` of the one emulator all workers share.
    """
    yield from _start(request, tls=False)


@pytest.fixture(scope="session")
def ocr_emulator_tls(request: pytest.FixtureRequest) -> Iterator[EmulatorHandle]:
    """Like ``ocr_emulator`` but over HTTPS with a generated CA (``.ca_path``), which the
    clients from ``.client()`` / ``.async_client()`` trust. A separate emulator, started only
    when a test uses it."""
    yield from _start(request, tls=True)
