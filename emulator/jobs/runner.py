"""The state machine that runs one job: ``notStarted`` → ``running`` → ``succeeded`` | ``failed``.

:class:`JobRunner` moves a job along, a whole job or one page of it, and writes the files a
job keeps (figures, the searchable PDF). It only talks to the :class:`~emulator.store.Store`
and an :class:`~emulator.engine.base.OcrEngine`, so it runs the same under any queue
(:mod:`emulator.jobs.queue`).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from emulator.clock import Clock
from emulator.documents.decoding import DEFAULT_MEMORY as DEFAULT_DECODE_MEMORY
from emulator.documents.decoding import DecoderError, DecoderProcess
from emulator.documents.formats import PDF_DPI, DocumentInfo, Limits, PageImage
from emulator.engine.base import OcrEngine, PageText
from emulator.errors import ServiceError
from emulator.jobs.control import JobControl
from emulator.jobs.events import JobEvents, log_state
from emulator.observability.logs import job_fields
from emulator.observability.tracing import Attributes, TraceContext, Tracing, parse_traceparent
from emulator.pages import languages
from emulator.pages.records import page_image_file, read_result
from emulator.security.sealed import EncryptedDocument
from emulator.store import Expired, Job, Store, StoreUnavailableError

log = logging.getLogger("emulator.jobs")


# With --retention 0 a result is deleted once read; one that is never read still goes after
# this long, so an abandoned job cannot keep a result forever.
UNREAD_RESULT_CAP = timedelta(hours=24)


class JobTimeoutError(Exception):
    """The job ran past its time limit (``--job-timeout``)."""


PageOutcome = Literal["done", "interrupted"]
"""How :meth:`JobRunner.run_page` left its page: dealt with, or cut short by a shutdown."""

# Weight of the newest page in the smoothed seconds per page: high enough that the hints
# follow a change of page size or machine load within a few pages.
_RATE_WEIGHT = 0.5

#: The file a job analyzed with ``output=pdf`` keeps beside its result.
SEARCHABLE_PDF = "searchable.pdf"
#: The model whose jobs find tables, selection marks and figures on their pages.
LAYOUT_MODEL = "prebuilt-layout"
_FIGURE_ID = re.compile(r"^[1-9][0-9]{0,5}\.[1-9][0-9]{0,3}$")


def figure_file(figure_id: str) -> str | None:
    """The file a job analyzed with ``output=figures`` keeps figure ``figure_id`` in
    (``{page}.{n}``), or None for an id no figure can have."""
    return f"figure-{figure_id}.png" if _FIGURE_ID.match(figure_id) else None


def _reason(error: Exception) -> str:
    """Why a job failed, for its log line: a decoder's own words, else the error's type."""
    if isinstance(error, DecoderError):
        return "time limit exceeded" if error.timed_out else str(error)
    return type(error).__name__


class JobRunner:
    """Runs one job to completion with a given engine and records every state change."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        limits: Limits,
        retention: timedelta,
        control: JobControl | None = None,
        decode_memory: int = DEFAULT_DECODE_MEMORY,
    ) -> None:
        self.store = store
        self.clock = clock
        self.limits = limits
        self.retention = retention
        self.control = control or JobControl()
        self.decode_memory = decode_memory
        self._lock = threading.Lock()
        # Each worker thread draws its pages in a decoding child of its own
        # (emulator.documents.decoding).
        self._local = threading.local()
        self._decoders: set[DecoderProcess] = set()
        # Seconds per page, smoothed, to tell clients how long to wait (Retry-After).
        self._seconds_per_page = 1.0
        self._observed = False
        #: Where pages read and state changes are counted, and the spans of jobs and pages
        #: (set by :func:`emulator.app.create_app`; by default neither does anything).
        self.events = JobEvents()
        self.tracing = Tracing()

    def record_state(
        self, job: Job, state: str, message: str, *args: object, level: int = logging.INFO
    ) -> None:
        """Log ``job``'s change to ``state`` (:func:`log_state`) and count it."""
        log_state(job, state, message, *args, level=level)
        self.events.state_changed(state)

    def record_expired(self, gone: Expired) -> None:
        """Log and count a job the retention sweep deleted; with the request that submitted
        it where its record was still there (Redis may have dropped it by its TTL first)."""
        if gone.job is not None:
            self.record_state(gone.job, "expired", "job %s expired: retention ended", gone.job_id)
            return
        fields = job_fields(gone.job_id, "expired", None)
        log.info("job %s expired: retention ended", gone.job_id, extra=fields)
        self.events.state_changed("expired")

    @property
    def seconds_per_page(self) -> float:
        """The recent average time the engine takes for one page."""
        with self._lock:
            return self._seconds_per_page

    def _observe(self, seconds: float) -> None:
        with self._lock:
            if not self._observed:
                # The 1 s prior is only a guess before any page: replace it, do not average
                # it in, or the first jobs' hints overshoot by half a second and more.
                self._observed = True
                self._seconds_per_page = seconds
            else:
                self._seconds_per_page = (
                    1 - _RATE_WEIGHT
                ) * self._seconds_per_page + _RATE_WEIGHT * seconds

    def _decoder(self) -> DecoderProcess:
        """This thread's decoding child, started anew if there is none or it broke."""
        decoder: DecoderProcess | None = getattr(self._local, "decoder", None)
        if decoder is None or decoder.broken:
            fresh = DecoderProcess(self.decode_memory)
            with self._lock:
                if decoder is not None:
                    self._decoders.discard(decoder)
                self._decoders.add(fresh)
            self._local.decoder = decoder = fresh
        return decoder

    def _decode(
        self, job: Job, data: EncryptedDocument, deadline: float | None
    ) -> tuple[DecoderProcess, DocumentInfo]:
        """This thread's decoder, holding ``job``'s document (sent once per job), and what
        the document is, its pages counted as far as the job reads (as the upload check
        counted them)."""
        decoder = self._decoder()
        decoder.load(data, job.id, deadline)
        info = decoder.inspect(self.limits, deadline, max(job.options.pages, default=None))
        return decoder, info

    def close(self) -> None:
        """Stop every decoding child (at shutdown; a page being drawn is cut short)."""
        with self._lock:
            decoders = list(self._decoders)
            self._decoders.clear()
        for decoder in decoders:
            decoder.close()

    def _expiry(self) -> datetime:
        keep = self.retention if self.retention > timedelta(0) else UNREAD_RESULT_CAP
        return self.clock() + keep

    def fail(self, job_id: str, reason: str) -> None:
        """Mark the job failed (no result) and delete its document.

        If the store cannot record even that (disk full, a broken database), the job stays
        unfinished in the store, to be resumed at the next start, and the worker lives on.
        """
        # Hook for issue 7 (store failures): without it a store error here escaped the
        # runner and killed the worker thread, leaving its job "running" and every job
        # queued behind it "notStarted" for the life of the process.
        try:
            job = self.store.get(job_id)
            if job is None or job.finished:
                return
            now = self.clock()
            failed = job.evolve(status="failed", updated=now, expires_at=self._expiry())
            self.store.finish(failed)
        except (sqlite3.Error, OSError, StoreUnavailableError) as error:
            log.error(
                "job %s could not be marked failed (%s); it resumes at the next start",
                job_id,
                type(error).__name__,
            )
            return
        self.record_state(
            failed, "failed", "job %s failed: %s", job_id, reason, level=logging.WARNING
        )

    def run(
        self,
        job_id: str,
        engine: OcrEngine,
        should_stop: Callable[[], bool],
        deadline: float | None = None,
    ) -> None:
        """Run ``job_id``. If ``should_stop`` turns true between pages, put the job back to
        ``notStarted`` (a persistent store resumes it at the next start).

        ``deadline`` (``time.monotonic()``) is the job's time limit: checked between pages
        here; an engine that can be interrupted mid-page (a worker process) raises
        :class:`JobTimeoutError` itself. Either way the job ends ``failed``.
        """
        job = self.store.get(job_id)
        if job is None or job.finished:
            return  # deleted while queued, or already done before a restart
        owner = job.options.billing_key
        held = self.control.checkpoint(job_id, "notStarted", should_stop, owner)
        if should_stop():
            return  # still notStarted: resumed at the next start with a persistent store
        if held:
            job = self.store.get(job_id)  # again: it may have gone while it was held
            if job is None or job.finished:
                return
        started = time.monotonic()
        job = job.evolve(status="running", updated=self.clock(), pages_done=0)
        if not self.store.update(job):
            return
        self.record_state(job, "running", "job %s running", job_id)
        self.control.checkpoint(job_id, "running", should_stop, owner)
        if not should_stop() and self.control.take_failure(owner):
            self.fail(job_id, "failure injected by a test")
            return
        attributes: Attributes = {"ocr.operation_id": job_id, "ocr.pages": job.pages_total}
        parent = parse_traceparent(job.options.traceparent)
        with self.control.working(), self.tracing.span("ocr.job", parent, attributes) as span:
            self._read(job, engine, should_stop, deadline, started, span.context or parent)

    def _read(
        self,
        job: Job,
        engine: OcrEngine,
        should_stop: Callable[[], bool],
        deadline: float | None,
        started: float,
        trace: TraceContext | None = None,
    ) -> None:
        """Read every page of a running ``job`` and record it succeeded, or failed; each
        page's span is a child of ``trace`` (the job's span)."""
        job_id = job.id
        try:
            # Read through a decrypting stream: the document is never decrypted whole.
            data = self.store.open_document(job_id)
            if data is None:
                self.fail(job_id, "document missing")
                return
            # Drawn in a child (emulator.documents.decoding): a hostile page costs this job, no
            # more.
            decoder, info = self._decode(job, data, deadline)
            page_started = time.monotonic()
            for number in job.options.pages:
                if should_stop():
                    self.store.update(job.evolve(status="notStarted", pages_done=0))
                    self.record_state(
                        job, "notStarted", "job %s interrupted by shutdown; will resume", job_id
                    )
                    return
                if deadline is not None and time.monotonic() > deadline:
                    raise JobTimeoutError(job_id)
                page = decoder.page(info, number, PDF_DPI, deadline, job.options.page_images)
                text = self._recognize(job, engine, page, trace)
                # Decoding included: the estimate is what a client waits per page.
                now_mono = time.monotonic()
                self._observe(now_mono - page_started)
                page_started = now_mono
                entry = self._record(job, page, text)
                # Drop this page's pixels before the generator renders the next one.
                del page, text
                job = job.evolve(pages_done=job.pages_done + 1, updated=self.clock())
                # Stored now, not collected: a 2000-page job holds one page's result.
                if not self.store.add_page(job, entry):
                    return  # deleted while running: drop the work, keep nothing
                del entry
            self._write_files(job, decoder, deadline)
            decoder.forget()  # the input goes from the decoder before the job is done
            now = self.clock()
            self.store.finish(
                job.evolve(status="succeeded", updated=now, expires_at=self._expiry())
            )
            self.record_state(
                job,
                "succeeded",
                "job %s succeeded: %d page(s) in %.2fs",
                job_id,
                job.pages_done,
                time.monotonic() - started,
            )
        except ServiceError as error:
            self.fail(job_id, f"{error.code}")
        except JobTimeoutError:
            self.fail(job_id, "time limit exceeded")
        except Exception as error:  # a bad page must fail its job, never kill the worker
            if should_stop():
                # Shutdown cut the page short (a worker process is killed when it overruns the
                # grace period): the job is not at fault, so it is resumed, not failed.
                self.store.update(job.evolve(status="notStarted", pages_done=0))
                self.record_state(
                    job, "notStarted", "job %s interrupted by shutdown; will resume", job_id
                )
                return
            self.fail(job_id, _reason(error))
        finally:
            # The input is gone once processed: from the decoder's memory too.
            held: DecoderProcess | None = getattr(self._local, "decoder", None)
            if held is not None:
                held.forget()

    def _recognize(
        self, job: Job, engine: OcrEngine, page: PageImage, trace: TraceContext | None
    ) -> PageText:
        """The engine's reading of ``page``, counted (pages read, engine seconds) and, with
        tracing, in an ``ocr.page`` span of its own under ``trace`` (number and seconds)."""
        attributes: Attributes = {"ocr.operation_id": job.id, "ocr.page.number": page.number}
        with self.tracing.span("ocr.page", trace, attributes) as span:
            started = time.monotonic()
            text = engine.recognize(
                page.image, reading_order=job.options.reading_order, language=job.options.language
            )
            seconds = time.monotonic() - started
            span.set("ocr.page.seconds", round(seconds, 6))
        self.events.page_read(seconds)
        return text

    def _record(self, job: Job, page: PageImage, text: PageText) -> dict[str, Any]:
        """The stored record of a page the engine read: its lines and words, and for a
        ``prebuilt-layout`` job the page's tables, selection marks and figures (found here,
        while the page's pixels are at hand), with each figure's image kept for
        ``output=figures``."""
        entry = read_result(page, text, job.options.language)
        if page.preview is not None:  # asked for with x-ms-emulator-page-images
            self.store.put_file(job.id, page_image_file(page.number), page.preview)
        if job.options.language is None:
            languages.annotate(entry)
        if job.options.model_id == LAYOUT_MODEL:
            from emulator.structure import record

            found = record.analyse(page, text)
            entry["layout"] = found.record(page)
            if job.options.output_figures:
                for number, png in enumerate(found.figure_images(page), start=1):
                    self.store.put_file(job.id, figure_file(f"{page.number}.{number}") or "", png)
        return entry

    def _write_files(self, job: Job, decoder: DecoderProcess, deadline: float | None) -> None:
        """Before a job is recorded succeeded (and its document deleted): write what is made
        from the document and its pages, sealed beside the result. With ``output=pdf``, the
        searchable PDF; it costs a few milliseconds a page (``benchmarks/searchable_pdf.py``).
        It is written by the decoder that holds the document (the writer parses PDF pages,
        which keep their own content), under the job's deadline."""
        if not job.options.output_pdf:
            return
        started = time.monotonic()
        pdf = decoder.searchable_pdf(self.store.read_pages(job.id), deadline)
        self.store.put_file(job.id, SEARCHABLE_PDF, pdf)
        log.info("job %s: searchable PDF written in %.3fs", job.id, time.monotonic() - started)

    def run_page(
        self,
        job_id: str,
        index: int,
        engine: OcrEngine,
        should_stop: Callable[[], bool],
        deadline: float | None = None,
    ) -> PageOutcome:
        """Read page ``index`` (0-based, in the job's page order) of ``job_id`` and store its
        result; the worker whose page completes the job records it ``succeeded``.

        For a dispatcher that hands out one page at a time, so pages of one document are
        read by several workers (and nodes) at once, like the Read container's. A page that
        is delivered twice (its first worker died) is stored once. A page that fails fails
        its job; the job's other pages are then dropped by whoever takes them.
        ``deadline`` (``time.monotonic()``) bounds the page: in a cluster ``--job-timeout``
        limits each page, since no one worker sees the whole job. Returns
        ``"interrupted"`` if shutdown cut the page short (the caller hands it back to the
        queue), else ``"done"``. :class:`~emulator.store.StoreUnavailableError` propagates:
        the page stays with the queue, to be taken again once the store is back.
        """
        job = self.store.get(job_id)
        if job is None or job.finished or index >= job.pages_total:
            return "done"  # deleted, failed by another page, or already finished
        owner = job.options.billing_key
        if job.status == "notStarted":
            self.control.checkpoint(job_id, "notStarted", should_stop, owner)
            if should_stop():
                return "interrupted"
        started = self.store.start(job_id, self.clock())
        if started is None:
            return "done"
        job, first = started
        if first:
            self.record_state(job, "running", "job %s running", job_id)
        self.control.checkpoint(job_id, "running", should_stop, owner)
        if first and not should_stop() and self.control.take_failure(owner):
            self.fail(job_id, "failure injected by a test")
            return "done"
        try:
            data = self.store.open_document(job_id)
            if data is None:
                self.fail(job_id, "document missing")
                return "done"
            # The document stays in this decoder: this worker may draw more of its pages.
            decoder, info = self._decode(job, data, deadline)
            page_started = time.monotonic()
            number = job.options.pages[index]
            page = decoder.page(info, number, PDF_DPI, deadline, job.options.page_images)
            text = self._recognize(job, engine, page, parse_traceparent(job.options.traceparent))
            self._observe(time.monotonic() - page_started)
            if deadline is not None and time.monotonic() > deadline:
                raise JobTimeoutError(job_id)
            entry = self._record(job, page, text)
            del page, text
            done = self.store.put_page(job_id, index, entry, self.clock())
            if done is None or done < job.pages_total:
                return "done"
            finished = self.store.get(job_id)
            if finished is None or finished.finished:
                return "done"
            self._write_files(finished, decoder, deadline)
            decoder.forget()  # the input goes from the decoder before the job is done
            now = self.clock()
            self.store.finish(
                finished.evolve(status="succeeded", updated=now, expires_at=self._expiry())
            )
            self.record_state(finished, "succeeded", "job %s succeeded: %d page(s)", job_id, done)
        except StoreUnavailableError:
            raise
        except ServiceError as error:
            self.fail(job_id, f"{error.code}")
        except JobTimeoutError:
            self.fail(job_id, "time limit exceeded")
        except Exception as error:  # a bad page must fail its job, never kill the worker
            if should_stop():
                return "interrupted"
            self.fail(job_id, _reason(error))
        return "done"
