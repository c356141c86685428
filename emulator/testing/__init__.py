"""The emulator as a test double.

- :func:`run_emulator` (:mod:`emulator.testing.local`) runs the real emulator in this process
  and yields a :class:`RunningEmulator`, whose controls reach into the emulator directly.
- :func:`shared_emulator` (:mod:`emulator.testing.shared`) joins one emulator that several
  test processes share (pytest-xdist workers) and yields a :class:`SharedEmulator`, whose
  controls go over the admin routes and act on its own jobs alone.
- Both are an :class:`EmulatorHandle` (:mod:`emulator.testing.handle`): ``endpoint``,
  ``api_key``, ``client()``, ``credential()``, ``reset()``, ``hold_jobs()``, ``release()``,
  ``wait_for_held()``, ``fail_next_job()``, ``inject_fault()``, ``usage()``.

Most users reach these through the pytest fixtures (``ocr_emulator``, ``ocr_emulator_tls``,
see :mod:`emulator.pytest_plugin`) or ``ocr_sdk.testing.run_emulator``.

Names are imported on first use: a worker that only shares an emulator never loads the
server or the OCR engine that :mod:`emulator.testing.local` needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.testing.handle import (
        AccessToken,
        AsyncEmulatorCredential,
        EmulatorCredential,
        EmulatorHandle,
    )
    from emulator.testing.local import RunningEmulator, run_emulator
    from emulator.testing.shared import SharedEmulator, SharedEmulatorFullError, shared_emulator

_HOMES = {
    "AccessToken": "handle",
    "AsyncEmulatorCredential": "handle",
    "EmulatorCredential": "handle",
    "EmulatorHandle": "handle",
    "RunningEmulator": "local",
    "run_emulator": "local",
    "SharedEmulator": "shared",
    "SharedEmulatorFullError": "shared",
    "shared_emulator": "shared",
}

__all__ = [
    "AccessToken",
    "AsyncEmulatorCredential",
    "EmulatorCredential",
    "EmulatorHandle",
    "RunningEmulator",
    "SharedEmulator",
    "SharedEmulatorFullError",
    "run_emulator",
    "shared_emulator",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"emulator.testing.{home}"), name)
