"""The Read backend: the service's behaviour behind the HTTP protocol (moto's "models").

:class:`ReadService` accepts documents, hands them to the job queue, answers for operations
and enforces retention. The routes only parse requests and serialise responses around it.
Its methods block (store I/O, header parsing), so the routes call them in a thread.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from emulator import errors
from emulator.clock import Clock
from emulator.documents import decoding
from emulator.documents.formats import READ_FORMATS, Limits, pages_to_count, select_pages
from emulator.engine import scripts
from emulator.jobs import billing
from emulator.jobs.control import JobControl
from emulator.jobs.queue import JobQueue, QueueFullError
from emulator.jobs.runner import JobRunner
from emulator.observability.logs import REQUEST_ID
from emulator.observability.tracing import CURRENT_TRACE
from emulator.pages.records import page_image_file
from emulator.security.sealed import EncryptedDocument, SealedWriter
from emulator.security.tokens import Principal
from emulator.settings import Settings
from emulator.store import READ_V32, Job, JobOptions, Store, StoreUnavailableError

log = logging.getLogger("emulator.service")


# When a job runs past its estimate, come back after this share of a page's time (but not
# sooner than the floor): soon enough to add little latency, rare enough to cost nothing.
_OVERDUE_SHARE = 0.05
_MIN_HINT_SECONDS = 0.02
# The longest wait asked for, however much work is left: an estimate made early in a long job
# can be far off (the page rate changes with the pages and the machine's load), and a client
# told to wait ten minutes would not notice a job that finished after two. A GET every few
# seconds costs nothing next to OCR.
_MAX_HINT_SECONDS = 5.0
# Hints aim this much early: a poll that comes too soon costs one GET of a few milliseconds,
# one that comes too late costs the client the whole difference.
_EARLY = 0.9
# Past --shutdown-timeout, how long a worker may take to notice it must stop (a page in a
# worker process is then cut short by killing the process).
_INTERRUPT_GRACE = 2.0


#: The emulator-only request header that asks Read v3.2's ``analyze`` to keep a PNG of each
#: page read (value ``true``), served by ``GET .../analyzeResults/{id}/pages/{n}/image``.
PAGE_IMAGES_HEADER = "x-ms-emulator-page-images"
#: The emulator-only header a GET of an unfinished operation carries: how many of its pages
#: are read so far, of how many (``1/2``), for a progress display such as the try-it page's.
PAGES_DONE_HEADER = "x-ms-emulator-pages-done"


@dataclass(frozen=True, slots=True)
class PollHint:
    """When a client should look again: the expected remaining time of an unfinished job."""

    seconds: float

    @property
    def retry_after(self) -> int:
        """Whole seconds for ``Retry-After`` (integers only, so at least 1)."""
        return max(1, math.ceil(self.seconds))

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After`` for every client, and ``retry-after-ms`` (azure-core's header, read
        by this SDK) with the precision a sub-second job needs."""
        return {
            "Retry-After": str(self.retry_after),
            "retry-after-ms": str(max(1, round(self.seconds * 1000))),
        }


@dataclass(frozen=True, slots=True)
class OperationView:
    """What a GET on an operation sees: the job, its pages' records once it succeeded, and,
    while unfinished, a poll hint. Each API shapes its own body from it."""

    job: Job
    pages: list[dict[str, Any]] | None
    hint: PollHint | None

    @property
    def finished(self) -> bool:
        """True once the operation has succeeded or failed (a finished one has no hint)."""
        return self.hint is None

    @property
    def retry_after(self) -> int | None:
        """The ``Retry-After`` seconds, or None for a finished operation."""
        return None if self.hint is None else self.hint.retry_after

    @property
    def headers(self) -> dict[str, str]:
        """The response headers of an unfinished operation (none for a finished one): the
        hint's, and the emulator's own :data:`PAGES_DONE_HEADER` (``done/total``), which the
        service does not send and its clients ignore."""
        if self.hint is None:
            return {}
        progress = f"{self.job.pages_done}/{self.job.pages_total}"
        return {**self.hint.headers, PAGES_DONE_HEADER: progress}


class ReadService:
    """The state and rules of the emulated service, independent of HTTP."""

    def __init__(self, settings: Settings, store: Store, queue: JobQueue, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue
        self.clock = clock
        # Hooks for tests (hold jobs at a stage, fail the next job); inert unless used.
        self.control = JobControl()
        self.runner = JobRunner(
            store,
            clock,
            settings.limits,
            settings.retention,
            self.control,
            decode_memory=settings.decode_memory,
        )
        # The upload checks run in decoding children too, never in this process.
        self.checkers = decoding.DecoderPool(settings.decode_memory)
        # When a graceful shutdown (SIGTERM/SIGINT) must be over (time.monotonic()).
        self._stop_by: float | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> int:
        """Start the workers and requeue unfinished jobs from a persistent store.

        Returns how many jobs were resumed.
        """
        self.queue.start(self.runner)
        resumed = 0
        if self.queue.durable:
            # A shared queue keeps its work (other nodes may be running those jobs right now).
            return 0
        for job in self.store.unfinished():
            # A job that was running when the process stopped starts over from page one.
            self.store.update(job.evolve(status="notStarted", pages_done=0))
            self.queue.resume(job.id)
            resumed += 1
        if resumed:
            log.info("resumed %d unfinished job(s)", resumed)
        return resumed

    def begin_shutdown(self) -> None:
        """A SIGTERM or SIGINT came: take no more work, and let what runs finish within
        ``--shutdown-timeout`` from now (:meth:`stop` waits for it). Pages still waiting stay
        queued: other nodes of a cluster take them, a persistent store resumes them."""
        if self._stop_by is None:
            self._stop_by = time.monotonic() + self.settings.shutdown_timeout
            log.info(
                "shutting down: finishing running pages (at most %gs)",
                self.settings.shutdown_timeout,
            )
        self.queue.drain()

    def stop(self) -> None:
        """Stop the workers and close the store. After :meth:`begin_shutdown`, first wait
        (until its deadline) for the running jobs and pages to finish; what is still running
        then is cut short and handed back: to the shared queue, or ``notStarted`` to resume."""
        grace = 10.0
        if self._stop_by is not None:
            left = max(0.0, self._stop_by - time.monotonic())
            if not self.queue.wait_idle(left):
                log.warning("shutdown timeout: handing back the pages still being read")
            grace = _INTERRUPT_GRACE
        self.control.close()  # a worker held by a test must not delay shutdown
        self.queue.stop(grace)
        self.runner.close()
        self.checkers.close()
        self.store.close()

    # --- operations ---------------------------------------------------------------------------

    def check_capacity(self) -> None:
        """Refuse early (before reading a large body) when the queue is already full."""
        if self.queue.full:
            raise errors.queue_full(self._queue_wait())

    def new_document(self) -> SealedWriter:
        """Where an incoming document goes while it streams in: sealed as it arrives, under
        the id its operation will have if it is accepted; past ``--spool-threshold``, its
        sealed segments go to an anonymous temporary file in ``--data-dir`` (else the
        system's temporary directory). Discard it if the upload fails (use it in ``with``)."""
        return self.store.new_document(
            str(uuid.uuid4()),
            spool_threshold=self.settings.spool_threshold,
            spool_dir=self.settings.data_dir,
        )

    def submit(
        self,
        document: EncryptedDocument,
        page_ranges: Sequence[str] | None,
        options: JobOptions,
        limits: Limits | None = None,
        formats: frozenset[str] | None = None,
    ) -> Job:
        """Validate ``document`` (sealed by :meth:`new_document`) and accept it as a new job
        (status ``notStarted``) with ``options``, reading the pages ``page_ranges`` select
        (``N``, ``N-M``, ``N-``, ``-M``; None for all). The store owns the document from
        here on; a refused document is closed (its spool file goes): nothing was stored.

        ``limits`` replace the tier's for an API with limits of its own (Image Analysis);
        ``formats``, when given, are the only ones the API takes (``InvalidImageFormat``
        for the others); by default those of Read and Document Intelligence
        (:data:`emulator.documents.formats.READ_FORMATS`)."""
        try:
            if document.size == 0:
                raise errors.empty_document()
            limits = limits or self.settings.limits
            try:
                # Pages counted only as far as the ranges reach: a TIFF's cost a step each.
                info = decoding.inspect(
                    self.checkers,
                    document,
                    limits,
                    self.settings.inspect_timeout,
                    pages_to_count(page_ranges, limits),
                )
            except errors.ServiceError:
                raise
            except Exception as error:
                # Whatever a decoder trips over in the client's bytes is bad input, not our 500.
                log.warning("document rejected by the decoder: %s", type(error).__name__)
                raise errors.invalid_image_format() from None
            if formats is None and info.format not in READ_FORMATS:
                # GIF, WebP and ICO are Image Analysis's alone.
                raise errors.invalid_image_format(
                    "Input data is not a valid image or PDF. Supported formats: JPEG, PNG, "
                    "BMP, TIFF, PDF."
                )
            if formats is not None and info.format not in formats:
                shown = ", ".join(sorted(fmt.upper() for fmt in formats))
                raise errors.invalid_image_format(
                    f"Input data is not a supported image. Supported formats: {shown}."
                )
            pages = select_pages(page_ranges, info.page_count, limits)
        except BaseException:
            document.close()
            raise
        now = self.clock()
        job = Job(
            id=document.operation_id,
            status="notStarted",
            created=now,
            updated=now,
            # The request's id and trace go with the job, to the node that runs it.
            options=replace(
                options,
                pages=tuple(pages),
                request_id=REQUEST_ID.get(),
                traceparent=trace.traceparent if (trace := CURRENT_TRACE.get()) else None,
            ),
        )
        self.store.create(job, document)
        try:
            self.queue.submit(job.id)
        except QueueFullError:
            # Not accepted, so not kept: the client gets 429 and nothing lingers.
            self.store.delete(job.id)
            raise errors.queue_full(self._queue_wait()) from None
        self.runner.record_state(
            job, "notStarted", "job %s queued: %d page(s)", job.id, job.pages_total
        )
        return job

    def view(self, operation_id: str, api: str = READ_V32) -> OperationView:
        """The operation as it is now; 404 if unknown, deleted, expired, or accepted through
        another API than ``api``.

        With ``--retention 0`` a finished result is deleted right after it is read once.
        """
        job = self._job(operation_id, api)
        pages = self.store.read_pages(job.id) if job.status == "succeeded" else None
        if job.finished:
            # With a searchable PDF, figures or page images to fetch after the result,
            # --retention 0 waits for that.
            keep = job.options.output_pdf or job.options.output_figures or job.options.page_images
            if self.settings.retention == timedelta(0) and not keep:
                self._deleted(job, "read once (--retention 0)")
            elif job.read_at is None:
                self.store.update(job.evolve(read_at=self.clock()))
            return OperationView(job, pages, None)
        return OperationView(job, None, self.poll_hint(job))

    def read_file(self, operation_id: str, name: str, api: str) -> tuple[Job, bytes | None]:
        """The job and the file ``name`` made from it (its searchable PDF), if there is one;
        404 as :meth:`view` does. With ``--retention 0`` the job goes once its file is read
        (a job with a file to fetch outlives the first read of its result for that)."""
        job = self._job(operation_id, api)
        data = self.store.read_file(job.id, name)
        if data is not None and self.settings.retention == timedelta(0):
            # Read once: gone (the result was read before it).
            self._deleted(job, "read once (--retention 0)")
        return job, data

    def page_image(self, operation_id: str, page: int, caller: str | None) -> bytes:
        """The PNG of page ``page`` of a Read v3.2 operation submitted with page images asked
        for (:attr:`~emulator.store.JobOptions.page_images`): kept sealed with its result,
        for as long as the result, and deleted with it.

        404 (``NotFound``, in the service's format) as :meth:`view` answers, and also when the
        caller is not the one that submitted it (``caller``: its :meth:`billing_key`), when
        no page images were asked for, before the operation has succeeded, and for a page it
        did not read. With ``--retention 0`` the operation goes once its last page's image
        has been read (its result was read before: that is how a client learns it is done).
        """
        job = self._job(operation_id, READ_V32)
        if caller is None or job.options.billing_key != caller:
            raise errors.operation_not_found()
        if not job.options.page_images:
            raise errors.ServiceError(
                404,
                "NotFound",
                "This operation has no page images: submit it with the header "
                f"{PAGE_IMAGES_HEADER}: true to have them kept.",
            )
        if job.status != "succeeded":
            raise errors.ServiceError(
                404, "NotFound", "The page images are available once the operation has succeeded."
            )
        png = None
        if page in job.options.pages:
            png = self.store.read_file(job.id, page_image_file(page))
        if png is None:
            raise errors.ServiceError(404, "NotFound", f"The operation has no page {page}.")
        if self.settings.retention == timedelta(0) and page == job.options.pages[-1]:
            self._deleted(job, "read once (--retention 0)")
        return png

    def delete(self, operation_id: str, api: str = READ_V32) -> None:
        """Delete the operation's input and result now; 404 if unknown (or another API's)."""
        job = self._job(operation_id, api)
        if not self._deleted(job, "by its client"):
            raise errors.operation_not_found()

    def _deleted(self, job: Job, why: str) -> bool:
        """Delete ``job`` now and log it (with the request that submitted it); False if it
        was gone already."""
        if not self.store.delete(job.id):
            return False
        self.runner.record_state(job, "deleted", "job %s deleted: %s", job.id, why)
        return True

    def discard(self, operation_id: str) -> None:
        """Delete the operation now if it still exists, finished or not (a synchronous read's
        job, which nobody else can name); unlike :meth:`delete`, a missing one is no error."""
        job = self.store.get(operation_id)
        if job is not None:
            self._deleted(job, "its synchronous read was answered")

    # --- billing ------------------------------------------------------------------------------

    def billing_key(self, caller: str | Principal | None) -> str | None:
        """Whose meter a request bills: a keyed digest of its API key (the store never holds
        the key); for a development token, the key that asked for it (its subject is that
        digest already); for another issuer's token, a digest of issuer and subject."""
        if isinstance(caller, Principal):
            if caller.development:
                return caller.identity
            return self._billing_id(caller.identity)
        return None if not caller else self._billing_id(caller)

    def _billing_id(self, key: str) -> str:
        return self.store.cipher.digest("billing", key.encode())

    def usage(self, caller: str | None = None) -> dict[str, Any]:
        """What each configured key has been billed (:func:`emulator.jobs.billing.report`)."""
        return billing.report(self.store.usage(), self.settings.api_keys, self._billing_id, caller)

    def clear(self, owner: str | None = None) -> int:
        """Delete every job, finished or not, drop test holds and pending failures, and set
        the billing meters back to zero; with an ``owner`` (a billing key, see
        :meth:`billing_key`), only that caller's jobs, holds, failures and meter.

        For test suites that share one emulator (``emulator.testing``); returns how many jobs
        went. A job deleted while queued or running is dropped by its worker.
        """
        removed = 0
        if owner is not None:
            for job_id in self.store.owned(owner):
                removed += self.store.delete(job_id)
        else:
            for job in self.store.unfinished():
                removed += self.store.delete(job.id)
            # Every finished job has an expiry, so "expired by the end of time" is all of them.
            removed += len(self.store.delete_expired(datetime.max.replace(tzinfo=UTC)))
        # Released only now, so a held worker wakes to find its job gone and drops it.
        self.control.clear(owner)
        self.store.clear_usage(owner)
        return removed

    def sweep(self) -> int:
        """Delete every expired result now; returns how many went."""
        expired = self.store.delete_expired(self.clock())
        for gone in expired:
            self.runner.record_expired(gone)
        if expired:
            log.info("retention sweep deleted %d expired operation(s)", len(expired))
        return len(expired)

    def _store_kind(self) -> str:
        if self.settings.backend is not None:
            return "redis"
        return "sqlite" if self.settings.data_dir else "memory"

    def status(self) -> dict[str, Any]:
        """Health details for ``GET /status`` (no secrets, no document data)."""
        try:
            waiting: int | None = self.queue.depth
        except StoreUnavailableError:
            waiting = None  # the shared store is out of reach; "error" says so
        return {
            "status": "ready" if self.queue.ready else ("error" if self.queue.error else "loading"),
            "apiVersion": "v3.2",
            "modelVersion": "2022-04-30",
            "tier": self.settings.tier,
            "workers": self.queue.workers,
            "queue": {"waiting": waiting, "capacity": self.queue.capacity},
            "store": self._store_kind(),
            # Scripts beyond Latin and CJK whose models are installed here (engine/scripts.py).
            "scripts": list(scripts.available_scripts()),
            "retentionSeconds": int(self.settings.retention.total_seconds()),
            "error": self.queue.error,
        }

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _parse_id(operation_id: str) -> str:
        try:
            return str(uuid.UUID(operation_id))
        except ValueError:
            raise errors.invalid_operation_id(operation_id) from None

    def _job(self, operation_id: str, api: str) -> Job:
        job = self.store.get(self._parse_id(operation_id))
        if job is None or job.options.api != api:
            raise errors.operation_not_found()
        return job

    def _queue_wait(self) -> float:
        return max(1.0, self.queue.depth * self.runner.seconds_per_page / self.queue.workers)

    def poll_hint(self, job: Job) -> PollHint:
        """How long until ``job`` is expected to finish: its pages left at the recent
        seconds per page, less the time already spent on the current page, plus (while it
        waits) its share of the work queued and running ahead of it."""
        per_page = self.runner.seconds_per_page
        remaining = (job.pages_total - job.pages_done) * per_page
        if job.status == "running":
            # ``updated`` moves at the start and after every page.
            remaining -= max(0.0, (self.clock() - job.updated).total_seconds())
        else:
            workers = self.queue.workers
            ahead = max(0, self.queue.depth - 1 + self.queue.busy - (workers - 1))
            remaining += ahead * per_page / workers
        overdue = max(_MIN_HINT_SECONDS, _OVERDUE_SHARE * per_page)
        return PollHint(min(max(_EARLY * remaining, overdue), _MAX_HINT_SECONDS))
