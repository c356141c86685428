"""Where jobs, their documents and their results live: one small interface, two backends.

:class:`MemoryStore` (the default) keeps everything in this process; :class:`SqliteStore`
(``--data-dir``) keeps it in an embedded database so it survives a restart. A shared backend
(Redis) only has to implement :class:`Store`; the routes, the job runner and the engine never
see which one is in use.

Every document and result is encrypted with :class:`emulator.crypto.RecordCipher` before it
reaches either backend, bound to its operation id: documents in segments, sealed as they
stream in (:mod:`emulator.sealed`), results one record per page, stored as each page is read.
Only job metadata (status, times, page counts, the query options) is stored in the clear;
none of it is document content.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from emulator.crypto import SEGMENT_OVERHEAD, RecordCipher
from emulator.engine.base import ReadingOrder
from emulator.sealed import (
    Bytes,
    EncryptedDocument,
    SealedDocument,
    SealedWriter,
    SegmentMissingError,
    seal,
)

JobStatus = Literal["notStarted", "running", "succeeded", "failed"]
TERMINAL: frozenset[JobStatus] = frozenset({"succeeded", "failed"})

DB_FILE_NAME = "emulator.sqlite3"

Record = bytes | bytearray
"""An encrypted page result as a backend holds it (opaque bytes)."""


@dataclass(frozen=True, slots=True)
class JobOptions:
    """The validated query options of one analyze request."""

    language: str | None = None
    pages: tuple[int, ...] = (1,)
    reading_order: ReadingOrder = "basic"
    model_version: str = "latest"


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


class Store(ABC):
    """Persistence of jobs. Thread-safe: the event loop and every worker thread call it.

    This base class does the encryption (documents are sealed before they reach it, by
    :meth:`new_document`), so a backend only moves opaque bytes.
    """

    def __init__(self, cipher: RecordCipher) -> None:
        self._cipher = cipher

    # --- public API, shared by every backend ----------------------------------------------

    def new_document(self, operation_id: str) -> SealedWriter:
        """A writer that seals a document for ``operation_id`` as it streams in."""
        return SealedWriter(self._cipher, operation_id)

    def create(self, job: Job, document: SealedDocument | Bytes) -> None:
        """Store a new job with its document: sealed for ``job.id`` by :meth:`new_document`,
        or bytes already in memory (sealed here)."""
        if not isinstance(document, SealedDocument):
            document = seal(self._cipher, job.id, document)
        elif document.operation_id != job.id:
            raise ValueError("the document was sealed for another operation")
        self._put_new(job, document)

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
            _page_aad(job.id, index), json.dumps(page, separators=(",", ":")).encode()
        )
        return self._put_page(job, index, record)

    def finish(self, job: Job) -> None:
        """Record a finished job and delete its document in the same step; a failed job's
        pages go too (only a succeeded job has a result)."""
        self._finish(job)

    def read_pages(self, job_id: str) -> list[dict[str, Any]]:
        """The ``readResults`` entries stored for the job so far, in page order."""
        return [
            cast("dict[str, Any]", json.loads(self._cipher.decrypt(_page_aad(job_id, i), record)))
            for i, record in enumerate(self._get_pages(job_id))
        ]

    # --- backend primitives ---------------------------------------------------------------

    @abstractmethod
    def _put_new(self, job: Job, document: SealedDocument) -> None: ...

    @abstractmethod
    def _document(self, job_id: str) -> EncryptedDocument | None: ...

    @abstractmethod
    def _put_page(self, job: Job, index: int, record: Record) -> bool: ...

    @abstractmethod
    def _get_pages(self, job_id: str) -> list[Record]: ...

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
    def delete_expired(self, now: datetime) -> int:
        """Delete every finished job whose ``expires_at`` is at or before ``now``."""

    @abstractmethod
    def unfinished(self) -> list[Job]:
        """Jobs not yet finished, oldest first (to resume them after a restart)."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for the memory backend
        """Release resources."""


class MemoryStore(Store):
    """Everything in this process's memory; gone on exit."""

    def __init__(self, cipher: RecordCipher) -> None:
        super().__init__(cipher)
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._documents: dict[str, SealedDocument] = {}
        self._pages: dict[str, dict[int, Record]] = {}

    def _put_new(self, job: Job, document: SealedDocument) -> None:
        with self._lock:
            self._jobs[job.id] = job
            # The sealed segments themselves, not a copy: the upload stays held once.
            self._documents[job.id] = document

    def _document(self, job_id: str) -> EncryptedDocument | None:
        with self._lock:
            return self._documents.get(job_id)

    def _put_page(self, job: Job, index: int, record: Record) -> bool:
        with self._lock:
            if job.id not in self._jobs:
                return False
            self._jobs[job.id] = job
            self._pages.setdefault(job.id, {})[index] = record
            return True

    def _get_pages(self, job_id: str) -> list[Record]:
        with self._lock:
            pages = self._pages.get(job_id, {})
            return [pages[index] for index in sorted(pages)]

    def _finish(self, job: Job) -> None:
        with self._lock:
            if job.id not in self._jobs:
                return
            self._jobs[job.id] = job
            self._documents.pop(job.id, None)
            if job.status != "succeeded":
                self._pages.pop(job.id, None)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def update(self, job: Job) -> bool:
        with self._lock:
            if job.id not in self._jobs:
                return False
            self._jobs[job.id] = job
            return True

    def delete(self, job_id: str) -> bool:
        with self._lock:
            self._documents.pop(job_id, None)
            self._pages.pop(job_id, None)
            return self._jobs.pop(job_id, None) is not None

    def delete_expired(self, now: datetime) -> int:
        with self._lock:
            expired = [
                job_id
                for job_id, job in self._jobs.items()
                if job.expires_at is not None and job.expires_at <= now
            ]
            for job_id in expired:
                self._jobs.pop(job_id, None)
                self._documents.pop(job_id, None)
                self._pages.pop(job_id, None)
            return len(expired)

    def unfinished(self) -> list[Job]:
        with self._lock:
            jobs = [job for job in self._jobs.values() if not job.finished]
        return sorted(jobs, key=lambda job: job.created)


def _page_aad(job_id: str, index: int) -> str:
    # Binds a page's record to its job and its place, so records cannot be swapped.
    return f"{job_id}/page/{index}"


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _options_json(options: JobOptions) -> str:
    return json.dumps(
        {
            "language": options.language,
            "pages": list(options.pages),
            "readingOrder": options.reading_order,
            "modelVersion": options.model_version,
        }
    )


def _options_from_json(text: str) -> JobOptions:
    raw = json.loads(text)
    return JobOptions(
        language=raw["language"],
        pages=tuple(int(p) for p in raw["pages"]),
        reading_order=raw["readingOrder"],
        model_version=raw["modelVersion"],
    )


class _StoredDocument(EncryptedDocument):
    """A document whose sealed segments stay in the database until a reader needs one."""

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


class SqliteStore(Store):
    """An embedded SQLite database in the data directory.

    Job metadata lives in ``jobs``; a document's sealed segments are rows of
    ``document_segments``, read one at a time while a job rasterises its pages; each page's
    sealed result is a row of ``result_pages``, written as soon as the page is read.

    ``secure_delete`` makes SQLite overwrite deleted content with zeros, so a deleted
    document or an expired result is gone from the file, not merely unlinked from the
    b-tree. The rollback journal (not WAL) keeps no long-lived copy of old pages.
    """

    def __init__(self, cipher: RecordCipher, data_dir: Path) -> None:
        super().__init__(cipher)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE_NAME
        self._lock = threading.Lock()
        # One connection shared under a lock: simple, and SQLite serialises writers anyway.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA secure_delete = ON")
        self._db.execute("PRAGMA journal_mode = DELETE")
        self._db.execute(
            """CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY,
                status TEXT NOT NULL,
                created REAL NOT NULL,
                updated REAL NOT NULL,
                options TEXT NOT NULL,
                pages_done INTEGER NOT NULL,
                expires_at REAL,
                read_at REAL
            )"""
        )
        for table in self._PER_JOB_TABLES:
            self._db.execute(
                f"""CREATE TABLE IF NOT EXISTS {table} (
                    job_id TEXT NOT NULL,
                    idx INTEGER NOT NULL,
                    data BLOB NOT NULL,
                    PRIMARY KEY (job_id, idx)
                )"""
            )
        self._db.execute("CREATE INDEX IF NOT EXISTS jobs_expires ON jobs (expires_at)")
        with self._transaction():
            # Rows whose job is gone (written by an older version, or orphaned by a crash).
            for table in self._PER_JOB_TABLES:
                self._db.execute(
                    f"DELETE FROM {table} WHERE job_id NOT IN (SELECT id FROM jobs)"  # noqa: S608
                )
        self.path.chmod(0o600)

    _COLUMNS = "id, status, created, updated, options, pages_done, expires_at, read_at"
    #: Sealed blobs kept per job, one row each, numbered from 0: a document's segments and
    #: the results of its pages.
    _PER_JOB_TABLES = ("document_segments", "result_pages")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One atomic write (the caller holds the lock, or is the constructor)."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @staticmethod
    def _row_to_job(row: tuple[Any, ...]) -> Job:
        return Job(
            id=row[0],
            status=row[1],
            created=cast("datetime", _dt(row[2])),
            updated=cast("datetime", _dt(row[3])),
            options=_options_from_json(row[4]),
            pages_done=row[5],
            expires_at=_dt(row[6]),
            read_at=_dt(row[7]),
        )

    def _put_new(self, job: Job, document: SealedDocument) -> None:
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT INTO jobs (id, status, created, updated, options, pages_done, expires_at, "
                "read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    job.status,
                    _ts(job.created),
                    _ts(job.updated),
                    _options_json(job.options),
                    job.pages_done,
                    _ts(job.expires_at),
                    _ts(job.read_at),
                ),
            )
            self._db.executemany(
                "INSERT INTO document_segments (job_id, idx, data) VALUES (?, ?, ?)",
                ((job.id, index, sealed) for index, sealed in enumerate(document.segments)),
            )

    def _document(self, job_id: str) -> EncryptedDocument | None:
        with self._lock:
            rows = self._db.execute(
                "SELECT length(data) FROM document_segments WHERE job_id = ? ORDER BY idx",
                (job_id,),
            ).fetchall()
        if not rows:
            return None
        lengths = [row[0] - SEGMENT_OVERHEAD for row in rows]
        return _StoredDocument(self._cipher, job_id, lengths, self._segment)

    def _segment(self, job_id: str, index: int) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM document_segments WHERE job_id = ? AND idx = ?",
                (job_id, index),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def _put_page(self, job: Job, index: int, record: Record) -> bool:
        with self._lock, self._transaction():
            if not self._update_locked(job):
                return False
            self._db.execute(
                "INSERT OR REPLACE INTO result_pages (job_id, idx, data) VALUES (?, ?, ?)",
                (job.id, index, record),
            )
            return True

    def _get_pages(self, job_id: str) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM result_pages WHERE job_id = ? ORDER BY idx", (job_id,)
            ).fetchall()
        return [bytes(row[0]) for row in rows]

    def _finish(self, job: Job) -> None:
        with self._lock, self._transaction():
            if self._update_locked(job):
                self._db.execute("DELETE FROM document_segments WHERE job_id = ?", (job.id,))
                if job.status != "succeeded":
                    self._db.execute("DELETE FROM result_pages WHERE job_id = ?", (job.id,))

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {self._COLUMNS} FROM jobs WHERE id = ?",  # noqa: S608 - constant columns
                (job_id,),
            ).fetchone()
        return None if row is None else self._row_to_job(row)

    def update(self, job: Job) -> bool:
        with self._lock:
            return self._update_locked(job)

    def _update_locked(self, job: Job) -> bool:
        cursor = self._db.execute(
            "UPDATE jobs SET status = ?, updated = ?, options = ?, pages_done = ?, "
            "expires_at = ?, read_at = ? WHERE id = ?",
            (
                job.status,
                _ts(job.updated),
                _options_json(job.options),
                job.pages_done,
                _ts(job.expires_at),
                _ts(job.read_at),
                job.id,
            ),
        )
        return cursor.rowcount > 0

    def delete(self, job_id: str) -> bool:
        with self._lock, self._transaction():
            for table in self._PER_JOB_TABLES:
                self._db.execute(f"DELETE FROM {table} WHERE job_id = ?", (job_id,))  # noqa: S608
            cursor = self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            return cursor.rowcount > 0

    def delete_expired(self, now: datetime) -> int:
        expired = "SELECT id FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ?"
        with self._lock, self._transaction():
            for table in self._PER_JOB_TABLES:
                self._db.execute(
                    f"DELETE FROM {table} WHERE job_id IN ({expired})",  # noqa: S608
                    (now.timestamp(),),
                )
            cursor = self._db.execute(
                f"DELETE FROM jobs WHERE id IN ({expired})",  # noqa: S608 - constant query
                (now.timestamp(),),
            )
            return cursor.rowcount

    def unfinished(self) -> list[Job]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._COLUMNS} FROM jobs "  # noqa: S608 - constant columns
                "WHERE status IN ('notStarted', 'running') ORDER BY created"
            ).fetchall()
        return [self._row_to_job(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
