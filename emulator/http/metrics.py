"""Prometheus metrics at ``/metrics`` (``--metrics``; ``--metrics-open`` serves them without a
key): requests, jobs, the queue, pages read and the engine's time per page.

Every app has a :class:`~prometheus_client.CollectorRegistry` of its own (never the global
one), so several apps in one process (tests, nodes of a test cluster) keep their counts
apart. Counters and histograms count what this node did; the gauges that describe the queue
and the jobs are read from the store when scraped, so with a shared store (``--backend``)
they are the cluster's. Pages and engine seconds are counted in this process, where a
worker's result comes back (a worker process only runs the engine), so prometheus-client's
multiprocess mode is not needed.

Labels hold route templates (``/vision/v3.2/read/analyzeResults/{operationId}``), methods,
statuses and job states: never an id, a key, a query string or anything from a document.
See docs/operations.md for the list and what to build on it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.jobs import JobEvents
from emulator.store import StoreUnavailableError

if TYPE_CHECKING:
    from emulator.jobs.service import ReadService

log = logging.getLogger("emulator.metrics")

#: Where the metrics are served.
METRICS_PATH = "/metrics"
#: The route label of a request no route matches (a 404, or a probe for paths).
UNMATCHED = "unmatched"
# Requests: from a millisecond poll to an upload of hundreds of megabytes.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# One page: a small image in tens of milliseconds, a dense A4 scan in seconds.
_PAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
#: The job states counted by ``ocr_emulator_jobs`` (the unfinished ones; finished jobs are
#: counted as they finish by ``ocr_emulator_job_transitions_total``).
UNFINISHED_STATES = ("notStarted", "running")


class Metrics(JobEvents):
    """The metrics of one app, in a registry of its own; see the module docs.

    It is also the :class:`~emulator.jobs.JobEvents` of the app's job runner: pages read,
    engine seconds and state changes are counted as they happen.
    """

    def __init__(self, service: ReadService | None = None) -> None:
        self.registry = CollectorRegistry()
        self.routes: Sequence[BaseRoute] = ()
        self.requests = Counter(
            "ocr_emulator_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "ocr_emulator_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template.",
            ["route", "method"],
            buckets=_REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.bytes_in_flight = Gauge(
            "ocr_emulator_request_bytes_in_flight",
            "Bytes of request bodies received by requests still being served.",
            registry=self.registry,
        )
        self.pages_read = Counter(
            "ocr_emulator_pages_read",
            "Pages this node's workers have read.",
            registry=self.registry,
        )
        self.engine_seconds = Histogram(
            "ocr_emulator_engine_seconds",
            "Seconds the OCR engine took for one page on this node.",
            buckets=_PAGE_BUCKETS,
            registry=self.registry,
        )
        self.transitions = Counter(
            "ocr_emulator_job_transitions",
            "Job state changes recorded by this node, by new state (notStarted, running, "
            "succeeded, failed, deleted, expired).",
            ["state"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "ocr_emulator_rate_limited_requests",
            "Analyze requests refused with 429 by the rate limit.",
            registry=self.registry,
        )
        if service is not None:
            self.registry.register(_ServiceCollector(service))

    # --- JobEvents --------------------------------------------------------------------------

    def page_read(self, seconds: float) -> None:
        self.pages_read.inc()
        self.engine_seconds.observe(seconds)

    def state_changed(self, state: str, count: int = 1) -> None:
        self.transitions.labels(state).inc(count)

    # --- requests ---------------------------------------------------------------------------

    def route_of(self, scope: Scope) -> str:
        """The route template that serves ``scope`` (never the raw path, which holds ids):
        the route Starlette matched, else the first whose path and method fit (a request
        answered by a middleware, before routing: 401, 413, 429), else ``unmatched``."""
        matched = scope.get("route")
        path = getattr(matched, "path", None)
        if isinstance(path, str):
            return path
        partial: str | None = None
        for route in self.routes:
            match, _ = route.matches(scope)
            template = getattr(route, "path", None)
            if not isinstance(template, str):
                continue
            if match == Match.FULL:
                return template
            if match == Match.PARTIAL and partial is None:
                partial = template
        return partial or UNMATCHED

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request (``route``: from :meth:`route_of`)."""
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route, method).observe(seconds)

    def exposition(self) -> bytes:
        """The metrics in Prometheus's text format (blocks: the gauges ask the store)."""
        return generate_latest(self.registry)


class _ServiceCollector(Collector):
    """The gauges read when scraped: readiness, workers, the queue, unfinished jobs, and the
    workers replaced after a crash or a time limit."""

    def __init__(self, service: ReadService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        queue = self.service.queue
        yield _gauge(
            "ocr_emulator_ready",
            "1 once the engines are loaded and jobs can run.",
            1.0 if queue.ready else 0.0,
        )
        yield _gauge(
            "ocr_emulator_workers", "Workers of this node (one engine each).", queue.workers
        )
        yield _gauge(
            "ocr_emulator_workers_busy",
            "Workers of this node reading a job or a page now.",
            queue.busy,
        )
        yield _gauge(
            "ocr_emulator_queue_capacity",
            "Jobs that may wait before 429 (--max-queue).",
            queue.capacity,
        )
        replaced = getattr(queue, "replaced", 0)
        yield CounterMetricFamily(
            "ocr_emulator_worker_restarts",
            "Worker processes of this node replaced after a crash or a time limit.",
            value=replaced if isinstance(replaced, int) else 0,
        )
        try:
            depth = queue.depth
            unfinished = self.service.store.unfinished()
            pages = getattr(getattr(queue, "source", None), "pages", None)
        except StoreUnavailableError:
            return  # the shared store is out of reach: ocr_emulator_ready says so
        yield _gauge(
            "ocr_emulator_queue_depth",
            "Jobs accepted and not yet started (the cluster's, with a shared store), as "
            "/status shows them.",
            depth,
        )
        if isinstance(pages, int):
            yield _gauge(
                "ocr_emulator_queue_pages",
                "Pages in the cluster's shared queue: waiting for a worker or being read.",
                pages,
            )
        jobs = GaugeMetricFamily(
            "ocr_emulator_jobs",
            "Unfinished jobs by state (the cluster's, with a shared store).",
            labels=["state"],
        )
        for state in UNFINISHED_STATES:
            jobs.add_metric([state], sum(1 for job in unfinished if job.status == state))
        yield jobs

    def describe(self) -> Iterable[Metric]:
        # Nothing to check at registration (and no store call to make then).
        return []


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


__all__ = [
    "CONTENT_TYPE_LATEST",
    "METRICS_PATH",
    "Metrics",
    "OpenMetricsMiddleware",
    "metrics_endpoint",
]


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: the app's metrics in Prometheus's text format."""
    metrics: Metrics = request.app.state.metrics
    body = await run_in_threadpool(metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class OpenMetricsMiddleware:
    """Answers ``GET /metrics`` before authentication (``--metrics-open``): for scrapers that
    cannot send a key. Placed inside the request-context middleware, so a scrape still gets a
    request id and an access-log line."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == METRICS_PATH and scope["method"] == "GET":
            body = await run_in_threadpool(self.metrics.exposition)
            response = Response(body, media_type=CONTENT_TYPE_LATEST)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
