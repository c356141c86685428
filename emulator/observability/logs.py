"""Log lines that say only what happened: text from a request is escaped before it is logged.

A request path or header is the client's text. Logged as it is, a newline in it would start a
forged log line (``GET /x%0a... WARNING emulator.jobs: job X failed``) and terminal escapes
would act on whoever reads the log in a terminal. :func:`escape` writes every control
character (C0, DEL, C1, and the Unicode line and paragraph separators) as a Python-style
escape; :class:`EscapingFormatter` does it to every message the emulator's own logging setup
writes, so a value that reaches a log line by another way is escaped too.

``--log-format json`` writes :class:`JsonFormatter`'s lines instead: one JSON object per line
(JSON escapes every control character, and ``ensure_ascii`` the line separators) with the
time, level, logger and message, the id of the request being served
(:data:`REQUEST_ID`, set by :mod:`emulator.http.middleware.request_context`) and its W3C trace id,
and for a job's lines the operation id, its new state and the request that submitted it
(:func:`job_fields`, given as ``extra``). Nothing else of a record goes in: no arguments a
message did not show, no headers, no document.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# C0 controls, DEL, C1 controls, and the separators that some viewers treat as line ends.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every control character written as ``\\xNN`` (or ``\\uNNNN``), so it
    stays on one line and cannot drive a terminal."""
    return _CONTROL.sub(_escaped, text)


class EscapingFormatter(logging.Formatter):
    """A formatter whose messages never hold control characters. A traceback, which the
    formatter appends after the message, keeps its own line breaks."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape(record.message)
        return super().formatMessage(record)


#: The id of the request being served in this context (``apim-request-id``), for log lines.
REQUEST_ID: ContextVar[str | None] = ContextVar("ocr_emulator_request_id", default=None)
#: The W3C trace id of the request being served (the caller's ``traceparent``, or the span
#: this emulator started), for log lines.
TRACE_ID: ContextVar[str | None] = ContextVar("ocr_emulator_trace_id", default=None)

# The record attributes a job's log line carries (see job_fields); a record without them is
# not about one job.
_JOB_FIELDS = ("operation", "state")


def job_fields(
    operation: str, state: str, request_id: str | None, trace_id: str | None = None
) -> dict[str, Any]:
    """The ``extra`` of a log line about a job's state change: its operation id, its new
    state, and the request that submitted it with its trace id (a worker thread logs for a
    request long gone, so these override the context's)."""
    fields: dict[str, Any] = {"operation": operation, "state": state}
    if request_id is not None:
        fields["request_id"] = request_id
    if trace_id is not None:
        fields["trace_id"] = trace_id
    return fields


class JobTextFormatter(EscapingFormatter):
    """:class:`EscapingFormatter`, with the submitting request's id after a job's line (the
    access line of that request starts with the same id, so the two can be found together)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        request_id = getattr(record, "request_id", None)
        if getattr(record, "operation", None) is not None and isinstance(request_id, str):
            line += f" [request {escape(request_id)}]"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: ``time`` (UTC, ISO 8601 with milliseconds), ``level``,
    ``logger``, ``message``, ``request_id`` and ``trace_id`` (null outside a request),
    ``operation`` and ``state`` on a job's lines, and ``exception`` with a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
            "trace_id": getattr(record, "trace_id", None) or TRACE_ID.get(),
        }
        for name in _JOB_FIELDS:
            if (value := getattr(record, name, None)) is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=True, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter of ``--log-format``: ``json`` or (anything else) ``text``."""
    if log_format == "json":
        return JsonFormatter()
    return JobTextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
