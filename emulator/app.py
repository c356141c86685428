"""The ASGI application: routes, middleware, exception handlers and lifespan in one place.

``create_app(settings)`` wires the API surfaces (:mod:`emulator.api`) to the backend
(:class:`emulator.jobs.service.ReadService`), the store and the job queue. Tests pass a fake engine
factory, a manual clock or a manual queue; nothing else changes between tests and production.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route

from emulator.api import admin, health, home, swagger
from emulator.api import handlers as on
from emulator.api.document_intelligence import routes as document_intelligence
from emulator.api.image_analysis import routes as image_analysis
from emulator.api.read_v32 import routes as read_v32
from emulator.clock import Clock, utc_now
from emulator.documents import memory
from emulator.engine.base import OcrEngine
from emulator.errors import ServiceError
from emulator.faults import FaultInjector
from emulator.http.middleware.auth import AuthMiddleware, caller_of
from emulator.http.middleware.faults import FaultMiddleware
from emulator.http.middleware.rate_limit import KeyedRateLimit, RateLimiter, RateLimitMiddleware
from emulator.http.middleware.request_context import RequestContextMiddleware
from emulator.http.middleware.request_size import RequestSizeMiddleware
from emulator.jobs import EngineFactory, JobQueue, ThreadJobQueue, WorkSource
from emulator.jobs.service import PAGES_DONE_HEADER, ReadService
from emulator.observability.tracing import Tracing, TracingUnavailableError, build_provider
from emulator.security.crypto import KEY_FILE_NAME, RecordCipher, load_or_create_key
from emulator.security.tokens import TokenAuthority
from emulator.settings import Settings, SettingsError
from emulator.store import MemoryStore, SqliteStore, Store, StoreUnavailableError

if TYPE_CHECKING:
    from emulator.http.metrics import Metrics

log = logging.getLogger("emulator")


def rapid_engine_factory(intra_op_threads: int, recogniser: str = "strong") -> OcrEngine:
    """The default engine: RapidOCR on ONNX Runtime, models from the installed wheel and this
    package; ``recogniser`` is :attr:`Settings.recogniser`."""
    module = importlib.import_module("emulator.engine.rapid")
    engine: OcrEngine = module.RapidOcrEngine(
        intra_op_threads=intra_op_threads, cascade=recogniser == "cascade"
    )
    return engine


def build_queue(
    settings: Settings, engine_factory: EngineFactory | None = None, store: Store | None = None
) -> JobQueue:
    """The job queue: worker processes for the default engine (unless
    ``settings.worker_processes`` is off), threads for a factory given in-process (a test's
    fake engine, which need not be importable by a child process). With a Redis ``store``
    the workers take pages from the cluster's shared queue, else jobs from this process's."""
    timeout = None if settings.job_timeout is None else settings.job_timeout.total_seconds()
    source: WorkSource | None = None
    if store is not None and settings.backend is not None:
        from emulator.jobs.redis_queue import RedisTaskSource
        from emulator.store.redis import RedisStore

        if isinstance(store, RedisStore):
            source = RedisTaskSource(
                store, settings.max_queue, settings.claim_timeout.total_seconds()
            )
    default_factory = functools.partial(rapid_engine_factory, recogniser=settings.recogniser)
    if engine_factory is None and settings.worker_processes:
        from emulator.jobs.workers import ProcessJobQueue

        return ProcessJobQueue(
            default_factory,
            workers=settings.workers,
            intra_op_threads=settings.intra_op_threads,
            capacity=settings.max_queue,
            job_timeout=timeout,
            source=source,
        )
    return ThreadJobQueue(
        engine_factory or default_factory,
        workers=settings.workers,
        intra_op_threads=settings.intra_op_threads,
        capacity=settings.max_queue,
        job_timeout=timeout,
        source=source,
    )


def build_cipher(settings: Settings) -> RecordCipher:
    """The at-rest cipher: from ``--encryption-key-file``, else a key file inside
    ``--data-dir`` (so a restart can decrypt), else a key that lives only in memory."""
    key_file = settings.encryption_key_file
    if key_file is None and settings.data_dir is not None:
        key_file = settings.data_dir / KEY_FILE_NAME
    if key_file is None:
        return RecordCipher.generate()
    return RecordCipher(load_or_create_key(key_file))


def build_store(settings: Settings, cipher: RecordCipher) -> Store:
    """The persistence backend the settings ask for."""
    if settings.backend is not None:
        try:
            from emulator.store.redis import RedisStore
        except ImportError:
            raise SettingsError(
                "--backend needs the Redis client: pip install 'ocr-sdk[emulator,redis]'"
            ) from None
        return RedisStore(cipher, settings.backend)
    if settings.data_dir is not None:
        return SqliteStore(cipher, settings.data_dir)
    return MemoryStore(cipher)


def build_rate_limit(settings: Settings, store: Store, limit: int, window: float) -> RateLimiter:
    """Per-key windows in the shared store when there is one (a cluster's limit holds on
    every node), else in this process."""
    if settings.backend is not None:
        from emulator.store.redis import RedisRateLimit, RedisStore

        if isinstance(store, RedisStore):
            return RedisRateLimit(store, limit, window)
    return KeyedRateLimit(limit, window)


def build_observability(
    settings: Settings, service: ReadService, provider: Any = None
) -> tuple[Tracing, Metrics | None]:
    """The app's spans (``--otel``, or ``provider``) and metrics (``--metrics``), wired to the
    service's job runner."""
    if provider is None and settings.otel:
        try:
            provider = build_provider()
        except TracingUnavailableError as error:
            raise SettingsError(str(error)) from None
    tracing = Tracing(provider)
    service.runner.tracing = tracing
    metrics: Metrics | None = None
    if settings.serves_metrics:
        from emulator.http.metrics import Metrics  # prometheus-client, only when asked for

        metrics = Metrics(service)
        service.runner.events = metrics
    return tracing, metrics


def sweep_interval(settings: Settings) -> float:
    """How often the retention sweeper runs: often enough for short retentions."""
    retention = settings.retention.total_seconds()
    if retention <= 0:
        return settings.sweep_interval
    return max(1.0, min(settings.sweep_interval, retention / 2))


async def _sweep_forever(service: ReadService, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(service.sweep)
        except Exception:
            log.exception("retention sweep failed")


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    service: ReadService = app.state.service
    await run_in_threadpool(service.start)
    sweeper = asyncio.create_task(_sweep_forever(service, app.state.sweep_interval))
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await run_in_threadpool(service.stop)
        await run_in_threadpool(app.state.tracing.shutdown)


#: The requests that submit a document (the billed transactions the rate limit counts).
SUBMIT_PATHS = (read_v32.ANALYZE_PATH, read_v32.SYNC_ANALYZE_PATH, ":analyze")


#: What a page's script may read of an answer besides the CORS-safelisted headers: where to
#: poll, how long to wait, the request id; what the clients read; and the emulator's own
#: progress of an unfinished operation.
CORS_EXPOSED = ("Operation-Location", "Retry-After", "apim-request-id", PAGES_DONE_HEADER)


def cors(origins: Sequence[str]) -> Middleware:
    """Starlette's CORS middleware for ``origins`` (``*`` for any): the service's methods, any
    request header (keys, tokens, the SDKs' own), the headers in :data:`CORS_EXPOSED`; no
    cookies (nothing here uses them). Preflights are answered without a key."""
    return Middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "DELETE", "PATCH", "PUT"],
        allow_headers=["*"],
        expose_headers=list(CORS_EXPOSED),
        allow_credentials=False,
        max_age=600,
    )


def create_app(
    settings: Settings,
    *,
    engine_factory: EngineFactory | None = None,
    clock: Clock | None = None,
    job_queue: JobQueue | None = None,
    store: Store | None = None,
    tracer_provider: Any = None,
) -> Starlette:
    """Build the emulator's ASGI app.

    ``engine_factory`` builds one engine per worker (default: RapidOCR in worker processes;
    a factory given here runs in worker threads, see :func:`build_queue`); ``clock`` defaults to
    the real UTC clock; ``job_queue`` and ``store`` default to what ``settings`` asks for. The
    lifespan starts the workers, resumes unfinished jobs and runs the retention sweeper.
    ``tracer_provider`` (an OpenTelemetry SDK one) replaces the one ``--otel`` builds.
    """
    memory.return_large_blocks()  # a large page's memory goes back once it is done
    cipher = build_cipher(settings)
    store = store or build_store(settings, cipher)
    queue = job_queue or build_queue(settings, engine_factory, store)
    service = ReadService(settings, store, queue, clock or utc_now)
    tracing, metrics = build_observability(settings, service, tracer_provider)
    try:
        tokens = TokenAuthority(cipher, settings.trust_jwks)
    except ValueError as error:
        raise SettingsError(f"--trust-jwks: {error}") from None

    route_table = [
        *home.routes(),
        *swagger.routes(),
        *read_v32.routes(),
        *document_intelligence.routes(),
        *image_analysis.routes(),
        Route("/ready", health.ready, methods=["GET"]),
        Route(health.LIVENESS_PATH, health.liveness, methods=["GET"]),
        Route("/status", health.status, methods=["GET"]),
        Route(admin.FAULTS_PATH, admin.list_faults, methods=["GET"]),
        Route(admin.FAULTS_PATH, admin.add_faults, methods=["POST"]),
        Route(admin.FAULTS_PATH, admin.clear_faults, methods=["DELETE"]),
        Route(admin.USAGE_PATH, admin.usage, methods=["GET"]),
        Route(admin.RESET_PATH, admin.reset, methods=["POST"]),
        Route(admin.HOLDS_PATH, admin.hold, methods=["POST"]),
        Route(admin.HOLDS_PATH, admin.held, methods=["GET"]),
        Route(admin.HOLDS_PATH, admin.release, methods=["DELETE"]),
        Route(admin.FAILURES_PATH, admin.fail_next, methods=["POST"]),
        Route(admin.TOKEN_PATH, admin.issue_token, methods=["POST"]),
    ]
    injector = FaultInjector(settings.faults, seed=settings.fault_seed)
    # Outermost first: every request gets an id and a log line; an over-long head is refused
    # before anything reads it; nothing unauthenticated reaches a fault or uses up the rate;
    # faults come before the rate so an injected 429 does not also count as a request.
    middleware = [Middleware(RequestContextMiddleware, metrics=metrics, tracing=tracing)]
    if metrics is not None:
        from emulator.http.metrics import METRICS_PATH, OpenMetricsMiddleware, metrics_endpoint

        if settings.metrics_open:  # answered before authentication
            middleware.append(Middleware(OpenMetricsMiddleware, metrics=metrics))
        else:
            route_table.append(Route(METRICS_PATH, metrics_endpoint, methods=["GET"]))
    if settings.cors_origins:
        # Before authentication: a browser's preflight carries no key, and an error (a 401, a
        # 429) must carry the CORS headers for the page's script to read it.
        middleware.append(cors(settings.cors_origins))
    middleware += [
        Middleware(RequestSizeMiddleware),
        Middleware(
            AuthMiddleware,
            api_keys=settings.api_keys,
            tokens=tokens,
            open_paths=home.OPEN_PATHS,
            open_prefixes=home.OPEN_PREFIXES,
        ),
        Middleware(
            FaultMiddleware,
            injector=injector,
            control=service.control,
            api_prefix=read_v32.API_PREFIX,
            owner_of=lambda scope: service.billing_key(caller_of(scope)),
        ),
    ]
    rate_limit: RateLimiter | None = None
    if (rate := settings.effective_rate_limit) is not None:
        rate_limit = build_rate_limit(settings, store, rate.limit, rate.window)
        middleware.append(
            Middleware(
                RateLimitMiddleware,
                limiter=rate_limit,
                path_suffixes=SUBMIT_PATHS,
                window_of=lambda scope: service.billing_key(caller_of(scope)) or "",
                on_refusal=None if metrics is None else metrics.rate_limited.inc,
            )
        )
    handlers: dict[Any, Any] = {
        ServiceError: on.on_service_error,
        HTTPException: on.on_http_exception,
        # The store failing (disk full, a broken database) is the service's StorageException,
        # answered here at the boundary so no store backend needs to know about HTTP.
        sqlite3.Error: on.on_storage_error,
        # A shared store out of reach (Redis down or restarting): 503, try again shortly.
        StoreUnavailableError: on.on_store_unavailable,
        OSError: on.on_storage_error,
        Exception: on.on_unexpected,
    }
    app = Starlette(
        routes=route_table,
        middleware=middleware,
        exception_handlers=handlers,
        lifespan=_lifespan,
    )
    app.state.service = service
    app.state.tokens = tokens
    app.state.metrics = metrics
    app.state.tracing = tracing
    if metrics is not None:
        metrics.routes = app.routes
    app.state.settings = settings
    app.state.sweep_interval = sweep_interval(settings)
    # Kept so that emulator.testing can clear them between tests.
    app.state.rate_limit = rate_limit
    app.state.faults = injector
    return app
