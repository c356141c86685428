"""The ``--data-dir`` backend: an embedded SQLite database, so jobs survive a restart."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, cast

from emulator.security.crypto import SEGMENT_OVERHEAD, RecordCipher
from emulator.security.sealed import EncryptedDocument
from emulator.store.base import (
    TERMINAL,
    Expired,
    FetchedDocument,
    Job,
    Record,
    Store,
    Usage,
    billable_pages,
    from_timestamp,
    options_from_json,
    options_json,
    timestamp,
)

DB_FILE_NAME = "emulator.sqlite3"


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
        for table, key in self._PER_JOB_TABLES.items():
            self._db.execute(
                f"""CREATE TABLE IF NOT EXISTS {table} (
                    job_id TEXT NOT NULL,
                    idx {key} NOT NULL,
                    data BLOB NOT NULL,
                    PRIMARY KEY (job_id, idx)
                )"""
            )
        self._db.execute("CREATE INDEX IF NOT EXISTS jobs_expires ON jobs (expires_at)")
        # The billing meter (emulator.jobs.billing), by keyed digest of the API key.
        self._db.execute(
            """CREATE TABLE IF NOT EXISTS usage (
                billing_key TEXT PRIMARY KEY,
                transactions INTEGER NOT NULL,
                operations INTEGER NOT NULL
            )"""
        )
        with self._transaction():
            # Rows whose job is gone (written by an older version, or orphaned by a crash).
            for table in self._PER_JOB_TABLES:
                self._db.execute(
                    f"DELETE FROM {table} WHERE job_id NOT IN (SELECT id FROM jobs)"  # noqa: S608
                )
        self.path.chmod(0o600)

    _COLUMNS = "id, status, created, updated, options, pages_done, expires_at, read_at"
    #: Sealed blobs kept per job, one row each: a document's segments and its pages' results
    #: (numbered from 0), and the files made from it (by name), with the type of their key.
    _PER_JOB_TABLES: ClassVar[dict[str, str]] = {
        "document_segments": "INTEGER",
        "result_pages": "INTEGER",
        "result_files": "TEXT",  # by name: a searchable PDF
    }

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
            created=cast("datetime", from_timestamp(row[2])),
            updated=cast("datetime", from_timestamp(row[3])),
            options=options_from_json(row[4]),
            pages_done=row[5],
            expires_at=from_timestamp(row[6]),
            read_at=from_timestamp(row[7]),
        )

    def _put_new(self, job: Job, document: EncryptedDocument) -> None:
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT INTO jobs (id, status, created, updated, options, pages_done, expires_at, "
                "read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    job.status,
                    timestamp(job.created),
                    timestamp(job.updated),
                    options_json(job.options),
                    job.pages_done,
                    timestamp(job.expires_at),
                    timestamp(job.read_at),
                ),
            )
            # One segment at a time (executemany pulls from the generator): a spooled
            # document is read from its file as it is copied, never whole.
            self._db.executemany(
                "INSERT INTO document_segments (job_id, idx, data) VALUES (?, ?, ?)",
                (
                    (job.id, index, document.sealed_segment(index))
                    for index in range(document.segment_count)
                ),
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
        return FetchedDocument(self._cipher, job_id, lengths, self._segment)

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

    def _put_file(self, job_id: str, name: str, record: Record) -> bool:
        with self._lock, self._transaction():
            if self._db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
                return False
            self._db.execute(
                "INSERT OR REPLACE INTO result_files (job_id, idx, data) VALUES (?, ?, ?)",
                (job_id, name, record),
            )
            return True

    def _get_file(self, job_id: str, name: str) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM result_files WHERE job_id = ? AND idx = ?", (job_id, name)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def _start(self, job_id: str, now: datetime) -> tuple[Job, bool] | None:
        with self._lock, self._transaction():
            cursor = self._db.execute(
                "UPDATE jobs SET status = 'running', updated = ?, pages_done = 0 "
                "WHERE id = ? AND status = 'notStarted'",
                (now.timestamp(), job_id),
            )
            started = cursor.rowcount > 0
            if started:
                # A fresh start: pages stored by an earlier, interrupted run do not count.
                self._db.execute("DELETE FROM result_pages WHERE job_id = ?", (job_id,))
            row = self._db.execute(
                f"SELECT {self._COLUMNS} FROM jobs WHERE id = ?",  # noqa: S608 - constant columns
                (job_id,),
            ).fetchone()
        if row is None:
            return None
        job = self._row_to_job(row)
        return None if job.finished else (job, started)

    def _put_page_once(self, job_id: str, index: int, record: Record, now: datetime) -> int | None:
        with self._lock, self._transaction():
            row = self._db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row[0] in ("succeeded", "failed"):
                return None
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO result_pages (job_id, idx, data) VALUES (?, ?, ?)",
                (job_id, index, record),
            )
            if cursor.rowcount > 0:
                self._db.execute(
                    "UPDATE jobs SET pages_done = pages_done + 1, updated = ? WHERE id = ?",
                    (now.timestamp(), job_id),
                )
            done = self._db.execute(
                "SELECT pages_done FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
        return int(done[0])

    def _finish(self, job: Job) -> None:
        with self._lock, self._transaction():
            row = self._db.execute("SELECT status FROM jobs WHERE id = ?", (job.id,)).fetchone()
            pages = billable_pages(job)
            if row is not None and row[0] not in TERMINAL and pages and job.options.billing_key:
                self._db.execute(
                    "INSERT INTO usage (billing_key, transactions, operations) VALUES (?, ?, 1) "
                    "ON CONFLICT (billing_key) DO UPDATE SET "
                    "transactions = transactions + excluded.transactions, "
                    "operations = operations + 1",
                    (job.options.billing_key, pages),
                )
            if self._update_locked(job):
                self._db.execute("DELETE FROM document_segments WHERE job_id = ?", (job.id,))
                if job.status != "succeeded":
                    self._db.execute("DELETE FROM result_pages WHERE job_id = ?", (job.id,))
                    self._db.execute("DELETE FROM result_files WHERE job_id = ?", (job.id,))

    def usage(self) -> dict[str, Usage]:
        with self._lock:
            rows = self._db.execute(
                "SELECT billing_key, transactions, operations FROM usage"
            ).fetchall()
        return {
            key: Usage(int(transactions), int(operations)) for key, transactions, operations in rows
        }

    def clear_usage(self, owner: str | None = None) -> None:
        with self._lock:
            if owner is None:
                self._db.execute("DELETE FROM usage")
            else:
                self._db.execute("DELETE FROM usage WHERE billing_key = ?", (owner,))

    def owned(self, owner: str) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT id, options FROM jobs").fetchall()
        return [i for i, options in rows if options_from_json(options).billing_key == owner]

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
                timestamp(job.updated),
                options_json(job.options),
                job.pages_done,
                timestamp(job.expires_at),
                timestamp(job.read_at),
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

    def delete_expired(self, now: datetime) -> list[Expired]:
        expired = "SELECT id FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ?"
        with self._lock, self._transaction():
            rows = self._db.execute(
                f"SELECT {self._COLUMNS} FROM jobs "  # noqa: S608 - constant columns
                "WHERE expires_at IS NOT NULL AND expires_at <= ?",
                (now.timestamp(),),
            ).fetchall()
            for table in self._PER_JOB_TABLES:
                self._db.execute(
                    f"DELETE FROM {table} WHERE job_id IN ({expired})",  # noqa: S608
                    (now.timestamp(),),
                )
            self._db.execute(
                f"DELETE FROM jobs WHERE id IN ({expired})",  # noqa: S608 - constant query
                (now.timestamp(),),
            )
        jobs = [self._row_to_job(row) for row in rows]
        return [Expired(job.id, job) for job in jobs]

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
