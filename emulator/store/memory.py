"""The default backend: everything in this process's memory, gone on exit."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar

from emulator.security.crypto import RecordCipher
from emulator.security.sealed import EncryptedDocument
from emulator.store.base import Expired, Job, Record, Store, Usage, billable_pages


class MemoryStore(Store):
    """Everything in this process's memory; gone on exit.

    Except a large document's sealed segments: those stay in the anonymous temporary file
    :class:`~emulator.security.sealed.SealedWriter` spooled them to, which is closed (and so
    deleted) when the document is: when its job finishes or is deleted, or when the store is closed.
    """

    _keeps_documents: ClassVar[bool] = True

    def __init__(self, cipher: RecordCipher) -> None:
        super().__init__(cipher)
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._documents: dict[str, EncryptedDocument] = {}
        self._pages: dict[str, dict[int, Record]] = {}
        self._files: dict[str, dict[str, Record]] = {}
        self._usage: dict[str, Usage] = {}

    def _put_new(self, job: Job, document: EncryptedDocument) -> None:
        with self._lock:
            self._jobs[job.id] = job
            # The sealed segments themselves (or their spool file), not a copy: the upload
            # stays held once.
            replaced = self._documents.get(job.id)
            self._documents[job.id] = document
        if replaced is not None and replaced is not document:
            replaced.close()

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

    def _put_file(self, job_id: str, name: str, record: Record) -> bool:
        with self._lock:
            if job_id not in self._jobs:
                return False
            self._files.setdefault(job_id, {})[name] = record
            return True

    def _get_file(self, job_id: str, name: str) -> Record | None:
        with self._lock:
            return self._files.get(job_id, {}).get(name)

    def _start(self, job_id: str, now: datetime) -> tuple[Job, bool] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.finished:
                return None
            if job.status != "notStarted":
                return job, False
            # A fresh start: pages stored by an earlier, interrupted run do not count.
            self._pages.pop(job_id, None)
            job = self._jobs[job_id] = job.evolve(status="running", updated=now, pages_done=0)
            return job, True

    def _put_page_once(self, job_id: str, index: int, record: Record, now: datetime) -> int | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.finished:
                return None
            pages = self._pages.setdefault(job_id, {})
            if index not in pages:
                pages[index] = record
                self._jobs[job_id] = job.evolve(pages_done=len(pages), updated=now)
            return len(pages)

    def _finish(self, job: Job) -> None:
        with self._lock:
            before = self._jobs.get(job.id)
            if before is None:
                return
            if not before.finished and (pages := billable_pages(job)) and job.options.billing_key:
                key = job.options.billing_key
                self._usage[key] = self._usage.get(key, Usage()) + Usage(pages, 1)
            self._jobs[job.id] = job
            document = self._documents.pop(job.id, None)
            if job.status != "succeeded":
                self._pages.pop(job.id, None)
                self._files.pop(job.id, None)
        _close([document])

    def usage(self) -> dict[str, Usage]:
        with self._lock:
            return dict(self._usage)

    def clear_usage(self, owner: str | None = None) -> None:
        with self._lock:
            if owner is None:
                self._usage.clear()
            else:
                self._usage.pop(owner, None)

    def owned(self, owner: str) -> list[str]:
        with self._lock:
            return [i for i, job in self._jobs.items() if job.options.billing_key == owner]

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
            document = self._documents.pop(job_id, None)
            self._pages.pop(job_id, None)
            self._files.pop(job_id, None)
            existed = self._jobs.pop(job_id, None) is not None
        _close([document])
        return existed

    def delete_expired(self, now: datetime) -> list[Expired]:
        with self._lock:
            expired = [
                Expired(job_id, job)
                for job_id, job in self._jobs.items()
                if job.expires_at is not None and job.expires_at <= now
            ]
            documents = []
            for gone in expired:
                self._jobs.pop(gone.job_id, None)
                documents.append(self._documents.pop(gone.job_id, None))
                self._pages.pop(gone.job_id, None)
                self._files.pop(gone.job_id, None)
        _close(documents)
        return expired

    def unfinished(self) -> list[Job]:
        with self._lock:
            jobs = [job for job in self._jobs.values() if not job.finished]
        return sorted(jobs, key=lambda job: job.created)

    def close(self) -> None:
        """Close every document still held (their spool files go); the jobs stay."""
        with self._lock:
            documents = list(self._documents.values())
            self._documents.clear()
        _close(documents)


def _close(documents: Iterable[EncryptedDocument | None]) -> None:
    """Close documents taken out of the store (outside its lock: a reader may hold a
    document's own lock for the segment it reads)."""
    for document in documents:
        if document is not None:
            document.close()
