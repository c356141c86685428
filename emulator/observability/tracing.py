"""W3C trace context and, with the ``otel`` extra, OpenTelemetry spans: request → job → pages.

A caller's ``traceparent`` header (W3C Trace Context) is always honoured: its trace id goes
into the JSON log lines of the request and of the job it submits, so a caller's trace and
the emulator's logs meet. With ``--otel`` and the ``otel`` extra installed
(``opentelemetry-api``, ``opentelemetry-sdk``), :class:`Tracing` also makes spans:

* ``{METHOD} {route}`` (server), one per request, continuing the caller's trace;
* ``ocr.job``, a child of the submitting request's span, while one worker reads a whole job
  (on a cluster no one worker sees the whole job: each page's span is then the request
  span's child directly);
* ``ocr.page``, one per page read, with its page number and the engine's seconds.

Spans carry ids, counts and timings only: no path beyond its route template, no query string,
no header, no document and no recognised text. Spans are exported only where the standard
``OTEL_TRACES_EXPORTER`` variable says (``console``, to stderr, or ``otlp`` when
``opentelemetry-exporter-otlp`` is installed, configured by ``OTEL_EXPORTER_OTLP_*``); unset
or ``none``, nothing leaves the process. ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` name the service as usual (default ``ocr-emulator``).

OpenTelemetry is imported only when tracing is on, so the emulator runs without it. Each app
has a tracer provider of its own (the global one is left alone), so apps in one process keep
their spans apart.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

#: The request header of W3C Trace Context.
TRACEPARENT_HEADER = "traceparent"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16

Attributes = Mapping[str, str | int | float | bool]

#: The trace context of the request being served: its span's with ``--otel``, else the
#: caller's ``traceparent`` (None without one). A job submitted by the request records it.
CURRENT_TRACE: ContextVar[TraceContext | None] = ContextVar("ocr_emulator_trace", default=None)


@dataclass(frozen=True, slots=True)
class TraceContext:
    """Where a span sits in a trace: its trace id (32 hex digits), its own id (16) and the
    trace flags (``01``: sampled)."""

    trace_id: str
    span_id: str
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        """The context as a version-00 ``traceparent`` header value."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def parse_traceparent(value: str | None) -> TraceContext | None:
    """The context a ``traceparent`` header carries, or None when it is missing or invalid
    (W3C: lower-case hex, version ``ff`` is invalid, version 00 has exactly four fields, and
    neither id may be all zeros). A later version's extra fields are ignored, as specified."""
    if not value:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceContext(trace_id, span_id, flags)


class Span:
    """A span being recorded, or nothing (tracing off): what code under a span may add."""

    def __init__(self, span: Any = None, context: TraceContext | None = None) -> None:
        self._span = span
        #: This span's context (None when tracing is off: the caller's context stands).
        self.context = context

    def set(self, name: str, value: str | int | float | bool) -> None:
        """Set an attribute of the span (ids, counts, timings: never content)."""
        if self._span is not None:
            self._span.set_attribute(name, value)

    def rename(self, name: str) -> None:
        """Give the span its final name (a request's, once its route is known)."""
        if self._span is not None:
            self._span.update_name(name)

    def fail(self, reason: str) -> None:
        """Mark the span as ended in error, with a short reason (an error code or type)."""
        if self._span is not None:
            from opentelemetry.trace import Status, StatusCode

            self._span.set_status(Status(StatusCode.ERROR, reason))


_OFF = Span()


class Tracing:
    """The spans of one app: none unless given an OpenTelemetry tracer provider."""

    def __init__(self, provider: Any = None) -> None:
        self.provider = provider
        self._tracer = None if provider is None else provider.get_tracer("emulator")

    @property
    def enabled(self) -> bool:
        """True if spans are made."""
        return self._tracer is not None

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        parent: TraceContext | None,
        attributes: Attributes | None = None,
        *,
        server: bool = False,
    ) -> Iterator[Span]:
        """A span named ``name`` under ``parent`` (a new trace if None), for the block;
        ``server`` for a request's span. Yields a :class:`Span` that does nothing when
        tracing is off."""
        if self._tracer is None:
            yield _OFF
            return
        from opentelemetry import trace

        context = None
        if parent is not None:
            remote = trace.SpanContext(
                trace_id=int(parent.trace_id, 16),
                span_id=int(parent.span_id, 16),
                is_remote=True,
                trace_flags=trace.TraceFlags(int(parent.flags, 16)),
            )
            context = trace.set_span_in_context(trace.NonRecordingSpan(remote))
        kind = trace.SpanKind.SERVER if server else trace.SpanKind.INTERNAL
        with self._tracer.start_as_current_span(
            name,
            context=context,
            kind=kind,
            attributes=dict(attributes or {}),
            # An exception's message may quote what it was given: only its type is recorded.
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            own = span.get_span_context()
            handle = Span(
                span,
                TraceContext(
                    format(own.trace_id, "032x"),
                    format(own.span_id, "016x"),
                    format(int(own.trace_flags), "02x"),
                ),
            )
            try:
                yield handle
            except BaseException as error:
                handle.fail(type(error).__name__)
                raise

    def shutdown(self) -> None:
        """Flush and stop the exporters (at the app's shutdown)."""
        if self.provider is not None:
            self.provider.shutdown()


class TracingUnavailableError(RuntimeError):
    """``--otel`` was asked for, but OpenTelemetry (or the exporter named) is not installed."""


def build_provider(environ: Mapping[str, str] | None = None) -> Any:
    """An OpenTelemetry SDK tracer provider for ``--otel``, exporting where
    ``OTEL_TRACES_EXPORTER`` says (comma-separated: ``console``, ``otlp``, ``none``; unset is
    ``none``). Raises :class:`TracingUnavailableError` when a package is missing."""
    env = os.environ if environ is None else environ
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SpanExporter,
        )
    except ImportError:
        raise TracingUnavailableError(
            "--otel needs OpenTelemetry: pip install 'ocr-sdk[emulator,otel]'"
        ) from None
    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES itself.
    service = {"service.name": "ocr-emulator"} if "OTEL_SERVICE_NAME" not in env else {}
    provider = TracerProvider(resource=Resource.create(service))
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "none").split(",")]
    for name in names:
        exporter: SpanExporter
        if name in ("", "none"):
            continue
        if name == "console":
            # stderr: stdout carries only the startup line.
            exporter = ConsoleSpanExporter(out=sys.stderr)
        elif name == "otlp":
            exporter = _otlp_exporter()
        else:
            raise TracingUnavailableError(
                f"OTEL_TRACES_EXPORTER={name!r} is not one the emulator knows: console, otlp, none"
            )
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _otlp_exporter() -> Any:
    """The OTLP exporter that is installed: over HTTP, else gRPC."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
            OTLPSpanExporter,
        )
    except ImportError:
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter,
            )
        except ImportError:
            raise TracingUnavailableError(
                "OTEL_TRACES_EXPORTER=otlp needs pip install opentelemetry-exporter-otlp"
            ) from None
    return OTLPSpanExporter()
