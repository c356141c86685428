"""What every store backend shares: the job's metadata, and :class:`Store`, which encrypts
documents and results before a backend sees them, so a backend only moves opaque bytes."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

from emulator.engine.base import ReadingOrder
from emulator.security.crypto import RecordCipher
from emulator.security.sealed import (
    DEFAULT_SPOOL_THRESHOLD,
    Bytes,
    EncryptedDocument,
    SealedWriter,
    SegmentMissingError,
    seal,
)

#: The ``api`` of a job accepted through Read v3.2.
READ_V32 = "read-v3.2"

JobStatus = Literal["notStarted", "running", "succeeded", "failed"]
TERMINAL: frozenset[JobStatus] = frozenset({"succeeded", "failed"})

Record = bytes | bytearray
"""An encrypted page result as a backend holds it (opaque bytes)."""


class KeyMismatchError(Exception):
    """This node's encryption key is not the one the other nodes of its shared store use."""


class StoreUnavailableError(Exception):
    """A shared backend cannot be reached right now (Redis down or restarting).

    The HTTP layer answers it with ``503 ServiceUnavailable`` and ``Retry-After``; workers
    wait and try again. Nothing accepted is lost: what was stored stays stored.
    """


@dataclass(frozen=True, slots=True)
class JobOptions:
    """The validated options of one analyze request, whichever API took it.

    ``api`` names the API surface that accepted the job (``read-v3.2``, or Document
    Intelligence's ``2024-11-30`` / ``2023-07-31``): a job is visible only through the API
    that created it. The six fields after ``api`` mean something only to Document
    Intelligence.
    """

    language: str | None = None
    pages: tuple[int, ...] = (1,)
    reading_order: ReadingOrder = "basic"
    model_version: str = "latest"
    api: str = READ_V32
    #: Write a searchable PDF of the input when the job succeeds (``output=pdf``).
    output_pdf: bool = False
    #: Keep each figure's image for ``GET .../figures/{figureId}`` (``output=figures``).
    output_figures: bool = False
    #: The Document Intelligence model the job runs (``prebuilt-read`` or ``prebuilt-layout``).
    model_id: str = "prebuilt-read"
    #: ``text`` or ``markdown`` (``outputContentFormat``).
    content_format: str = "text"
    #: How spans count characters (``stringIndexType``).
    string_index_type: str = "textElements"
    #: The optional analysis features asked for (``features``).
    features: tuple[str, ...] = ()
    #: Whose meter the job bills: a keyed digest of the API key that submitted it
    #: (:meth:`~emulator.security.crypto.RecordCipher.digest`), never the key; None bills nobody.
    billing_key: str | None = None
    #: The ``apim-request-id`` of the request that submitted the job, and the W3C
    #: ``traceparent`` of its span (the caller's, or this emulator's with ``--otel``): what the
    #: job's log lines and spans name, on whichever node runs it. Ids only, no content.
    request_id: str | None = None
    traceparent: str | None = None
    #: Keep a PNG of each page read, for the emulator's page-image route (asked for with the
    #: emulator-only request header ``x-ms-emulator-page-images: true``; the try-it page sends
    #: it). The images are sealed and kept with the result, like its searchable PDF.
    page_images: bool = False


@dataclass(frozen=True, slots=True)
class Job:
    """A job's metadata. The document and result are stored separately, encrypted.

    ``expires_at`` is set when the job finishes; the sweeper deletes the job after it.
    ``read_at`` is when a finished result was first served (for ``--retention 0``).
    """

    id: str
    status: JobStatus
    created: datetime
    updated: datetime
    options: JobOptions
    pages_done: int = 0
    expires_at: datetime | None = None
    read_at: datetime | None = None

    @property
    def finished(self) -> bool:
        """True once the job has succeeded or failed."""
        return self.status in TERMINAL

    @property
    def pages_total(self) -> int:
        """How many pages the job reads."""
        return len(self.options.pages)

    def evolve(self, **changes: Any) -> Job:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Expired:
    """A job the retention sweep deleted (:meth:`Store.delete_expired`): its id, and its
    record as it was, where the store still held it (Redis may have dropped the record by its
    own TTL before the sweep came), for the sweep's log line about it."""

    job_id: str
    job: Job | None


@dataclass(frozen=True, slots=True)
class Usage:
    """What one key was billed (:mod:`emulator.jobs.billing`): transactions (pages analysed) and
    the operations that billed them."""

    transactions: int = 0
    operations: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.transactions + other.transactions, self.operations + other.operations)


def billable_pages(job: Job) -> int:
    """The transactions ``job`` bills: one per page analysed, once it succeeded; else none."""
    return job.pages_total if job.status == "succeeded" else 0


class Store(ABC):
    """Persistence of jobs. Thread-safe: the event loop and every worker thread call it.

    This base class does the encryption (documents are sealed before they reach it, by
    :meth:`new_document`), so a backend only moves opaque bytes.
    """

    #: Whether the backend keeps the document :meth:`create` is given as it is (and closes it
    #: when it deletes it), rather than copying its sealed segments into its own storage.
    _keeps_documents: ClassVar[bool] = False

    def __init__(self, cipher: RecordCipher) -> None:
        self._cipher = cipher

    @property
    def cipher(self) -> RecordCipher:
        """The cipher that seals this store's documents and results."""
        return self._cipher

    # --- public API, shared by every backend ----------------------------------------------

    def new_document(
        self,
        operation_id: str,
        *,
        spool_threshold: int | None = DEFAULT_SPOOL_THRESHOLD,
        spool_dir: Path | None = None,
    ) -> SealedWriter:
        """A writer that seals a document for ``operation_id`` as it streams in, in memory
        up to ``spool_threshold`` sealed bytes, past that in an anonymous temporary file in
        ``spool_dir`` (see :class:`SealedWriter`)."""
        return SealedWriter(
            self._cipher, operation_id, spool_threshold=spool_threshold, spool_dir=spool_dir
        )

    def create(self, job: Job, document: EncryptedDocument | Bytes) -> None:
        """Store a new job with its document: sealed for ``job.id`` by :meth:`new_document`,
        or bytes already in memory (sealed here).

        The store owns the document from here on, stored or not: a backend that copies its
        segments (one at a time) closes it once they are copied, the memory backend when it
        deletes it, and a document refused here is closed at once (its spool file goes)."""
        if not isinstance(document, EncryptedDocument):
            document = seal(self._cipher, job.id, document)
        kept = False
        try:
            if document.operation_id != job.id:
                raise ValueError("the document was sealed for another operation")
            self._put_new(job, document)
            kept = self._keeps_documents
        finally:
            if not kept:
                document.close()

    def open_document(self, job_id: str) -> EncryptedDocument | None:
        """The job's document, to read through :meth:`EncryptedDocument.open` (decrypted a
        segment at a time), or None once it has been deleted."""
        return self._document(job_id)

    def read_document(self, job_id: str) -> bytes | None:
        """The job's whole document in one buffer, or None once it has been deleted (for
        tests and tools; jobs read through :meth:`open_document`)."""
        document = self._document(job_id)
        return None if document is None else document.read_all()

    def add_page(self, job: Job, page: dict[str, Any]) -> bool:
        """Store the result of the job's page number ``job.pages_done`` (its ``readResults``
        entry) with the job's new progress, in one step, as soon as it is read: a job holds
        no more than one page's result in memory, however many pages it has. A page stored
        again (a job started over) replaces the earlier one. False if the job is gone."""
        index = job.pages_done - 1
        if index < 0:
            raise ValueError("pages_done counts the page being added")
        record = self._cipher.encrypt(
            page_aad(job.id, index), json.dumps(page, separators=(",", ":")).encode()
        )
        return self._put_page(job, index, record)

    def finish(self, job: Job) -> None:
        """Record a finished job and delete its document in the same step; a failed job's
        pages go too (only a succeeded job has a result). A job that succeeds bills its pages
        to ``options.billing_key`` in that same step, once, however often it is finished."""
        self._finish(job)

    def start(self, job_id: str, now: datetime) -> tuple[Job, bool] | None:
        """Mark the job ``running`` if it is ``notStarted``, in one atomic step, for a worker
        about to read one of its pages; the job and whether this call started it, or None if
        the job is gone or finished. (Pages of one job may be read by several workers.)"""
        return self._start(job_id, now)

    def put_page(self, job_id: str, index: int, page: dict[str, Any], now: datetime) -> int | None:
        """Store the result of the job's page ``index`` (0-based, in the job's page order)
        unless it is stored already (a page read twice after a claim is stored once), and
        count it: how many of the job's pages are stored now, or None if the job is gone or
        finished."""
        record = self._cipher.encrypt(
            page_aad(job_id, index), json.dumps(page, separators=(",", ":")).encode()
        )
        return self._put_page_once(job_id, index, record, now)

    def put_file(self, job_id: str, name: str, data: bytes) -> bool:
        """Store a file made from the job (its searchable PDF), sealed and bound to the job
        and its name, before the job is recorded finished; it lives and dies with the job's
        result. False if the job is gone."""
        return self._put_file(job_id, name, self._cipher.encrypt(file_aad(job_id, name), data))

    def read_file(self, job_id: str, name: str) -> bytes | None:
        """The file ``name`` stored for the job, or None if there is none."""
        record = self._get_file(job_id, name)
        return None if record is None else self._cipher.decrypt(file_aad(job_id, name), record)

    def read_pages(self, job_id: str) -> list[dict[str, Any]]:
        """The ``readResults`` entries stored for the job so far, in page order."""
        return [
            cast("dict[str, Any]", json.loads(self._cipher.decrypt(page_aad(job_id, i), record)))
            for i, record in enumerate(self._get_pages(job_id))
        ]

    # --- backend primitives ---------------------------------------------------------------

    @abstractmethod
    def _put_new(self, job: Job, document: EncryptedDocument) -> None:
        """Store the new job and its document (read its segments one at a time, through
        :meth:`EncryptedDocument.sealed_segment`: it may be hundreds of megabytes)."""

    @abstractmethod
    def _document(self, job_id: str) -> EncryptedDocument | None: ...

    @abstractmethod
    def _put_page(self, job: Job, index: int, record: Record) -> bool: ...

    @abstractmethod
    def _get_pages(self, job_id: str) -> list[Record]: ...

    @abstractmethod
    def _put_file(self, job_id: str, name: str, record: Record) -> bool: ...

    @abstractmethod
    def _get_file(self, job_id: str, name: str) -> Record | None: ...

    @abstractmethod
    def _start(self, job_id: str, now: datetime) -> tuple[Job, bool] | None: ...

    @abstractmethod
    def _put_page_once(
        self, job_id: str, index: int, record: Record, now: datetime
    ) -> int | None: ...

    @abstractmethod
    def _finish(self, job: Job) -> None: ...

    @abstractmethod
    def get(self, job_id: str) -> Job | None:
        """The job's metadata, or None if there is no such job."""

    @abstractmethod
    def update(self, job: Job) -> bool:
        """Replace the job's metadata; False if the job no longer exists (e.g. deleted)."""

    @abstractmethod
    def delete(self, job_id: str) -> bool:
        """Delete the job, its document and its pages' results now; False if it did not
        exist."""

    @abstractmethod
    def usage(self) -> dict[str, Usage]:
        """What has been billed, by billing key (see :attr:`JobOptions.billing_key`)."""

    @abstractmethod
    def clear_usage(self, owner: str | None = None) -> None:
        """Set the meter of billing key ``owner`` back to zero (every meter, for ``None``)."""

    @abstractmethod
    def owned(self, owner: str) -> list[str]:
        """The ids of every job held whose billing key is ``owner``, finished or not."""

    @abstractmethod
    def delete_expired(self, now: datetime) -> list[Expired]:
        """Delete every finished job whose ``expires_at`` is at or before ``now``; the jobs
        deleted."""

    @abstractmethod
    def unfinished(self) -> list[Job]:
        """Jobs not yet finished, oldest first (to resume them after a restart)."""

    def check(self) -> None:  # noqa: B027 - optional hook, a no-op for a store of one node
        """Check, before serving, that this node can use the store; :class:`KeyMismatchError`
        if a shared store was set up with another encryption key."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for the memory backend
        """Release resources."""


def page_aad(job_id: str, index: int) -> str:
    # Binds a page's record to its job and its place, so records cannot be swapped.
    return f"{job_id}/page/{index}"


def file_aad(job_id: str, name: str) -> str:
    """Binds a stored file to its job and its name."""
    return f"{job_id}/file/{name}"


def timestamp(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def from_timestamp(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def options_json(options: JobOptions) -> str:
    """The options as stored (JSON; no document content)."""
    return json.dumps(
        {
            "language": options.language,
            "pages": list(options.pages),
            "readingOrder": options.reading_order,
            "modelVersion": options.model_version,
            "api": options.api,
            "outputPdf": options.output_pdf,
            "outputFigures": options.output_figures,
            "modelId": options.model_id,
            "contentFormat": options.content_format,
            "stringIndexType": options.string_index_type,
            "features": list(options.features),
            "billingKey": options.billing_key,
            "requestId": options.request_id,
            "traceparent": options.traceparent,
            "pageImages": options.page_images,
        }
    )


def options_from_json(text: str) -> JobOptions:
    """The options back from :func:`options_json` (records written before a field existed
    get its default)."""
    raw = json.loads(text)
    return JobOptions(
        language=raw["language"],
        pages=tuple(int(p) for p in raw["pages"]),
        reading_order=raw["readingOrder"],
        model_version=raw["modelVersion"],
        api=raw.get("api", READ_V32),
        output_pdf=bool(raw.get("outputPdf", False)),
        output_figures=bool(raw.get("outputFigures", False)),
        model_id=raw.get("modelId", "prebuilt-read"),
        content_format=raw.get("contentFormat", "text"),
        string_index_type=raw.get("stringIndexType", "textElements"),
        features=tuple(raw.get("features", ())),
        billing_key=raw.get("billingKey"),
        request_id=raw.get("requestId"),
        traceparent=raw.get("traceparent"),
        page_images=bool(raw.get("pageImages", False)),
    )


class FetchedDocument(EncryptedDocument):
    """A document whose sealed segments stay in the backend until a reader needs one."""

    def __init__(
        self,
        cipher: RecordCipher,
        operation_id: str,
        lengths: Sequence[int],
        fetch: Callable[[str, int], bytes | None],
    ) -> None:
        super().__init__(cipher, operation_id, lengths)
        self._fetch = fetch

    def sealed_segment(self, index: int) -> bytes:
        sealed = self._fetch(self.operation_id, index)
        if sealed is None:
            raise SegmentMissingError(f"segment {index} of {self.operation_id} is gone")
        return sealed
