"""What the job pipeline reports as jobs move: a log line per state change, with the
request's id and trace (:func:`log_state`), and the counts a metrics sink takes
(:class:`JobEvents`, which :class:`emulator.http.metrics.Metrics` implements).
"""

from __future__ import annotations

import logging

from emulator.observability.logs import job_fields
from emulator.observability.tracing import parse_traceparent
from emulator.store import Job

log = logging.getLogger("emulator.jobs")


class JobEvents:
    """What a :class:`JobRunner` reports as its jobs move, for metrics; these do nothing
    (:class:`emulator.http.metrics.Metrics` counts them)."""

    def page_read(self, seconds: float) -> None:
        """A worker of this node read a page; the engine took ``seconds``."""

    def state_changed(self, state: str, count: int = 1) -> None:
        """``count`` jobs changed to ``state`` here (``notStarted``, ``running``,
        ``succeeded``, ``failed``, ``deleted``, ``expired``)."""


def log_state(job: Job, state: str, message: str, *args: object, level: int = logging.INFO) -> None:
    """Log ``job``'s change to ``state``: ``message`` (which names the job), with the
    operation, the state and the id and trace of the request that submitted it as the
    record's fields (:func:`emulator.observability.logs.job_fields`), whichever thread or node
    logs it."""
    trace = parse_traceparent(job.options.traceparent)
    trace_id = trace.trace_id if trace is not None else None
    fields = job_fields(job.id, state, job.options.request_id, trace_id)
    log.log(level, message, *args, extra=fields)
