"""Where jobs, their documents and their results live: one small interface, three backends.

:class:`MemoryStore` (the default, :mod:`emulator.store.memory`) keeps everything in this
process; :class:`SqliteStore` (``--data-dir``, :mod:`emulator.store.sqlite`) keeps it in an
embedded database so it survives a restart; :class:`~emulator.store.redis.RedisStore`
(``--backend redis://...``, :mod:`emulator.store.redis`) keeps it in Redis, shared by every
node of a cluster (imported only when asked for, since the ``redis`` client is an extra).
The routes, the job runner and the engine never see which one is in use.

Every document and result is encrypted with :class:`emulator.security.crypto.RecordCipher` before it
reaches a backend (:class:`Store` in :mod:`emulator.store.base` does it), bound to its
operation id: documents in segments, sealed as they stream in (:mod:`emulator.security.sealed`),
results one record per page, stored as each page is read. Only job metadata (status, times,
page counts, the query options) is stored in the clear; none of it is document content.

The store imports security and the engine's types, never the job pipeline: the cluster's work
queue, which keeps its tasks in the same Redis, is :mod:`emulator.jobs.redis_queue`.
"""

from emulator.store.base import (
    READ_V32,
    TERMINAL,
    Expired,
    Job,
    JobOptions,
    JobStatus,
    KeyMismatchError,
    Record,
    Store,
    StoreUnavailableError,
)
from emulator.store.memory import MemoryStore
from emulator.store.sqlite import DB_FILE_NAME, SqliteStore

__all__ = [
    "DB_FILE_NAME",
    "READ_V32",
    "TERMINAL",
    "Expired",
    "Job",
    "JobOptions",
    "JobStatus",
    "KeyMismatchError",
    "MemoryStore",
    "Record",
    "SqliteStore",
    "Store",
    "StoreUnavailableError",
]
