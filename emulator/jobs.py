"""Jobs: the state machine that runs one job, and the queue that feeds it to workers.

A job goes ``notStarted`` → ``running`` → ``succeeded`` | ``failed``. :class:`JobRunner`
moves it along; it only talks to the :class:`~emulator.store.Store` and an
:class:`~emulator.engine.base.OcrEngine`, so it runs the same under any queue.

:class:`JobQueue` is the small interface the HTTP side sees. :class:`ThreadJobQueue` is the
in-process implementation: a bounded queue and a pool of worker threads, each with its own
engine (ONNX sessions are not shared across threads). :class:`ManualJobQueue` runs jobs only
when a test says so, for deterministic tests of ``notStarted`` and a full queue. A shared
backend (Redis lists, RabbitMQ) would implement the same interface.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, Literal

from emulator import documents, languages, page_records
from emulator.clock import Clock
from emulator.decoding import DEFAULT_MEMORY as DEFAULT_DECODE_MEMORY
from emulator.decoding import DecoderError, DecoderProcess
from emulator.documents import DocumentInfo, Limits, PageImage
from emulator.engine.base import OcrEngine, PageText
from emulator.errors import ServiceError
from emulator.logs import job_fields
from emulator.sealed import EncryptedDocument
from emulator.store import Expired, Job, Store, StoreUnavailableError
from emulator.tracing import Attributes, TraceContext, Tracing, parse_traceparent

log = logging.getLogger("emulator.jobs")

EngineFactory = Callable[[int], OcrEngine]
"""Builds one engine; the argument is the number of ONNX intra-op threads it may use."""

# With --retention 0 a result is deleted once read; one that is never read still goes after
# this long, so an abandoned job cannot keep a result forever.
UNREAD_RESULT_CAP = timedelta(hours=24)


class QueueFullError(Exception):
    """The queue has no room; the job was not accepted."""


class JobTimeoutError(Exception):
    """The job ran past its time limit (``--job-timeout``)."""


HoldStage = Literal["notStarted", "running"]
"""Where :class:`JobControl` can stop a job: before it starts, or once it is running."""

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


# A held worker wakes this often to notice a shutdown it was not told about directly.
_HOLD_POLL_SECONDS = 0.1


class JobControl:
    """Test hooks that :class:`JobRunner` consults at fixed points of every job.

    Tests (and :mod:`emulator.testing`) use it to see a job in a given state without racing
    the worker: :meth:`hold` stops every job that reaches a stage until :meth:`release`;
    :meth:`fail_next` makes the next jobs to start end ``failed``. With no hold and no
    failure pending it costs one lock round-trip per checkpoint. Thread-safe.

    Every hook takes an ``owner``: the billing key (:attr:`JobOptions.billing_key`) of the
    caller whose jobs it is for, so test workers that share one emulator, each with its own
    key, hold and fail only their own jobs. ``None`` (the default) means every job.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holding: dict[str | None, set[HoldStage]] = {}
        self._held: dict[str, tuple[HoldStage, str | None]] = {}
        self._fail_next: dict[str | None, int] = {}
        self._closed = False
        self._work: threading.BoundedSemaphore | None = None

    def hold(self, stage: HoldStage = "notStarted", owner: str | None = None) -> None:
        """From now on, stop every job of ``owner`` that reaches ``stage`` until
        :meth:`release`."""
        if stage not in ("notStarted", "running"):
            raise ValueError(f"stage must be 'notStarted' or 'running', not {stage!r}")
        with self._cond:
            self._holding.setdefault(owner, set()).add(stage)

    def release(self, owner: str | None = None) -> None:
        """Stop the holds ``owner`` asked for (every hold, for ``None``) and let the jobs
        they held go on."""
        with self._cond:
            if owner is None:
                self._holding.clear()
            else:
                self._holding.pop(owner, None)
            self._cond.notify_all()

    def fail_next(self, count: int = 1, owner: str | None = None) -> None:
        """Make the next ``count`` jobs of ``owner`` that start end ``failed`` (adds to any
        pending)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        with self._cond:
            self._fail_next[owner] = self._fail_next.get(owner, 0) + count

    def clear(self, owner: str | None = None) -> None:
        """Release the holds and forget the pending failures of ``owner`` (everyone's, for
        ``None``)."""
        with self._cond:
            if owner is None:
                self._fail_next.clear()
                self._holding.clear()
            else:
                self._fail_next.pop(owner, None)
                self._holding.pop(owner, None)
            self._cond.notify_all()

    def limit_work(self, count: int | None) -> None:
        """Let at most ``count`` whole jobs do their work (decode and read pages) at once,
        past their checkpoints; ``None`` for no limit. For a queue with more job threads than
        engines (so that held jobs do not stall the others): pages then wait undecoded."""
        if count is not None and count < 1:
            raise ValueError("count must be >= 1")
        self._work = None if count is None else threading.BoundedSemaphore(count)

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """The block in which a job does its work, within :meth:`limit_work`'s limit."""
        gate = self._work
        if gate is None:
            yield
            return
        with gate:
            yield

    def close(self) -> None:
        """Release everything for good (shutdown): no checkpoint blocks any more."""
        with self._cond:
            self._closed = True
            self._holding.clear()
            self._cond.notify_all()

    @property
    def held(self) -> dict[str, HoldStage]:
        """The jobs waiting at a checkpoint right now, with their stage."""
        with self._cond:
            return {job_id: stage for job_id, (stage, _) in self._held.items()}

    def _held_by(self, owner: str | None) -> list[str]:
        return [i for i, (_, held) in self._held.items() if owner is None or held == owner]

    def held_by(self, owner: str | None) -> list[str]:
        """The ids of the jobs of ``owner`` (of anyone, for ``None``) held right now, oldest
        first."""
        with self._cond:
            return self._held_by(owner)

    def wait_held(
        self, count: int = 1, timeout: float = 30.0, owner: str | None = None
    ) -> list[str]:
        """Block until at least ``count`` jobs of ``owner`` (of anyone, for ``None``) are
        held; return their ids (oldest first).

        Raises :class:`TimeoutError` if that does not happen within ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._held_by(owner)) >= count, timeout):
                raise TimeoutError(f"{len(self._held_by(owner))} job(s) held, not {count}")
            return self._held_by(owner)

    def _holds(self, stage: HoldStage, owner: str | None) -> bool:
        if self._closed:
            return False
        if stage in self._holding.get(None, ()):
            return True
        return owner is not None and stage in self._holding.get(owner, ())

    def checkpoint(
        self,
        job_id: str,
        stage: HoldStage,
        should_stop: Callable[[], bool],
        owner: str | None = None,
    ) -> bool:
        """Called by the runner when ``job_id`` (of ``owner``) reaches ``stage``; blocks
        while it is held. True if it was held (the job may have changed meanwhile)."""
        with self._cond:
            if not self._holds(stage, owner):
                return False
            self._held[job_id] = (stage, owner)
            self._cond.notify_all()  # wakes wait_held
            try:
                while self._holds(stage, owner) and not should_stop():
                    self._cond.wait(_HOLD_POLL_SECONDS)
            finally:
                del self._held[job_id]
            return True

    def take_failure(self, owner: str | None = None) -> bool:
        """True (once per pending failure) if the job of ``owner`` starting now must fail:
        a failure asked for that owner is used first, then one asked for every job."""
        with self._cond:
            for whose in (owner, None) if owner is not None else (None,):
                if self._fail_next.get(whose, 0) > 0:
                    self._fail_next[whose] -= 1
                    return True
            return False


class JobEvents:
    """What a :class:`JobRunner` reports as its jobs move, for metrics; these do nothing
    (:class:`emulator.metrics.Metrics` counts them)."""

    def page_read(self, seconds: float) -> None:
        """A worker of this node read a page; the engine took ``seconds``."""

    def state_changed(self, state: str, count: int = 1) -> None:
        """``count`` jobs changed to ``state`` here (``notStarted``, ``running``,
        ``succeeded``, ``failed``, ``deleted``, ``expired``)."""


def log_state(job: Job, state: str, message: str, *args: object, level: int = logging.INFO) -> None:
    """Log ``job``'s change to ``state``: ``message`` (which names the job), with the
    operation, the state and the id and trace of the request that submitted it as the
    record's fields (:func:`emulator.logs.job_fields`), whichever thread or node logs it."""
    trace = parse_traceparent(job.options.traceparent)
    trace_id = trace.trace_id if trace is not None else None
    fields = job_fields(job.id, state, job.options.request_id, trace_id)
    log.log(level, message, *args, extra=fields)


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
        # Each worker thread draws its pages in a decoding child of its own (emulator.decoding).
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

    def _page_read(self, seconds: float) -> None:
        self.events.page_read(seconds)

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
            # Drawn in a child (emulator.decoding): a hostile page costs this job, no more.
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
                page = decoder.page(
                    info, number, documents.PDF_DPI, deadline, job.options.page_images
                )
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
        self._page_read(seconds)
        return text

    def _record(self, job: Job, page: PageImage, text: PageText) -> dict[str, Any]:
        """The stored record of a page the engine read: its lines and words, and for a
        ``prebuilt-layout`` job the page's tables, selection marks and figures (found here,
        while the page's pixels are at hand), with each figure's image kept for
        ``output=figures``."""
        entry = page_records.read_result(page, text, job.options.language)
        if page.preview is not None:  # asked for with x-ms-emulator-page-images
            self.store.put_file(job.id, page_records.page_image_file(page.number), page.preview)
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
            page = decoder.page(info, number, documents.PDF_DPI, deadline, job.options.page_images)
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


class JobQueue(ABC):
    """Where accepted jobs wait for a worker. Thread-safe."""

    capacity: int
    workers: int

    @property
    def durable(self) -> bool:
        """True if queued work outlives this process (a shared queue), so that a restart has
        nothing to resume: :meth:`resume` is then never called."""
        return False

    @abstractmethod
    def start(self, runner: JobRunner) -> None:
        """Start processing with ``runner`` (engines may load in the background)."""

    @abstractmethod
    def submit(self, job_id: str) -> None:
        """Queue a new job; :class:`QueueFullError` if there is no room."""

    @abstractmethod
    def resume(self, job_id: str) -> None:
        """Queue a job accepted before a restart, regardless of capacity."""

    @abstractmethod
    def stop(self, timeout: float = 10.0) -> None:
        """Stop workers; a job in progress is interrupted between pages."""

    def drain(self) -> None:  # noqa: B027 - optional hook: a queue without workers has none
        """Take no more work (a graceful shutdown has begun); what runs goes on. Work left
        waiting stays queued: a shared queue's goes to other nodes, a persistent store's
        resumes at the next start."""

    def wait_idle(self, timeout: float) -> bool:
        """After :meth:`drain`, block until no worker runs anything, at most ``timeout``
        seconds; True if they all finished."""
        return True

    @property
    @abstractmethod
    def depth(self) -> int:
        """Jobs waiting for a worker."""

    @property
    @abstractmethod
    def ready(self) -> bool:
        """True once the engines are loaded and jobs can run."""

    @property
    def busy(self) -> int:
        """Workers running a job right now (for the Retry-After estimate)."""
        return 0

    @property
    def full(self) -> bool:
        """True if a submit would be refused right now."""
        return self.depth >= self.capacity

    @property
    def error(self) -> str | None:
        """Why the queue cannot run jobs, if it cannot."""
        return None


def job_deadline(job_timeout: float | None) -> float | None:
    """The ``time.monotonic()`` by which a job starting now must be done, if limited."""
    return None if job_timeout is None else time.monotonic() + job_timeout


class WorkItem(ABC):
    """One unit of work a worker takes from a :class:`WorkSource`: a whole job, or one page
    of one (a cluster's dispatcher splits documents into pages)."""

    job_id: str

    @abstractmethod
    def run(
        self,
        runner: JobRunner,
        engine: OcrEngine,
        should_stop: Callable[[], bool],
        deadline: float | None,
    ) -> None:
        """Do the work with ``engine``; ``deadline`` (monotonic) bounds it when limited."""


class WholeJob(WorkItem):
    """A job read from its first page to its last by one worker."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id

    def run(
        self,
        runner: JobRunner,
        engine: OcrEngine,
        should_stop: Callable[[], bool],
        deadline: float | None,
    ) -> None:
        runner.run(self.job_id, engine, should_stop, deadline)


class WorkSource(ABC):
    """Where a worker pool's work waits: this process's memory (:class:`LocalWorkSource`),
    or a queue every node of a cluster shares (:mod:`emulator.store.redis`). Thread-safe."""

    capacity: int
    #: The work survives this process (a shared queue): nothing to resume after a restart.
    durable: bool = False

    @abstractmethod
    def submit(self, job_id: str) -> None:
        """Queue a new job; :class:`QueueFullError` if there is no room."""

    @abstractmethod
    def resume(self, job_id: str) -> None:
        """Queue a job accepted before a restart, regardless of capacity."""

    @abstractmethod
    def take(self, worker: int) -> WorkItem | None:
        """The next item for worker ``worker``, blocking until there is one; None once the
        source is closed."""

    @abstractmethod
    def close(self, workers: int) -> None:
        """Wake every worker blocked in :meth:`take` (``workers`` of them) and end the source."""

    @property
    @abstractmethod
    def depth(self) -> int:
        """Jobs waiting for a worker."""

    @property
    def error(self) -> str | None:
        """Why the source cannot hand out work right now, if it cannot."""
        return None


class LocalWorkSource(WorkSource):
    """A bounded queue of whole jobs in this process's memory."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._waiting = 0
        self._closed = False

    def submit(self, job_id: str) -> None:
        with self._lock:
            if self._waiting >= self.capacity:
                raise QueueFullError(job_id)
            self._waiting += 1
        self._queue.put(job_id)

    def resume(self, job_id: str) -> None:
        with self._lock:
            self._waiting += 1
        self._queue.put(job_id)

    def take(self, worker: int) -> WorkItem | None:
        if self._closed:
            return None
        job_id = self._queue.get()
        if job_id is None:
            return None
        with self._lock:
            self._waiting -= 1
        return WholeJob(job_id)

    def close(self, workers: int) -> None:
        self._closed = True
        for _ in range(workers):
            self._queue.put(None)

    @property
    def depth(self) -> int:
        with self._lock:
            return self._waiting


class PooledJobQueue(JobQueue):
    """A fixed pool of worker threads serving a :class:`WorkSource` (by default a bounded
    in-process queue): the bookkeeping shared by :class:`ThreadJobQueue` and
    :class:`emulator.workers.ProcessJobQueue`.

    Subclasses implement :meth:`_serve`, the loop of worker ``index``: load an engine, then
    take work with :meth:`_take` until it returns None, running each item inside
    :meth:`_running`.
    """

    def __init__(
        self,
        engine_factory: EngineFactory,
        workers: int,
        intra_op_threads: int,
        capacity: int,
        job_timeout: float | None = None,
        source: WorkSource | None = None,
    ) -> None:
        self.engine_factory = engine_factory
        self.workers = workers
        self.intra_op_threads = intra_op_threads
        self.source = source or LocalWorkSource(capacity)
        self.capacity = self.source.capacity
        self.job_timeout = job_timeout
        self._lock = threading.Lock()
        self._busy = 0
        self._loaded = 0
        self._load_errors: list[str] = []
        self._stop = threading.Event()
        self._draining = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def durable(self) -> bool:
        return self.source.durable

    def start(self, runner: JobRunner) -> None:
        for index in range(self.workers):
            thread = threading.Thread(
                target=self._serve, args=(index, runner), name=f"ocr-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    @abstractmethod
    def _serve(self, index: int, runner: JobRunner) -> None:
        """The loop of worker ``index``."""

    def _loaded_one(self, error: str | None) -> None:
        """Record that a worker's engine loaded, or why it did not."""
        with self._lock:
            if error is None:
                self._loaded += 1
            else:
                self._load_errors.append(error)

    def _take(self, index: int) -> WorkItem | None:
        """The next item for worker ``index``, or None when the queue is stopping."""
        if self._stop.is_set() or self._draining.is_set():
            return None
        return self.source.take(index)

    @contextlib.contextmanager
    def _running(self, job_id: str) -> Iterator[None]:
        """Counts a job as busy while its worker runs it, and keeps the worker alive through
        anything the job raises (a store error before the job could even be marked failed):
        the job keeps its stored state and a persistent store resumes it at the next start."""
        with self._lock:
            self._busy += 1
        try:
            yield
        except Exception:
            log.exception("job %s stopped by an unexpected error; the worker carries on", job_id)
        finally:
            with self._lock:
                self._busy -= 1

    def submit(self, job_id: str) -> None:
        self.source.submit(job_id)

    def resume(self, job_id: str) -> None:
        self.source.resume(job_id)

    def drain(self) -> None:
        if self._draining.is_set():
            return
        self._draining.set()
        # Wakes the workers waiting for work; a page taken meanwhile from a shared queue is
        # handed back by the source itself.
        self.source.close(len(self._threads))

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.source.close(len(self._threads))
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def depth(self) -> int:
        return self.source.depth

    @property
    def busy(self) -> int:
        with self._lock:
            return self._busy

    @property
    def ready(self) -> bool:
        with self._lock:
            loaded = self._loaded == self.workers
        return loaded and self.source.error is None

    @property
    def error(self) -> str | None:
        with self._lock:
            errors = list(self._load_errors)
        if (source_error := self.source.error) is not None:
            errors.append(source_error)
        return "; ".join(errors) or None


class ThreadJobQueue(PooledJobQueue):
    """A bounded in-process queue served by a pool of threads, one engine each.

    For tests and embedding: a thread cannot be killed, so ``job_timeout`` is enforced only
    between pages, and a page that hangs keeps its thread. The emulator's default is
    :class:`emulator.workers.ProcessJobQueue`, which enforces both.
    """

    def _serve(self, index: int, runner: JobRunner) -> None:
        engine: OcrEngine | None = None
        try:
            engine = self.engine_factory(self.intra_op_threads)
        except Exception as error:
            log.exception("OCR engine failed to load")
            self._loaded_one(f"{type(error).__name__}: {error}")
        else:
            self._loaded_one(None)
        while (item := self._take(index)) is not None:
            with self._running(item.job_id):
                if engine is None:
                    runner.fail(item.job_id, "engine not loaded")
                else:
                    item.run(runner, engine, self._stop.is_set, job_deadline(self.job_timeout))


class ManualJobQueue(JobQueue):
    """Runs jobs only when told to (:meth:`run_next`, :meth:`run_all`), in the caller's thread.

    For deterministic tests: a job stays ``notStarted`` until the test runs it.
    """

    workers = 1

    def __init__(self, engine: OcrEngine, capacity: int = 100) -> None:
        self.engine = engine
        self.capacity = capacity
        self._pending: deque[str] = deque()
        self._lock = threading.Lock()
        self._runner: JobRunner | None = None

    def start(self, runner: JobRunner) -> None:
        self._runner = runner

    def submit(self, job_id: str) -> None:
        with self._lock:
            if len(self._pending) >= self.capacity:
                raise QueueFullError(job_id)
            self._pending.append(job_id)

    def resume(self, job_id: str) -> None:
        with self._lock:
            self._pending.append(job_id)

    def stop(self, timeout: float = 10.0) -> None:
        self._runner = None

    def run_next(self) -> str | None:
        """Run the oldest waiting job; return its id, or None if none was waiting."""
        with self._lock:
            if not self._pending:
                return None
            job_id = self._pending.popleft()
        if self._runner is None:
            raise RuntimeError("the queue is not started")
        self._runner.run(job_id, self.engine, lambda: False)
        return job_id

    def run_all(self) -> list[str]:
        """Run every waiting job; return their ids in order."""
        done: list[str] = []
        while (job_id := self.run_next()) is not None:
            done.append(job_id)
        return done

    @property
    def depth(self) -> int:
        with self._lock:
            return len(self._pending)

    @property
    def ready(self) -> bool:
        return self._runner is not None


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
