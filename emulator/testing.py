"""The emulator as a test double: :func:`run_emulator` and the :class:`RunningEmulator` handle.

Most users reach this through the pytest fixtures (``ocr_emulator``, ``ocr_emulator_tls``,
see :mod:`emulator.pytest_plugin`) or through ``ocr_sdk.testing.run_emulator``, which imports
this module only when called. Other test frameworks use the context manager directly::

    from ocr_sdk.testing import run_emulator

    with run_emulator() as emu, emu.client() as client:
        print(client.read("scan.png").text)

The emulator is the real one (HTTP on a free loopback port, the real OCR engine), run in a
background thread. What :class:`RunningEmulator` adds is control that a test needs and a
client never has: :meth:`~RunningEmulator.reset` between tests, jobs held at ``notStarted``
or ``running`` until released, and the next job made to fail, all without sleeping.

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
from typing import TYPE_CHECKING, Any, NamedTuple

from starlette.applications import Starlette

from emulator.app import create_app, rapid_engine_factory
from emulator.engine.base import OcrEngine, PageText, ReadingOrder
from emulator.faults import FaultInjector, FaultRule
from emulator.faults import Route as FaultRoute
from emulator.jobs import EngineFactory, HoldStage
from emulator.server import Endpoint, run_in_thread
from emulator.service import ReadService
from emulator.settings import Settings, Tier, parse_rate

if TYPE_CHECKING:
    from PIL import Image

    from ocr_sdk import AsyncOcrClient, OcrClient

__all__ = [
    "AccessToken",
    "AsyncEmulatorCredential",
    "EmulatorCredential",
    "RunningEmulator",
    "run_emulator",
]


class AccessToken(NamedTuple):
    """azure-core's ``AccessToken`` shape: the token and its expiry (epoch seconds)."""

    token: str
    expires_on: int


class EmulatorCredential:
    """A ``TokenCredential`` whose tokens come from the emulator's development issuer, as
    ``POST /_emulator/token`` mints them, for the handle's key. ``issued`` counts them."""

    def __init__(self, emulator: RunningEmulator, lifetime: int) -> None:
        self._emulator = emulator
        self._lifetime = lifetime
        self.issued = 0

    def _issue(self, scopes: tuple[str, ...]) -> AccessToken:
        if scopes != ("https://cognitiveservices.azure.com/.default",):
            raise ValueError(f"the emulator issues tokens for Azure AI services only: {scopes}")
        self.issued += 1
        return AccessToken(**_token_fields(self._emulator.mint_token(self._lifetime)))

    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        """A fresh token for ``scopes`` (only Azure AI services' scope)."""
        return self._issue(scopes)


class AsyncEmulatorCredential(EmulatorCredential):
    """:class:`EmulatorCredential` as an ``AsyncTokenCredential``."""

    async def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:  # type: ignore[override]
        """A fresh token for ``scopes`` (only Azure AI services' scope)."""
        return self._issue(scopes)


def _token_fields(answer: dict[str, Any]) -> dict[str, Any]:
    return {"token": answer["access_token"], "expires_on": int(answer["expires_on"])}


#: Fast polling for test clients; the emulator's Retry-After still decides when it sends one.
TEST_POLLING_INTERVAL = 0.05


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


class RunningEmulator:
    """A running emulator and the controls a test needs; made by :func:`run_emulator`.

    Attributes:
        endpoint: the base URL to give a client, e.g. ``http://127.0.0.1:49152``.
        api_key: a key the emulator accepts.
        ca_path: with TLS, the generated CA certificate to trust (else ``None``).
        port: the loopback port it listens on.
        settings: the emulator's :class:`~emulator.settings.Settings`.
        app: the emulator's ASGI app (its backend is :attr:`service`).
    """

    def __init__(self, endpoint: Endpoint, app: Starlette, settings: Settings) -> None:
        self.endpoint = endpoint.url
        self.api_key = endpoint.api_key
        self.ca_path = endpoint.ca_path
        self.port = endpoint.port
        self.settings = settings
        self.app = app

    def __repr__(self) -> str:
        return f"<RunningEmulator endpoint={self.endpoint!r} tls={self.tls}>"

    @property
    def tls(self) -> bool:
        """Whether the emulator serves HTTPS."""
        return self.settings.tls

    @property
    def service(self) -> ReadService:
        """The emulator's backend, for assertions the HTTP API cannot make."""
        service: ReadService = self.app.state.service
        return service

    # --- clients ------------------------------------------------------------------------------

    def _client_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("polling_interval", TEST_POLLING_INTERVAL)
        if self.ca_path is not None:
            kwargs.setdefault("verify", str(self.ca_path))
        return kwargs

    def mint_token(self, lifetime: int = 3600) -> dict[str, Any]:
        """A development token for this handle's key, as ``POST /_emulator/token`` answers:
        ``{"access_token", "token_type", "expires_on"}``."""
        subject = self.service.billing_key(self.api_key)
        assert subject is not None
        answer: dict[str, Any] = self.app.state.tokens.issue(subject, lifetime)
        return answer

    def credential(self, lifetime: int = 3600) -> EmulatorCredential:
        """A ``TokenCredential`` for ``OcrClient(credential=...)`` (or Microsoft's clients)
        whose tokens this emulator accepts, each valid ``lifetime`` seconds."""
        return EmulatorCredential(self, lifetime)

    def async_credential(self, lifetime: int = 3600) -> AsyncEmulatorCredential:
        """The same as an ``AsyncTokenCredential``, for ``AsyncOcrClient``."""
        return AsyncEmulatorCredential(self, lifetime)

    def client(self, **kwargs: Any) -> OcrClient:
        """A new :class:`ocr_sdk.OcrClient` for this emulator (endpoint, key, CA filled in).

        ``kwargs`` go to the client (e.g. ``retry=``); ``polling_interval`` defaults to
        0.05 s. Close it, or use it in a ``with`` block.
        """
        from ocr_sdk import OcrClient

        key = None if "credential" in kwargs else self.api_key
        return OcrClient(self.endpoint, key, **self._client_kwargs(kwargs))

    def async_client(self, **kwargs: Any) -> AsyncOcrClient:
        """A new :class:`ocr_sdk.AsyncOcrClient` for this emulator; see :meth:`client`."""
        from ocr_sdk import AsyncOcrClient

        key = None if "credential" in kwargs else self.api_key
        return AsyncOcrClient(self.endpoint, key, **self._client_kwargs(kwargs))

    # --- test controls ------------------------------------------------------------------------

    def usage(self) -> dict[str, Any]:
        """What each key has been billed so far, as ``GET /_emulator/usage`` reports it:
        ``{"meter", "keys": [{"key", "endsWith", "caller", "transactions", "operations"}],
        "total"}``, with this handle's key as the caller."""
        return self.service.usage(self.api_key)

    def reset(self) -> None:
        """Forget every job and result, release held jobs, cancel pending failures, disarm
        every fault, empty the rate-limit windows and set the billing meters to zero: the
        state of a freshly started emulator."""
        self.service.clear()
        self.clear_faults()
        rate_limit = self.app.state.rate_limit
        if rate_limit is not None:
            rate_limit.reset()

    # --- fault injection ----------------------------------------------------------------------

    def inject_fault(
        self,
        route: FaultRoute = "any",
        *,
        status: int | None = None,
        delay: float | None = None,
        drop: bool = False,
        fail: bool = False,
        probability: float = 1.0,
        times: int | None = None,
        retry_after: int | None = None,
    ) -> FaultRule:
        """Arm a fault on ``route`` (``"analyze"``, ``"result"``, ``"delete"`` or ``"any"``).

        Give exactly one effect: ``status`` (408, 429, 500, 502, 503, 504 with the service's
        body; ``retry_after`` sets ``Retry-After``), ``delay`` (seconds added before the normal
        answer), ``drop=True`` (the connection closes mid-response) or ``fail=True`` (on
        ``"analyze"``: the next job to start ends ``failed``). ``times`` limits it to the next
        N matching requests; ``probability`` makes it random, drawn from the seeded
        generator (see ``settings.fault_seed``). Returns the armed rule; raises
        :class:`~emulator.faults.FaultError` for a malformed one.
        """
        rule = FaultRule.from_mapping(
            {
                "route": route,
                "status": status,
                "delay": delay,
                "drop": drop,
                "fail": fail,
                "probability": probability,
                "times": times,
                "retryAfter": retry_after,
            }
        )
        self.faults.add(rule)
        return rule

    def clear_faults(self, seed: int | None = None) -> None:
        """Disarm every fault and restart the seeded generator (from ``seed`` if given, else
        from the seed it had), so the next run of a test meets the same random faults."""
        self.faults.clear(seed)

    @property
    def faults(self) -> FaultInjector:
        """The emulator's :class:`~emulator.faults.FaultInjector` (``describe()`` lists the
        armed rules and how often each fired)."""
        injector: FaultInjector = self.app.state.faults
        return injector

    def hold_jobs(self, at: HoldStage = "notStarted") -> None:
        """Stop every job that reaches ``at`` (``"notStarted"`` or ``"running"``) until
        :meth:`release`. A held job reports that status to every poll."""
        self.service.control.hold(at)

    def release(self) -> None:
        """Stop holding and let every held job run to its end."""
        self.service.control.release()

    @contextlib.contextmanager
    def holding_jobs(self, at: HoldStage = "notStarted") -> Iterator[None]:
        """:meth:`hold_jobs` for the block, :meth:`release` when it exits (even on error)."""
        self.hold_jobs(at)
        try:
            yield
        finally:
            self.release()

    def wait_for_held(self, count: int = 1, timeout: float = 30.0) -> list[str]:
        """Block until ``count`` jobs are held; return their operation ids.

        A job held at ``running`` gets there only once a worker picks it up; this waits for
        that moment on a condition variable, never by sleeping a fixed time.
        """
        return self.service.control.wait_held(count, timeout)

    def fail_next_job(self, count: int = 1) -> None:
        """Make the next ``count`` jobs to start end with status ``failed``."""
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
