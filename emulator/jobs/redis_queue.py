"""The cluster's work queue: one task per page in a Redis stream, read by every node's workers.

Like the Read container's dispatcher, a document is split into one-page tasks when it is
accepted, so the pages of one long PDF are read by every free worker of every node at once.
The tasks are entries of one Redis stream (``{prefix}tasks``) read through one consumer
group: each entry goes to one worker, and stays *pending* until that worker acknowledges it.

At-least-once, with claims and heartbeats:

* a worker holding a task refreshes its claim every third of ``--claim-timeout``
  (``XCLAIM ... JUSTID`` to itself, which resets the entry's idle time);
* a node that is killed stops refreshing, and once its task has been idle for
  ``--claim-timeout`` any other worker takes it over (``XAUTOCLAIM``) and reads the page
  again. The page's result is stored once (:meth:`~emulator.store.base.Store.put_page`), and
  the worker whose page completes the job records it ``succeeded``;
* a page taken over more than :data:`MAX_DELIVERIES` times (a page that kills every node
  that reads it) fails its job instead of going round for ever;
* a node that shuts down cleanly hands its unfinished pages back at once.

A stream entry names a job and a page index, nothing more. ``--max-queue`` bounds the
cluster's jobs not yet started (the store's ``waiting`` set), checked and updated in the same
Lua step that queues a job's pages.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

import redis.exceptions

from emulator.engine.base import OcrEngine
from emulator.jobs.queue import QueueFullError, WorkItem, WorkSource
from emulator.jobs.runner import JobRunner
from emulator.store.base import KeyMismatchError, StoreUnavailableError
from emulator.store.redis import (
    UNAVAILABLE,
    RedisStore,
    unavailable_as_store_error,
)

log = logging.getLogger("emulator.store.redis_tasks")

GROUP = "workers"
#: A page taken over this many times fails its job (it has killed every worker that read it).
MAX_DELIVERIES = 3
# How long a worker waits on the stream before looking for abandoned pages and shutdown.
_BLOCK_MS = 1000
# How long a worker waits before trying Redis again when it is unreachable.
_RETRY_SECONDS = 1.0

# What a heartbeat or a clean stop shrugs off: Redis gone, or its stream gone with it.
_SETTLE_ERRORS: tuple[type[Exception], ...] = (*UNAVAILABLE, redis.exceptions.ResponseError)

# Queues the pages of a stored job, within the cluster's capacity.
# KEYS: job, doc, waiting, stream. ARGV: id, capacity.
# Returns 1 when queued, 0 when the queue is full, -1 when the job is gone.
_ENQUEUE = """
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[2]) then return 0 end
local total = tonumber(redis.call('HGET', KEYS[1], 'pages_total'))
if not total then return -1 end
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
redis.call('SADD', KEYS[3], ARGV[1])
for i = 0, total - 1 do
  redis.call('XADD', KEYS[4], '*', 'job', ARGV[1], 'page', i)
end
return 1
"""


def describe(url: str) -> str:
    """``url`` without its password, for logs and ``/status``."""
    parts = urlsplit(url)
    host = parts.hostname or parts.path or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path if parts.hostname else ''}"


class PageTask(WorkItem):
    """Page ``index`` of job ``job_id``, held by one worker until it is acknowledged."""

    def __init__(
        self, source: RedisTaskSource, entry_id: str, consumer: str, job_id: str, index: int
    ) -> None:
        self.source = source
        self.entry_id = entry_id
        self.consumer = consumer
        self.job_id = job_id
        self.index = index

    def run(
        self,
        runner: JobRunner,
        engine: OcrEngine,
        should_stop: Callable[[], bool],
        deadline: float | None,
    ) -> None:
        try:
            outcome = runner.run_page(self.job_id, self.index, engine, should_stop, deadline)
        except StoreUnavailableError:
            # The page stays pending: taken again (by this node or another) once Redis is back.
            log.warning("Redis went away during page %d of job %s", self.index, self.job_id)
            self.source.let_go(self)
            return
        if outcome == "interrupted":
            self.source.hand_back(self)
        else:
            self.source.ack(self)


class _AbandonedPage(WorkItem):
    """A page taken over too often: its job fails, and the task is acknowledged."""

    def __init__(self, task: PageTask, deliveries: int) -> None:
        self.task = task
        self.job_id = task.job_id
        self.deliveries = deliveries

    def run(
        self,
        runner: JobRunner,
        engine: OcrEngine,
        should_stop: Callable[[], bool],
        deadline: float | None,
    ) -> None:
        runner.fail(
            self.job_id,
            f"page {self.task.index + 1} was abandoned by {self.deliveries - 1} worker(s)",
        )
        self.task.source.ack(self.task)


class RedisTaskSource(WorkSource):
    """Pages of every node's jobs, from one Redis stream; see the module docs."""

    durable = True

    def __init__(
        self,
        store: RedisStore,
        capacity: int,
        claim_timeout: float = 30.0,
        node: str | None = None,
    ) -> None:
        self.store = store
        self.capacity = capacity
        self.claim_timeout = claim_timeout
        self.node = node or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._redis = store.redis
        self._stream = store.key("tasks")
        self._enqueue = self._redis.register_script(_ENQUEUE)
        self._lock = threading.Lock()
        self._held: dict[str, PageTask] = {}
        self._closed = threading.Event()
        self._group_ready = False
        self._last_claim = 0.0
        self._key_error: str | None = None
        self._consumers: set[str] = set()
        self._heartbeat: threading.Thread | None = None

    # --- the producer side ------------------------------------------------------------------

    def submit(self, job_id: str) -> None:
        self._queue(job_id, self.capacity)

    def resume(self, job_id: str) -> None:
        self._queue(job_id, 2**31)

    def _queue(self, job_id: str, capacity: int) -> None:
        self._ensure_group()
        job_key, doc_key, _ = self.store.job_keys(job_id)
        keys = [job_key, doc_key, self.store.key("waiting"), self._stream]
        with unavailable_as_store_error():
            queued = int(self._enqueue(keys=keys, args=[job_id, capacity]))
        if queued == 0:
            raise QueueFullError(job_id)

    @property
    def depth(self) -> int:
        return self.store.waiting()

    @property
    def pages(self) -> int:
        """Pages in the cluster's queue, waiting for a worker or being read (a settled page's
        entry is deleted), for ``ocr_emulator_queue_pages``."""
        with unavailable_as_store_error():
            return int(self._redis.xlen(self._stream))

    @property
    def error(self) -> str | None:
        if self._key_error is not None:
            return self._key_error
        if not self.store.available():
            return f"Redis at {describe(self.store.url)} is unavailable"
        return None

    # --- the worker side --------------------------------------------------------------------

    def take(self, worker: int) -> WorkItem | None:
        consumer = f"{self.node}-{worker}"
        with self._lock:
            self._consumers.add(consumer)
            if self._heartbeat is None:
                self._heartbeat = threading.Thread(
                    target=self._beat, name="ocr-claim-heartbeat", daemon=True
                )
                self._heartbeat.start()
        unavailable_since: float | None = None
        while not self._closed.is_set():
            try:
                item = self._next(consumer)
            except UNAVAILABLE:
                if unavailable_since is None:
                    unavailable_since = time.monotonic()
                    log.warning("Redis is unavailable; worker %d waits for it", worker)
                self._closed.wait(_RETRY_SECONDS)
                continue
            except KeyMismatchError as error:
                self._key_error = str(error)
                log.error("%s", error)
                self._closed.wait(_RETRY_SECONDS * 5)
                continue
            except redis.exceptions.RedisError as error:
                # Anything else Redis answers must not end the worker's loop either.
                log.error("worker %d: Redis answered %s; trying again", worker, error)
                self._closed.wait(_RETRY_SECONDS)
                continue
            if unavailable_since is not None:
                log.info("Redis is back; worker %d takes work again", worker)
                unavailable_since = None
            if item is not None and self._closed.is_set() and isinstance(item, PageTask):
                self.hand_back(item)  # taken while the node was stopping: someone else's now
                return None
            if item is not None:
                return item
        return None

    def _next(self, consumer: str) -> WorkItem | None:
        self.store.check_key()
        self._ensure_group()
        now = time.monotonic()
        if now - self._last_claim >= min(5.0, self.claim_timeout / 4):
            self._last_claim = now
            claimed = self._claim_abandoned(consumer)
            if claimed is not None:
                return claimed
        try:
            reply = self._redis.xreadgroup(
                GROUP, consumer, {self._stream: ">"}, count=1, block=_BLOCK_MS
            )
        except redis.exceptions.ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self._group_ready = False  # Redis restarted without its data: set it up again
            return None
        for _stream, entries in cast("list[tuple[bytes, list[Any]]]", reply or []):
            for entry_id, fields in entries:
                task = self._task(entry_id, fields, consumer)
                if task is not None:
                    return task
        return None

    def _claim_abandoned(self, consumer: str) -> WorkItem | None:
        """One page whose worker stopped refreshing its claim, taken over by ``consumer``."""
        min_idle = int(self.claim_timeout * 1000)
        reply = self._redis.xautoclaim(
            self._stream, GROUP, consumer, min_idle, start_id="0-0", count=1
        )
        entries = reply[1] if len(reply) > 1 else []
        for entry_id, fields in entries:
            if fields is None:
                continue
            task = self._task(entry_id, fields, consumer)
            if task is None:
                continue
            pending = self._redis.xpending_range(
                self._stream, GROUP, min=task.entry_id, max=task.entry_id, count=1
            )
            deliveries = int(pending[0]["times_delivered"]) if pending else 1
            log.warning(
                "took over page %d of job %s from a worker that stopped (delivery %d)",
                task.index + 1,
                task.job_id,
                deliveries,
            )
            if deliveries > MAX_DELIVERIES:
                return _AbandonedPage(task, deliveries)
            return task
        return None

    def _task(self, entry_id: bytes, fields: dict[bytes, bytes], consumer: str) -> PageTask | None:
        try:
            job_id = fields[b"job"].decode()
            index = int(fields[b"page"])
        except (KeyError, ValueError, UnicodeDecodeError):
            # Not ours (written by something else into the stream): drop it.
            self._redis.xack(self._stream, GROUP, entry_id)
            return None
        task = PageTask(self, entry_id.decode(), consumer, job_id, index)
        with self._lock:
            self._held[task.entry_id] = task
        return task

    def ack(self, task: PageTask) -> None:
        """The page is dealt with: remove its task for good."""
        self._settle(task, requeue=False)

    def hand_back(self, task: PageTask) -> None:
        """Shutdown cut the page short: queue it again at once for another worker."""
        self._settle(task, requeue=True)

    def let_go(self, task: PageTask) -> None:
        """Stop refreshing the claim (Redis failed mid-page): the task stays pending and is
        taken over after ``--claim-timeout``."""
        with self._lock:
            self._held.pop(task.entry_id, None)

    def _settle(self, task: PageTask, requeue: bool) -> None:
        try:
            pipe = self._redis.pipeline(transaction=True)
            if requeue:
                pipe.xadd(self._stream, {"job": task.job_id, "page": task.index})
            pipe.xack(self._stream, GROUP, task.entry_id)
            pipe.xdel(self._stream, task.entry_id)
            pipe.execute()
        except UNAVAILABLE:
            # Left pending: taken over after the claim timeout, and stored at most once.
            log.warning("could not settle page %d of job %s", task.index + 1, task.job_id)
        finally:
            with self._lock:
                self._held.pop(task.entry_id, None)

    def _beat(self) -> None:
        """Refresh the claims of every page this node holds, every third of the timeout."""
        interval = max(0.2, self.claim_timeout / 3)
        while not self._closed.wait(interval):
            with self._lock:
                held = list(self._held.values())
            by_consumer: dict[str, list[str]] = {}
            for task in held:
                by_consumer.setdefault(task.consumer, []).append(task.entry_id)
            for consumer, ids in by_consumer.items():
                try:
                    self._redis.xclaim(
                        self._stream, GROUP, consumer, 0, cast("list[Any]", ids), justid=True
                    )
                except _SETTLE_ERRORS:
                    log.debug("claim refresh failed; retried at the next beat")

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        with unavailable_as_store_error():
            try:
                self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
            except redis.exceptions.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        self._group_ready = True

    def close(self, workers: int) -> None:
        # Pages still being read are handed back by their workers, which see the stop.
        self._closed.set()
        with self._lock:
            consumers = sorted(self._consumers)
        # A clean stop leaves no consumer names behind (a killed node's are taken over and
        # stay listed, harmlessly, until an operator deletes them).
        for consumer in consumers:
            try:
                if not self._redis.xpending_range(
                    self._stream, GROUP, "-", "+", 1, consumername=consumer
                ):
                    self._redis.xgroup_delconsumer(self._stream, GROUP, consumer)
            except _SETTLE_ERRORS:
                break
