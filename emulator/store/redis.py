"""The shared backend: jobs, sealed documents and page results in Redis, for a cluster of nodes.

Every node of a cluster points ``--backend redis://...`` at the same Redis and uses the same
``--encryption-key-file``; any node accepts a request, reads any job's pages and answers for
any operation. Redis only ever holds ciphertext (documents and results, sealed by
:class:`~emulator.store.base.Store` before they get here) and job metadata (status, times,
page counts, the query options); never document text and never an API key (rate windows are
named by a keyed digest, :meth:`~emulator.security.crypto.RecordCipher.digest`).

Keys, all under one prefix (``ocr-emulator:`` by default):

``job:{id}``
    a hash: the job's metadata (:class:`~emulator.store.base.Job`, plus ``pages_total``).
``doc:{id}``
    a hash of the document's sealed segments by index; deleted once the job ends.
``pages:{id}``
    a hash of the sealed page results by index, each written once.
``files:{id}``
    a hash of the sealed files made from the job (its searchable PDF) by name.
``unfinished``, ``waiting``, ``expiry``
    indexes: unfinished jobs by creation time, jobs not yet started (the cluster's queue
    depth, which ``--max-queue`` bounds), finished jobs by expiry.
``keycheck``
    a digest that only nodes with the cluster's encryption key compute alike.

Retention is Redis's own: when a job ends, its keys get a TTL that ends at its
``expires_at``; the sweeper also deletes by the ``expiry`` index (it follows the emulator's
clock, which tests move). Every multi-key change is one Lua script or one ``MULTI``, so a node
killed at any instant leaves a consistent store. The work queue over the same Redis is in
:mod:`emulator.jobs.redis_queue`.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ParamSpec, TypeVar, cast

import redis
import redis.exceptions
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from emulator.security.crypto import SEGMENT_OVERHEAD, RecordCipher
from emulator.security.sealed import EncryptedDocument
from emulator.store.base import (
    TERMINAL,
    Expired,
    FetchedDocument,
    Job,
    KeyMismatchError,
    Record,
    Store,
    StoreUnavailableError,
    Usage,
    billable_pages,
    from_timestamp,
    options_from_json,
    options_json,
)

log = logging.getLogger("emulator.store.redis")

DEFAULT_PREFIX = "ocr-emulator:"
#: A job stored but never queued (its node died before answering 202) is gone after this long.
ORPHAN_SECONDS = 24 * 3600
# Segments written per round trip while a document is stored (256 KB each).
_SEGMENTS_PER_WRITE = 16
# How long a call may wait for Redis: long enough for a loaded server, short enough that a
# request fails over to 503 quickly when Redis is gone.
_SOCKET_TIMEOUT = 5.0
_CONNECT_TIMEOUT = 2.0

#: What means "Redis cannot serve right now" (down, restarting, loading its data, a replica
#: that cannot write): the client's errors, which the store turns into
#: StoreUnavailableError, and that error itself.
UNAVAILABLE: tuple[type[Exception], ...] = (
    StoreUnavailableError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.TryAgainError,
)

P = ParamSpec("P")
T = TypeVar("T")


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (``redis://``, ``rediss://`` or ``unix://``) with bounded waits and
    one quick retry, so a connection dropped by a Redis restart is replaced transparently."""
    client: redis.Redis = redis.Redis.from_url(
        url,
        socket_timeout=_SOCKET_TIMEOUT,
        socket_connect_timeout=_CONNECT_TIMEOUT,
        health_check_interval=10,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1),
        retry_on_error=[redis.exceptions.ConnectionError],
    )
    return client


@contextmanager
def unavailable_as_store_error() -> Iterator[None]:
    """Turn the client's "Redis cannot serve" errors into :class:`StoreUnavailableError`."""
    try:
        yield
    except UNAVAILABLE as error:
        raise StoreUnavailableError(f"Redis is unavailable ({type(error).__name__})") from None


def _text(value: object) -> str:
    """A reply from the client (bytes, since responses are not decoded) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(value: object) -> bytes:
    """A reply from the client as bytes."""
    return value if isinstance(value, bytes) else str(value).encode()


def _guarded(method: Callable[P, T]) -> Callable[P, T]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with unavailable_as_store_error():
            return method(*args, **kwargs)

    return wrapper


# Marks a job running if it has not started, and drops it from the waiting set.
# KEYS: job, pages, waiting. ARGV: id, now. Returns the status before, or false if no job.
_START = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return false end
if status == 'notStarted' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'updated', ARGV[2], 'pages_done', 0)
  redis.call('DEL', KEYS[2])
  redis.call('SREM', KEYS[3], ARGV[1])
end
return status
"""

# Stores a page's record unless stored already, counts it. KEYS: job, pages.
# ARGV: index, record, now, replace (1: overwrite and take pages_done from ARGV[5]).
# Returns the pages stored, -1 if the job is gone, -2 if it is finished.
_PUT_PAGE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if status == 'succeeded' or status == 'failed' then return -2 end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('HSET', KEYS[1], 'pages_done', ARGV[5], 'updated', ARGV[3])
elseif redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'pages_done', 1)
  redis.call('HSET', KEYS[1], 'updated', ARGV[3])
end
return tonumber(redis.call('HGET', KEYS[1], 'pages_done'))
"""

# Records a finished job once, and bills it. KEYS: job, doc, pages, unfinished, waiting,
# expiry, files, usage. ARGV: id, status, updated, expires_at, pages_done, ttl_ms, billing key
# ('' for none), transactions. Returns 1 if this call finished it.
_FINISH = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'succeeded' or status == 'failed' then return 0 end
if ARGV[7] ~= '' and tonumber(ARGV[8]) > 0 then
  redis.call('HINCRBY', KEYS[8], ARGV[7] .. ':transactions', ARGV[8])
  redis.call('HINCRBY', KEYS[8], ARGV[7] .. ':operations', 1)
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updated', ARGV[3], 'expires_at', ARGV[4],
  'pages_done', ARGV[5])
redis.call('DEL', KEYS[2])
if ARGV[2] ~= 'succeeded' then redis.call('DEL', KEYS[3], KEYS[7]) end
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[4], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('PEXPIRE', KEYS[7], ARGV[6])
return 1
"""

# Stores a file of an existing job. KEYS: job, files. ARGV: name, record. 1, or 0 if no job.
_PUT_FILE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""

# Replaces an existing job's metadata. KEYS: job, waiting. ARGV: id, then field/value pairs.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
if redis.call('HGET', KEYS[1], 'status') == 'notStarted' then
  redis.call('SADD', KEYS[2], ARGV[1])
else
  redis.call('SREM', KEYS[2], ARGV[1])
end
return 1
"""


class RedisStore(Store):
    """Jobs in Redis, shared by every node that points at it; see the module docs."""

    def __init__(
        self,
        cipher: RecordCipher,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        client: redis.Redis | None = None,
    ) -> None:
        super().__init__(cipher)
        self.url = url
        self.prefix = prefix
        self.redis = client or connect(url)
        self._start_script = self.redis.register_script(_START)
        self._put_page_script = self.redis.register_script(_PUT_PAGE)
        self._finish_script = self.redis.register_script(_FINISH)
        self._update_script = self.redis.register_script(_UPDATE)
        self._put_file_script = self.redis.register_script(_PUT_FILE)
        self._key_checked = False
        self._key_lock = threading.Lock()
        self._healthy_until = 0.0

    # --- key names ----------------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        """The full name of a key of this store (``prefix`` + ``parts`` joined by ``:``)."""
        return self.prefix + ":".join(parts)

    def job_keys(self, job_id: str) -> tuple[str, str, str]:
        """The keys of one job: its metadata, its document and its pages' results."""
        return self.key("job", job_id), self.key("doc", job_id), self.key("pages", job_id)

    # --- health -------------------------------------------------------------------------------

    def check_key(self) -> None:
        """Make sure this node's encryption key is the cluster's: the first node to reach
        an empty Redis records a digest of its key; a node whose key gives another digest
        raises :class:`KeyMismatchError` (it would fail every job it took and could read no
        one's result). :class:`StoreUnavailableError` if Redis cannot be reached."""
        with self._key_lock:
            if self._key_checked:
                return
            mine = self._cipher.digest("keycheck", b"ocr-emulator cluster key check")
            with unavailable_as_store_error():
                self.redis.set(self.key("keycheck"), mine, nx=True)
                theirs = self.redis.get(self.key("keycheck"))
            if theirs is not None and _text(theirs) != mine:
                raise KeyMismatchError(
                    "this node's --encryption-key-file differs from the key the other nodes "
                    "of this Redis use; give every node the same key file"
                )
            self._key_checked = True

    def check(self) -> None:
        """At start: :meth:`check_key` if Redis is up (if it is not, the node starts anyway,
        answers 503 and checks again before its workers take any page)."""
        try:
            self.check_key()
        except StoreUnavailableError:
            log.warning("Redis is unavailable at start; serving 503 until it is back")

    def available(self) -> bool:
        """True if Redis answered a PING within the last second (cached, so health checks
        cost at most one round trip a second)."""
        now = time.monotonic()
        if now < self._healthy_until:
            return True
        try:
            self.redis.ping()
        except UNAVAILABLE:
            return False
        self._healthy_until = now + 1.0
        return True

    # --- Store primitives ---------------------------------------------------------------------

    @staticmethod
    def _fields(job: Job) -> dict[str, str]:
        fields = {
            "status": job.status,
            "created": repr(job.created.timestamp()),
            "updated": repr(job.updated.timestamp()),
            "options": options_json(job.options),
            "pages_done": str(job.pages_done),
            "pages_total": str(job.pages_total),
            "expires_at": "" if job.expires_at is None else repr(job.expires_at.timestamp()),
            "read_at": "" if job.read_at is None else repr(job.read_at.timestamp()),
        }
        return fields

    @staticmethod
    def _job(job_id: str, raw: dict[bytes, bytes]) -> Job | None:
        if not raw or b"status" not in raw:
            return None
        text = {k.decode(): v.decode() for k, v in raw.items()}

        def when(name: str) -> datetime | None:
            value = text.get(name, "")
            return from_timestamp(float(value)) if value else None

        return Job(
            id=job_id,
            status=cast("Any", text["status"]),
            created=cast("datetime", when("created")),
            updated=cast("datetime", when("updated")),
            options=options_from_json(text["options"]),
            pages_done=int(text.get("pages_done", "0")),
            expires_at=when("expires_at"),
            read_at=when("read_at"),
        )

    @_guarded
    def _put_new(self, job: Job, document: EncryptedDocument) -> None:
        job_key, doc_key, _ = self.job_keys(job.id)
        count = document.segment_count
        # The segments first, in batches (a document may be hundreds of megabytes, read from
        # its spool file a batch at a time), then the job and its index entry in one step.
        # Both carry a TTL until the job is queued (:mod:`emulator.jobs.redis_queue` removes
        # it in the same step as it queues the pages): a node that dies in between, before
        # answering 202, leaves nothing for good.
        for start in range(0, count, _SEGMENTS_PER_WRITE):
            batch = [
                document.sealed_segment(index)
                for index in range(start, min(count, start + _SEGMENTS_PER_WRITE))
            ]
            pipe = self.redis.pipeline(transaction=False)
            if batch:
                pipe.hset(doc_key, mapping={str(start + i): s for i, s in enumerate(batch)})
            pipe.expire(doc_key, ORPHAN_SECONDS)
            pipe.execute()
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(job_key, mapping=cast("dict[Any, Any]", self._fields(job)))
        pipe.expire(job_key, ORPHAN_SECONDS)
        pipe.zadd(self.key("unfinished"), {job.id: job.created.timestamp()})
        pipe.execute()

    @_guarded
    def _document(self, job_id: str) -> EncryptedDocument | None:
        _, doc_key, _ = self.job_keys(job_id)
        count = int(self.redis.hlen(doc_key))
        if count == 0:
            return None
        pipe = self.redis.pipeline(transaction=False)
        for index in range(count):
            pipe.hstrlen(doc_key, str(index))
        lengths = [int(n) - SEGMENT_OVERHEAD for n in pipe.execute()]
        if any(n < 0 for n in lengths):
            return None  # deleted while we looked
        return FetchedDocument(self._cipher, job_id, lengths, self._segment)

    @_guarded
    def _segment(self, job_id: str, index: int) -> bytes | None:
        value = self.redis.hget(self.key("doc", job_id), str(index))
        return None if value is None else _bytes(value)

    @_guarded
    def _put_page(self, job: Job, index: int, record: Record) -> bool:
        job_key, _, pages_key = self.job_keys(job.id)
        now = repr(job.updated.timestamp())
        done = self._put_page_script(
            keys=[job_key, pages_key], args=[index, bytes(record), now, 1, job.pages_done]
        )
        return int(done) >= 0

    @_guarded
    def _put_page_once(self, job_id: str, index: int, record: Record, now: datetime) -> int | None:
        job_key, _, pages_key = self.job_keys(job_id)
        done = int(
            self._put_page_script(
                keys=[job_key, pages_key], args=[index, bytes(record), repr(now.timestamp()), 0, 0]
            )
        )
        return None if done < 0 else done

    @_guarded
    def _put_file(self, job_id: str, name: str, record: Record) -> bool:
        keys = [self.key("job", job_id), self.key("files", job_id)]
        return int(self._put_file_script(keys=keys, args=[name, bytes(record)])) == 1

    @_guarded
    def _get_file(self, job_id: str, name: str) -> Record | None:
        value = self.redis.hget(self.key("files", job_id), name)
        return None if value is None else _bytes(value)

    @_guarded
    def _start(self, job_id: str, now: datetime) -> tuple[Job, bool] | None:
        job_key, _, pages_key = self.job_keys(job_id)
        before = self._start_script(
            keys=[job_key, pages_key, self.key("waiting")], args=[job_id, repr(now.timestamp())]
        )
        if before is None:
            return None
        job = self.get(job_id)
        if job is None or job.finished:
            return None
        return job, bytes(before) == b"notStarted"

    @_guarded
    def _get_pages(self, job_id: str) -> list[Record]:
        raw = cast("dict[bytes, bytes]", self.redis.hgetall(self.key("pages", job_id)))
        return [raw[k] for k in sorted(raw, key=int)]

    @_guarded
    def _finish(self, job: Job) -> None:
        job_key, doc_key, pages_key = self.job_keys(job.id)
        expires = job.expires_at or job.updated
        ttl_ms = max(1000, round((expires - job.updated).total_seconds() * 1000))
        self._finish_script(
            keys=[
                job_key,
                doc_key,
                pages_key,
                self.key("unfinished"),
                self.key("waiting"),
                self.key("expiry"),
                self.key("files", job.id),
                self.key("usage"),
            ],
            args=[
                job.id,
                job.status,
                repr(job.updated.timestamp()),
                repr(expires.timestamp()),
                job.pages_done,
                ttl_ms,
                job.options.billing_key or "",
                billable_pages(job),
            ],
        )

    @_guarded
    def usage(self) -> dict[str, Usage]:
        raw = cast("dict[bytes, bytes]", self.redis.hgetall(self.key("usage")))
        counts: dict[str, dict[str, int]] = {}
        for field, value in raw.items():
            key, _, kind = _text(field).rpartition(":")
            counts.setdefault(key, {})[kind] = int(value)
        return {
            key: Usage(c.get("transactions", 0), c.get("operations", 0))
            for key, c in counts.items()
        }

    @_guarded
    def clear_usage(self, owner: str | None = None) -> None:
        if owner is None:
            self.redis.delete(self.key("usage"))
        else:
            self.redis.hdel(self.key("usage"), f"{owner}:transactions", f"{owner}:operations")

    @_guarded
    def owned(self, owner: str) -> list[str]:
        # Every job is in one of the two indexes: unfinished ones by creation, finished
        # ones by expiry.
        ids = {_text(i) for i in self.redis.zrange(self.key("unfinished"), 0, -1)}
        ids |= {_text(i) for i in self.redis.zrange(self.key("expiry"), 0, -1)}
        ordered = sorted(ids)
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ordered:
            pipe.hget(self.key("job", job_id), "options")
        found = zip(ordered, pipe.execute(), strict=True)
        return [i for i, raw in found if raw and options_from_json(_text(raw)).billing_key == owner]

    @_guarded
    def get(self, job_id: str) -> Job | None:
        raw = cast("dict[bytes, bytes]", self.redis.hgetall(self.key("job", job_id)))
        return self._job(job_id, raw)

    @_guarded
    def update(self, job: Job) -> bool:
        fields = self._fields(job)
        args: list[str] = [job.id]
        for name, value in fields.items():
            args += [name, value]
        done = self._update_script(keys=[self.key("job", job.id), self.key("waiting")], args=args)
        return int(done) == 1

    @_guarded
    def delete(self, job_id: str) -> bool:
        job_key, doc_key, pages_key = self.job_keys(job_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(job_key)
        pipe.delete(doc_key, pages_key, self.key("files", job_id))
        pipe.zrem(self.key("unfinished"), job_id)
        pipe.srem(self.key("waiting"), job_id)
        pipe.zrem(self.key("expiry"), job_id)
        existed = pipe.execute()[0]
        return int(existed) > 0

    @_guarded
    def delete_expired(self, now: datetime) -> list[Expired]:
        expiry = self.key("expiry")
        ids = [_text(i) for i in self.redis.zrangebyscore(expiry, "-inf", now.timestamp())]
        expired = []
        for job_id in ids:
            # Redis may have dropped the job's keys already (its TTL): then only its id is
            # left, in the index, and it is reported without its record. The node whose
            # ZREM takes the id out of the index reports it: not twice when two nodes sweep.
            job = self.get(job_id)
            if self.redis.zrem(expiry, job_id):
                self.delete(job_id)
                expired.append(Expired(job_id, job))
        return expired

    @_guarded
    def unfinished(self) -> list[Job]:
        ids = [_text(i) for i in self.redis.zrange(self.key("unfinished"), 0, -1)]
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(self.key("job", job_id))
        jobs = [self._job(i, raw) for i, raw in zip(ids, pipe.execute(), strict=True)]
        found = [job for job in jobs if job is not None and job.status not in TERMINAL]
        return sorted(found, key=lambda job: job.created)

    @_guarded
    def waiting(self) -> int:
        """Jobs of the whole cluster not yet started (what ``--max-queue`` bounds)."""
        return int(self.redis.scard(self.key("waiting")))

    def close(self) -> None:
        self.redis.close()


# A sliding window: at most ARGV[1] events in any ARGV[2] milliseconds, by Redis's clock
# (one clock for every node). KEYS: the window. ARGV: limit, window_ms, a unique member.
# Returns -1 when the event is recorded, else the milliseconds until one would be allowed.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(first[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return -1
"""


class RedisRateLimit:
    """:class:`~emulator.http.middleware.rate_limit.KeyedRateLimit` with its windows in Redis, so
    a key's limit holds across the cluster, whichever node it calls. A window is named by a
    keyed digest of the API key (:meth:`RecordCipher.digest`): Redis never sees the key."""

    #: Calls block on Redis: the middleware runs them off the event loop.
    blocking = True

    def __init__(self, store: RedisStore, limit: int, window: float) -> None:
        self.store = store
        self.limit = limit
        self.window = window
        self._acquire = store.redis.register_script(_ACQUIRE)

    def _name(self, key: str) -> str:
        return self.store.key("rate", self.store.cipher.digest("rate", key.encode()))

    @_guarded
    def acquire(self, key: str) -> float | None:
        """Record an analyze request for ``key``; None, or the seconds until one is allowed."""
        name = self._name(key)
        member = secrets.token_hex(8)
        wait = int(self._acquire(keys=[name], args=[self.limit, round(self.window * 1000), member]))
        return None if wait < 0 else wait / 1000

    @_guarded
    def reset(self, key: str | None = None) -> None:
        """Forget the requests of ``key`` (every key's, the whole cluster's, for ``None``)."""
        if key is not None:
            self.store.redis.delete(self._name(key))
            return
        names = list(self.store.redis.scan_iter(match=self.store.key("rate", "*"), count=500))
        if names:
            self.store.redis.delete(*names)


__all__ = [
    "DEFAULT_PREFIX",
    "UNAVAILABLE",
    "RedisRateLimit",
    "RedisStore",
    "connect",
]
