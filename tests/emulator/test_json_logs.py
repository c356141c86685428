"""``--log-format json``: one JSON object per line, an access line for every request and a line
for every job state change carrying the request id that submitted it, with no key and no
document content in any line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from _harness import ANALYZE, BINARY, KEY, RESULTS, MakeHarness

from emulator.cli import configure_logging
from emulator.engine.fake import FakeEngine
from emulator.observability.logs import JobTextFormatter, JsonFormatter, job_fields
from emulator.settings import SettingsError, load

MARKER = "SECRET-DOCUMENT-TEXT-7f3a"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


class Lines:
    """What the emulator logged, one parsed JSON object per line."""

    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    """The root logger's lines at INFO through :class:`JsonFormatter`, as the command writes
    them with ``--log-format json``."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield Lines(buffer)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_every_request_and_job_state_change_has_a_json_line(
    make_harness: MakeHarness, png: Any, json_lines: Lines
) -> None:
    h = await make_harness()
    submitted = await h.client.post(
        ANALYZE,
        content=png(marker=MARKER),
        headers={**BINARY, "traceparent": TRACEPARENT},
    )
    assert submitted.status_code == 202
    request_id = submitted.headers["apim-request-id"]
    operation_id = submitted.headers["Operation-Location"].rsplit("/", 1)[-1]
    h.run()
    polled = await h.get(operation_id)
    assert polled.json()["status"] == "succeeded"
    deleted = await h.client.delete(f"{RESULTS}/{operation_id}")
    refused = await h.client.get("/status", headers={"Ocp-Apim-Subscription-Key": "typed-wrong"})

    lines = json_lines.all()
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id", "trace_id"} <= set(line)
    access = [line for line in lines if line["logger"] == "emulator.access"]
    for response in (submitted, polled, deleted, refused):
        rid = response.headers["apim-request-id"]
        assert [line["request_id"] for line in access].count(rid) == 1, rid
    # The caller's trace goes into its request's lines, and into the job's.
    assert next(a for a in access if a["request_id"] == request_id)["trace_id"] == TRACE_ID
    job_lines = [line for line in lines if line.get("operation") == operation_id]
    assert [line["state"] for line in job_lines] == [
        "notStarted",
        "running",
        "succeeded",
        "deleted",
    ]
    for line in job_lines:
        assert line["request_id"] == request_id and line["trace_id"] == TRACE_ID
        assert operation_id in line["message"]
    for secret in (KEY, "typed-wrong", MARKER, "PAGE 200x100", "PNG"):
        assert secret not in json_lines.text, secret


async def test_a_failed_job_logs_its_failure_with_its_request(
    make_harness: MakeHarness, png: Any, json_lines: Lines
) -> None:
    h = await make_harness(engine=FakeEngine(fail_on_call=1))
    response = await h.client.post(ANALYZE, content=png(), headers=BINARY)
    operation_id = response.headers["Operation-Location"].rsplit("/", 1)[-1]
    h.run()
    failed = [line for line in json_lines.all() if line.get("state") == "failed"]
    assert len(failed) == 1
    assert failed[0]["operation"] == operation_id and failed[0]["level"] == "WARNING"
    assert failed[0]["request_id"] == response.headers["apim-request-id"]


async def test_a_job_the_retention_ends_logs_its_expiry_with_its_request(
    make_harness: MakeHarness, png: Any, json_lines: Lines, clock: Any
) -> None:
    h = await make_harness(retention=timedelta(minutes=30))
    kept = await h.client.post(ANALYZE, content=png(), headers=BINARY)
    gone = await h.client.post(ANALYZE, content=png(), headers=BINARY)
    ids = [r.headers["Operation-Location"].rsplit("/", 1)[-1] for r in (kept, gone)]
    h.run()
    assert (await h.client.delete(f"{RESULTS}/{ids[0]}")).status_code == 204
    clock.advance(timedelta(minutes=30))
    assert h.service.sweep() == 1
    expired = [line for line in json_lines.all() if line.get("state") == "expired"]
    # One line for the job the sweep deleted, none for the one deleted before.
    assert [(line["operation"], line["request_id"]) for line in expired] == [
        (ids[1], gone.headers["apim-request-id"])
    ]


def test_a_json_line_stays_one_line_and_carries_a_traceback() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord(
        "emulator.test", logging.ERROR, __file__, 1, "path %s", ("/a\nforged\u2028line",), None
    )
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert "\n" not in line and "\u2028" not in line
    entry = json.loads(line)
    assert entry["message"] == "path /a\nforged\u2028line"
    assert entry["level"] == "ERROR" and entry["logger"] == "emulator.test"
    assert "ValueError: boom" in entry["exception"]
    assert entry["request_id"] is None and "operation" not in entry


def test_a_job_line_in_text_names_its_request() -> None:
    record = logging.LogRecord(
        "emulator.jobs", logging.INFO, __file__, 1, "job %s running", ("op-1",), None
    )
    record.__dict__.update(job_fields("op-1", "running", "req-9"))
    line = JobTextFormatter("%(levelname)s %(message)s").format(record)
    assert line == "INFO job op-1 running [request req-9]"


def test_the_log_format_option_picks_the_formatter() -> None:
    assert load(["--api-key", "k"]).log_format == "text"
    assert load(["--api-key", "k", "--log-format", "json"]).log_format == "json"
    assert load(["--api-key", "k"], {"OCR_EMULATOR_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError):
        load(["--api-key", "k"], {"OCR_EMULATOR_LOG_FORMAT": "xml"})
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        for handler in handlers:
            root.removeHandler(handler)
        configure_logging("info", "json")
        assert isinstance(root.handlers[-1].formatter, JsonFormatter)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
