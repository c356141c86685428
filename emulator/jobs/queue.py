"""The queue that feeds jobs to workers.

:class:`JobQueue` is the small interface the HTTP side sees. :class:`ThreadJobQueue` is the
in-process implementation: a bounded queue and a pool of worker threads, each with its own
engine (ONNX sessions are not shared across threads). :class:`ManualJobQueue` runs jobs only
when a test says so, for deterministic tests of ``notStarted`` and a full queue. A
:class:`WorkSource` says where the work comes from: this process (:class:`LocalWorkSource`) or
the cluster's page queue (:mod:`emulator.jobs.redis_queue`); worker processes are
:mod:`emulator.jobs.workers`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator

from emulator.engine.base import OcrEngine
from emulator.jobs.runner import JobRunner

log = logging.getLogger("emulator.jobs")


EngineFactory = Callable[[int], OcrEngine]
"""Builds one engine; the argument is the number of ONNX intra-op threads it may use."""


class QueueFullError(Exception):
    """The queue has no room; the job was not accepted."""


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
    :class:`emulator.jobs.workers.ProcessJobQueue`.

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
    :class:`emulator.jobs.workers.ProcessJobQueue`, which enforces both.
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
