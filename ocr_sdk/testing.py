"""Test against the real OCR emulator: ``with ocr_sdk.testing.run_emulator() as emu:``.

This module is the SDK-side name for :mod:`emulator.testing`; it imports the emulator (and
with it Starlette, uvicorn and the OCR engine) only when :func:`run_emulator` is called, so
``import ocr_sdk.testing`` is as light as ``import ocr_sdk``. It needs the ``emulator`` extra
(``pip install 'ocr-sdk[emulator]'``). Under pytest, prefer the ``ocr_emulator`` fixture.

::

    from ocr_sdk.testing import run_emulator

    with run_emulator() as emu, emu.client() as client:
        assert "Hello" in client.read("hello.png").text
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from emulator.jobs import EngineFactory
    from emulator.testing import RunningEmulator

__all__ = ["EMULATOR_EXTRA_HINT", "run_emulator"]

#: What to install when the emulator is missing.
EMULATOR_EXTRA_HINT = "the OCR emulator is not installed: pip install 'ocr-sdk[emulator]'"


@contextlib.contextmanager
def run_emulator(
    *,
    tls: bool = False,
    api_key: str | None = None,
    tier: Literal["free", "paid"] = "paid",
    workers: int = 1,
    max_queue: int = 100,
    engine_factory: EngineFactory | None = None,
    startup_timeout: float = 120.0,
    rate_limit: str | None = None,
    fault_seed: int = 0,
) -> Iterator[RunningEmulator]:
    """Run the real emulator on a free loopback port for the ``with`` block.

    Yields a :class:`emulator.testing.RunningEmulator` (``.endpoint``, ``.api_key``,
    ``.client()``, ``.async_client()``, ``.reset()``, ``.hold_jobs()``, ``.release()``,
    ``.fail_next_job()``, ``.inject_fault()``, ``.clear_faults()``). The arguments are those
    of :func:`emulator.testing.run_emulator`.
    Raises :class:`ImportError` naming the extra to install when the emulator is missing.
    """
    try:
        from emulator.testing import run_emulator as _run
    except ImportError as error:
        raise ImportError(f"{EMULATOR_EXTRA_HINT} ({error})") from error
    with _run(
        tls=tls,
        api_key=api_key,
        tier=tier,
        workers=workers,
        max_queue=max_queue,
        engine_factory=engine_factory,
        startup_timeout=startup_timeout,
        rate_limit=rate_limit,
        fault_seed=fault_seed,
    ) as emulator:
        yield emulator
