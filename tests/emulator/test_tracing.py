"""W3C ``traceparent`` and OpenTelemetry spans (``--otel``, the ``otel`` extra): a request's
span continues the caller's trace, the job's span is its child, each page a child of the job
with its number and seconds, and no span carries a key or document content."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from _harness import ANALYZE, BINARY, HEADERS, KEY

from emulator.app import create_app
from emulator.engine.fake import FakeEngine
from emulator.jobs import ManualJobQueue
from emulator.observability.tracing import (
    TraceContext,
    TracingUnavailableError,
    build_provider,
    parse_traceparent,
)
from emulator.settings import Settings, SettingsError, load

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
MARKER = "SECRET-DOCUMENT-TEXT-0tel"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (TRACEPARENT, TraceContext(TRACE_ID, PARENT_ID, "01")),
        (f"01-{TRACE_ID}-{PARENT_ID}-00-future", TraceContext(TRACE_ID, PARENT_ID, "00")),
        (f"00-{TRACE_ID}-{PARENT_ID}-01-extra", None),  # version 00 has four fields
        (f"ff-{TRACE_ID}-{PARENT_ID}-01", None),
        (f"00-{'0' * 32}-{PARENT_ID}-01", None),
        (f"00-{TRACE_ID}-{'0' * 16}-01", None),
        (f"00-{TRACE_ID.upper()}-{PARENT_ID}-01", None),
        ("not a traceparent", None),
        ("", None),
        (None, None),
    ],
)
def test_traceparent_is_parsed_as_w3c_says(header: str | None, expected: Any) -> None:
    assert parse_traceparent(header) == expected


def test_a_context_writes_back_as_a_traceparent() -> None:
    assert parse_traceparent(TRACEPARENT).traceparent == TRACEPARENT  # type: ignore[union-attr]


def test_tracing_is_off_unless_asked_for() -> None:
    assert load(["--api-key", "k"]).otel is False
    assert load(["--api-key", "k", "--otel"]).otel is True
    assert load(["--api-key", "k"], {"OCR_EMULATOR_OTEL": "yes"}).otel is True


async def test_without_tracing_the_callers_trace_id_still_reaches_the_job(
    png: Any,
) -> None:
    engine = FakeEngine()
    queue = ManualJobQueue(engine)
    app = create_app(Settings(api_keys=(KEY,), workers=1), job_queue=queue)
    async with _client(app) as client:
        response = await client.post(
            ANALYZE, content=png(), headers={**BINARY, "traceparent": TRACEPARENT}
        )
        job = app.state.service.store.get(response.headers["Operation-Location"].rsplit("/")[-1])
    assert job.options.traceparent == TRACEPARENT
    assert job.options.request_id == response.headers["apim-request-id"]


otel_sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is missing")


@contextlib.asynccontextmanager
async def _client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://emulator.test", headers=HEADERS
        ) as client,
    ):
        yield client


async def test_spans_go_request_to_job_to_pages_continuing_the_callers_trace(
    multipage_tiff: Any,
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    queue = ManualJobQueue(FakeEngine())
    app = create_app(
        Settings(api_keys=(KEY,), workers=1, otel=True), job_queue=queue, tracer_provider=provider
    )
    async with _client(app) as client:
        response = await client.post(
            ANALYZE,
            params={"pages": "1,3"},
            content=multipage_tiff(3),
            headers={**BINARY, "traceparent": TRACEPARENT},
        )
        assert response.status_code == 202
        queue.run_all()
    spans = {span.name: span for span in exporter.get_finished_spans() if span.name != "ocr.page"}
    pages = [span for span in exporter.get_finished_spans() if span.name == "ocr.page"]

    request = spans[f"POST {ANALYZE}"]
    assert format(request.context.trace_id, "032x") == TRACE_ID
    assert request.parent is not None and format(request.parent.span_id, "016x") == PARENT_ID
    assert request.attributes["http.response.status_code"] == 202
    assert request.attributes["ocr.request_id"] == response.headers["apim-request-id"]

    job = spans["ocr.job"]
    assert job.context.trace_id == request.context.trace_id
    assert job.parent is not None and job.parent.span_id == request.context.span_id
    assert job.attributes["ocr.pages"] == 2

    assert sorted(span.attributes["ocr.page.number"] for span in pages) == [1, 3]
    for page in pages:
        assert page.parent is not None and page.parent.span_id == job.context.span_id
        assert page.attributes["ocr.page.seconds"] >= 0
    everything = repr([(s.name, dict(s.attributes or {})) for s in exporter.get_finished_spans()])
    for secret in (KEY, "PAGE 100x80", "pages=1,3"):
        assert secret not in everything, secret


async def test_a_request_without_traceparent_starts_a_trace_of_its_own(png: Any) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    queue = ManualJobQueue(FakeEngine())
    app = create_app(
        Settings(api_keys=(KEY,), workers=1), job_queue=queue, tracer_provider=provider
    )
    async with _client(app) as client:
        response = await client.post(ANALYZE, content=png(), headers=BINARY)
        job_id = response.headers["Operation-Location"].rsplit("/")[-1]
        queue.run_all()
    request = next(s for s in exporter.get_finished_spans() if s.name == f"POST {ANALYZE}")
    assert request.parent is None
    stored = app.state.service.store.get(job_id)
    # The job records the request's own span, which its job span then continues.
    recorded = parse_traceparent(stored.options.traceparent)
    assert recorded is not None
    assert recorded.trace_id == f"{request.context.trace_id:032x}"
    assert recorded.span_id == f"{request.context.span_id:016x}"


def test_console_export_goes_to_stderr_and_unknown_exporters_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    provider = build_provider({"OTEL_TRACES_EXPORTER": "console"})
    with provider.get_tracer("t").start_as_current_span("probe"):
        pass
    provider.shutdown()
    captured = capsys.readouterr()
    assert '"name": "probe"' in captured.err and captured.out == ""
    with pytest.raises(TracingUnavailableError):
        build_provider({"OTEL_TRACES_EXPORTER": "carrier-pigeon"})
    settings = Settings(api_keys=(KEY,), workers=1, otel=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTEL_TRACES_EXPORTER", "carrier-pigeon")
        with pytest.raises(SettingsError):
            create_app(settings, job_queue=ManualJobQueue(FakeEngine()))
