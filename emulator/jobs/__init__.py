"""The job pipeline: from an accepted document to its stored pages, in the background.

:mod:`~emulator.jobs.service` is the backend behind every API (submit, view, delete,
retention, Retry-After hints; moto's "models"), with the billing meter
(:mod:`~emulator.jobs.billing`). Accepted jobs wait in a :mod:`~emulator.jobs.queue` (this
process's, or the cluster's page queue in Redis, :mod:`~emulator.jobs.redis_queue`) for a
worker (:mod:`~emulator.jobs.workers`: a process with its own engine); the
:mod:`~emulator.jobs.runner` moves each job from ``notStarted`` to ``succeeded`` or
``failed``, stops where the test hooks of :mod:`~emulator.jobs.control` say, and reports each
change (:mod:`~emulator.jobs.events`).

The pipeline knows nothing of HTTP: it imports documents, pages, the store, security and
observability, never :mod:`emulator.http` or :mod:`emulator.api`. The names below are those of
the former ``emulator/jobs.py`` module, re-exported so ``from emulator.jobs import ...`` keeps
working; the service, billing, the workers and the Redis queue are imported from their modules.
"""

from __future__ import annotations

from emulator.jobs.control import HoldStage, JobControl
from emulator.jobs.events import JobEvents
from emulator.jobs.queue import (
    EngineFactory,
    JobQueue,
    LocalWorkSource,
    ManualJobQueue,
    QueueFullError,
    ThreadJobQueue,
    WholeJob,
    WorkItem,
    WorkSource,
    job_deadline,
)
from emulator.jobs.runner import JobRunner, JobTimeoutError
from emulator.store import Job

__all__ = [
    "EngineFactory",
    "HoldStage",
    "Job",
    "JobControl",
    "JobEvents",
    "JobQueue",
    "JobRunner",
    "JobTimeoutError",
    "LocalWorkSource",
    "ManualJobQueue",
    "QueueFullError",
    "ThreadJobQueue",
    "WholeJob",
    "WorkItem",
    "WorkSource",
    "job_deadline",
]
