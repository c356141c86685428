"""The emulator in this process: :func:`run_emulator` and its :class:`RunningEmulator` handle.

Most users reach this through the pytest fixtures (``ocr_emulator``, ``ocr_emulator_tls``,
see :mod:`emulator.pytest_plugin`) or through ``ocr_sdk.testing.run_emulator``, which imports
this module only when called. Other test frameworks use the context manager directly::

    from ocr_sdk.testing import run_emulator

    with run_emulator() as emu, emu.client() as client:
        print(client.read("scan.png").text)

The emulator is the real one (HTTP on a free loopback port, the real OCR engine), run in a
background thread. What :class:`RunningEmulator` adds is control that a test needs and a
client never has: :meth:`~RunningEmulator.reset` between tests, jobs held at ``notStarted``
or ``running`` until released, and the next job made to fail, all without sleeping; and,
being in the same process, the emulator's own objects (:attr:`~RunningEmulator.service`,
:attr:`~RunningEmulator.app`) for assertions the HTTP API cannot make.

OCR engines are loaded once per process: an emulator that stops hands its engines back to a
pool, and the next emulator (another test module, a TLS variant started later) reuses them.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette

from emulator.app import create_app, rapid_engine_factory
from emulator.engine.base import OcrEngine, PageText, ReadingOrder
from emulator.faults import FaultInjector, FaultRule
from emulator.jobs import EngineFactory, HoldStage
from emulator.jobs.service import ReadService
from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings, Tier, parse_rate
from emulator.testing.handle import EmulatorHandle

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["RunningEmulator", "run_emulator"]


class _PooledEngine:
    """An engine from the pool; the lock guarantees one caller at a time even if a worker of
    a stopped emulator were still finishing a page when the next emulator took the engine."""

    def __init__(self, engine: OcrEngine) -> None:
        self.engine = engine
        self.name = getattr(engine, "name", type(engine).__name__)
        self._lock = threading.Lock()

    def recognize(
        self,
        image: Image.Image,
        *,
        reading_order: ReadingOrder = "basic",
        language: str | None = None,
    ) -> PageText:
        """Delegate to the pooled engine."""
        with self._lock:
            return self.engine.recognize(image, reading_order=reading_order, language=language)


class _EnginePool:
    """Engines kept for the life of the process, keyed by their ONNX thread count."""

    def __init__(self, build: EngineFactory) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._free: dict[int, list[_PooledEngine]] = {}

    @contextlib.contextmanager
    def lease(self) -> Iterator[EngineFactory]:
        """A factory for one emulator; the engines it handed out return to the pool after."""
        taken: list[tuple[int, _PooledEngine]] = []

        def factory(intra_op_threads: int) -> OcrEngine:
            with self._lock:
                free = self._free.get(intra_op_threads, [])
                engine = free.pop() if free else None
            if engine is None:
                # Built outside the lock: loading takes seconds, and workers load in parallel.
                engine = _PooledEngine(self._build(intra_op_threads))
            with self._lock:
                taken.append((intra_op_threads, engine))
            return engine

        try:
            yield factory
        finally:
            with self._lock:
                for threads, engine in taken:
                    self._free.setdefault(threads, []).append(engine)


_RAPID_POOL = _EnginePool(rapid_engine_factory)


class RunningEmulator(EmulatorHandle):
    """The emulator :func:`run_emulator` runs in this process, and the controls a test needs.

    Besides :class:`~emulator.testing.handle.EmulatorHandle`'s attributes:

    Attributes:
        settings: the emulator's :class:`~emulator.settings.Settings`.
        app: the emulator's ASGI app (its backend is :attr:`service`).
    """

    def __init__(self, endpoint: Endpoint, app: Starlette, settings: Settings) -> None:
        super().__init__(endpoint.url, endpoint.api_key, endpoint.ca_path, endpoint.port)
        self.settings = settings
        self.app = app

    @property
    def service(self) -> ReadService:
        """The emulator's backend, for assertions the HTTP API cannot make."""
        service: ReadService = self.app.state.service
        return service

    def mint_token(self, lifetime: int = 3600) -> dict[str, Any]:
        subject = self.service.billing_key(self.api_key)
        assert subject is not None
        answer: dict[str, Any] = self.app.state.tokens.issue(subject, lifetime)
        return answer

    # --- test controls: the whole emulator is this handle's ---------------------------------

    def usage(self) -> dict[str, Any]:
        return self.service.usage(self.api_key)

    def reset(self) -> None:
        self.service.clear()
        self.clear_faults()
        rate_limit = self.app.state.rate_limit
        if rate_limit is not None:
            rate_limit.reset()

    @property
    def faults(self) -> FaultInjector:
        """The emulator's :class:`~emulator.faults.FaultInjector` (``describe()`` lists the
        armed rules and how often each fired)."""
        injector: FaultInjector = self.app.state.faults
        return injector

    def _arm(self, rule: FaultRule) -> None:
        self.faults.add(rule)

    def clear_faults(self, seed: int | None = None) -> None:
        self.faults.clear(seed)

    def describe_faults(self) -> dict[str, Any]:
        return self.faults.describe()

    def hold_jobs(self, at: HoldStage = "notStarted") -> None:
        self.service.control.hold(at)

    def release(self) -> None:
        self.service.control.release()

    def wait_for_held(self, count: int = 1, timeout: float = 30.0) -> list[str]:
        return self.service.control.wait_held(count, timeout)

    def fail_next_job(self, count: int = 1) -> None:
        self.service.control.fail_next(count)


@contextlib.contextmanager
def run_emulator(
    *,
    tls: bool = False,
    api_key: str | None = None,
    tier: Tier = "paid",
    workers: int = 1,
    max_queue: int = 100,
    engine_factory: EngineFactory | None = None,
    startup_timeout: float = 120.0,
    rate_limit: str | None = None,
    fault_seed: int = 0,
) -> Iterator[RunningEmulator]:
    """Run the real emulator on a free loopback port for the ``with`` block.

    Args:
        tls: serve HTTPS with a generated CA (``emu.ca_path``); clients from
            ``emu.client()`` trust it.
        api_key: the key to accept; a random one by default (``emu.api_key``).
        tier: ``"paid"`` (default) or ``"free"`` (2 pages, 4 MB, 20 analyze calls a minute).
        workers: OCR worker threads; each loads its own engine once per process.
        max_queue: jobs that may wait before the emulator answers 429.
        engine_factory: replace the OCR engine (e.g. ``lambda _: FakeEngine()``); by default
            the real RapidOCR engine, shared with later emulators in the same process.
        startup_timeout: seconds to wait for the engines to load.
        rate_limit: analyze requests allowed per key, e.g. ``"2/s"`` or ``"20/min"``, then
            429 with an exact ``Retry-After`` (default: the tier's).
        fault_seed: seed of the generator behind random faults (``emu.inject_fault``).

    Jobs and results live in memory; the generated CA lives in a temporary directory. Both
    are gone when the block exits, after the server has stopped.
    """
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ocr-emulator-")))
        settings = Settings(
            api_keys=(api_key or secrets.token_hex(16),),
            port=0,
            tls=tls,
            tls_ca_out=scratch / "ca.pem" if tls else None,
            workers=workers,
            max_queue=max_queue,
            tier=tier,
            rate_limit=parse_rate(rate_limit) if rate_limit is not None else None,
            fault_seed=fault_seed,
        )
        if engine_factory is None:
            engine_factory = stack.enter_context(_RAPID_POOL.lease())
        app = create_app(settings, engine_factory=engine_factory)
        endpoint = stack.enter_context(run_in_thread(settings, app=app, timeout=startup_timeout))
        yield RunningEmulator(endpoint, app, settings)
