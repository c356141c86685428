"""Where jobs, their documents and their results live: one small interface, two backends.

:class:`MemoryStore` (the default) keeps everything in this process; :class:`SqliteStore`
(``--data-dir``) keeps it in an embedded database so it survives a restart. A shared backend
(Redis) only has to implement :class:`Store`; the routes, the job runner and the engine never
see which one is in use.

Every document and result is encrypted with :class:`emulator.crypto.RecordCipher` before it
reaches either backend, bound to its operation id. Only job metadata (status, times, page
counts, the query options) is stored in the clear; none of it is document content.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from emulator.crypto import RecordCipher
from emulator.engine.base import ReadingOrder

JobStatus = Literal["notStarted", "running", "succeeded", "failed"]
TERMINAL: frozenset[JobStatus] = frozenset({"succeeded", "failed"})

DB_FILE_NAME = "emulator.sqlite3"

Record = bytes | bytearray
"""An encrypted document or result as a backend holds it (opaque bytes)."""


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

    Implementations encrypt documents and results with the given cipher; this base class
    does the encryption so a backend only moves opaque bytes.
    """

    def __init__(self, cipher: RecordCipher) -> None:
        self._cipher = cipher

    # --- public API, shared by every backend ----------------------------------------------

    def create(self, job: Job, document: bytes) -> None:
        """Store a new job with its document."""
        self._put_new(job, self._cipher.encrypt(job.id, document))

    def read_document(self, job_id: str) -> bytes | None:
        """The job's document, or None once it has been deleted."""
        record = self._get_blob(job_id, "document")
        return None if record is None else self._cipher.decrypt(job_id, record)

    def finish(self, job: Job, result: dict[str, Any] | None) -> None:
        """Record a finished job and its result, and delete its document in the same step."""
        blob = None
        if result is not None:
            blob = self._cipher.encrypt(job.id, json.dumps(result, separators=(",", ":")).encode())
        self._finish(job, blob)

    def read_result(self, job_id: str) -> dict[str, Any] | None:
        """The job's ``analyzeResult``, or None if it has none (yet)."""
        record = self._get_blob(job_id, "result")
        if record is None:
            return None
        return cast("dict[str, Any]", json.loads(self._cipher.decrypt(job_id, record)))

    # --- backend primitives ---------------------------------------------------------------

    @abstractmethod
    def _put_new(self, job: Job, document: Record) -> None: ...

    @abstractmethod
    def _get_blob(self, job_id: str, kind: Literal["document", "result"]) -> Record | None: ...

    @abstractmethod
    def _finish(self, job: Job, result: Record | None) -> None: ...

    @abstractmethod
    def get(self, job_id: str) -> Job | None:
        """The job's metadata, or None if there is no such job."""

    @abstractmethod
    def update(self, job: Job) -> bool:
        """Replace the job's metadata; False if the job no longer exists (e.g. deleted)."""

    @abstractmethod
    def delete(self, job_id: str) -> bool:
        """Delete the job, its document and its result now; False if it did not exist."""

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
        self._documents: dict[str, Record] = {}
        self._results: dict[str, Record] = {}

    def _put_new(self, job: Job, document: Record) -> None:
        with self._lock:
            self._jobs[job.id] = job
            self._documents[job.id] = document

    def _get_blob(self, job_id: str, kind: Literal["document", "result"]) -> Record | None:
        with self._lock:
            return (self._documents if kind == "document" else self._results).get(job_id)

    def _finish(self, job: Job, result: Record | None) -> None:
        with self._lock:
            if job.id not in self._jobs:
                return
            self._jobs[job.id] = job
            self._documents.pop(job.id, None)
            if result is not None:
                self._results[job.id] = result

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
            self._results.pop(job_id, None)
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
                self._results.pop(job_id, None)
            return len(expired)

    def unfinished(self) -> list[Job]:
        with self._lock:
            jobs = [job for job in self._jobs.values() if not job.finished]
        return sorted(jobs, key=lambda job: job.created)


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


class SqliteStore(Store):
    """An embedded SQLite database in the data directory.

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
                read_at REAL,
                document BLOB,
                result BLOB
            )"""
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS jobs_expires ON jobs (expires_at)")
        self.path.chmod(0o600)

    _COLUMNS = "id, status, created, updated, options, pages_done, expires_at, read_at"

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

    def _put_new(self, job: Job, document: Record) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, status, created, updated, options, pages_done, expires_at, "
                "read_at, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    job.status,
                    _ts(job.created),
                    _ts(job.updated),
                    _options_json(job.options),
                    job.pages_done,
                    _ts(job.expires_at),
                    _ts(job.read_at),
                    document,
                ),
            )

    def _get_blob(self, job_id: str, kind: Literal["document", "result"]) -> Record | None:
        column = "document" if kind == "document" else "result"
        with self._lock:
            row = self._db.execute(
                f"SELECT {column} FROM jobs WHERE id = ?",  # noqa: S608 - column is a literal
                (job_id,),
            ).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def _finish(self, job: Job, result: Record | None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET status = ?, updated = ?, pages_done = ?, expires_at = ?, "
                "read_at = ?, document = NULL, result = ? WHERE id = ?",
                (
                    job.status,
                    _ts(job.updated),
                    job.pages_done,
                    _ts(job.expires_at),
                    _ts(job.read_at),
                    result,
                    job.id,
                ),
            )

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {self._COLUMNS} FROM jobs WHERE id = ?",  # noqa: S608 - constant columns
                (job_id,),
            ).fetchone()
        return None if row is None else self._row_to_job(row)

    def update(self, job: Job) -> bool:
        with self._lock:
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
        with self._lock:
            cursor = self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            return cursor.rowcount > 0

    def delete_expired(self, now: datetime) -> int:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ?",
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
