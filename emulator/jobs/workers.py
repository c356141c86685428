"""Worker processes: each loads its OCR engine once and reads the pages a parent thread sends.

:class:`ProcessJobQueue` is the emulator's default :class:`~emulator.jobs.JobQueue`. Each
worker is a pair: a child process that holds one engine, and a thread in the emulator's
process that takes jobs from the queue and runs :class:`~emulator.jobs.JobRunner` for them.
The runner (store, decoding, results, the test hooks of :class:`~emulator.jobs.JobControl`)
stays in the parent; only the engine call crosses the pipe, as an RGB bitmap one way and a
:class:`~emulator.engine.base.PageText` the other. So routes, the store and the runner do not
know whether workers are threads or processes.

Why processes, when threads give the same throughput on this machine
(``benchmarks/throughput.py``, docs/performance.md): a thread cannot be stopped. A page that
hangs the engine, or a crash in native code, would take the thread (or the whole emulator)
with it. A child process can be killed: when a page runs past the job's time limit
(``--job-timeout``) or the child dies (SIGKILL, a segfault, the OOM killer), the parent fails
that job, starts a new child and goes on; no other job is touched.

Children are started with ``spawn`` (never ``fork``: the emulator runs threads, and a forked
child would inherit their locks in whatever state they were in).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from multiprocessing.connection import Connection

from PIL import Image

from emulator.documents.children import ChildProcess
from emulator.documents.decoding import receive_image, send_image
from emulator.engine.base import PageText, ReadingOrder
from emulator.jobs.queue import EngineFactory, PooledJobQueue, WorkSource, job_deadline
from emulator.jobs.runner import JobRunner, JobTimeoutError

log = logging.getLogger("emulator.workers")

__all__ = ["ProcessJobQueue", "WorkerDiedError", "WorkerProcess"]

_CONTEXT = multiprocessing.get_context("spawn")
# How long a child may take to load its engine (imports and ONNX sessions) before it is
# considered broken.
LOAD_TIMEOUT = 120.0
# How long, once stop() has killed the children, their threads may take to put the pages they
# were reading back (to the shared queue, or notStarted in the store) before the store closes.
_HAND_BACK_SECONDS = 5.0


class WorkerDiedError(Exception):
    """The worker process ended (killed, crashed) while it was reading a page."""


def _child_main(conn: Connection, engine_factory: EngineFactory, intra_op_threads: int) -> None:
    """The child's loop: load the engine, then read one page per request until told to stop."""
    # Ctrl-C reaches the whole process group, and so does a SIGTERM sent to it (systemd's
    # default): the parent decides when children stop, after the pages they are reading.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        engine = engine_factory(intra_op_threads)
    except BaseException as error:  # reported to the parent, which shows it on /status
        conn.send(("error", f"{type(error).__name__}: {error}"))
        return
    try:
        conn.send(("ready", None))
        while True:
            request = conn.recv()
            if request is None:
                return
            _mode, size, reading_order, language = request
            image = receive_image(conn, size)
            try:
                text = engine.recognize(image, reading_order=reading_order, language=language)
            except Exception as error:  # the page fails its job; the worker lives on
                conn.send(("error", type(error).__name__))
            else:
                conn.send(("ok", text))
            del image
    except (EOFError, OSError):
        # The parent is gone (killed, or it closed the pipe): nobody is left to answer, and a
        # traceback on its terminal would only look like a second failure.
        return


class WorkerProcess(ChildProcess):
    """One child process with its engine, and the parent's end of the pipe to it.

    Used by one parent thread at a time. :meth:`recognize` is the engine call with a deadline:
    past it, or if the child dies, the child is killed and an exception raised.
    """

    def __init__(self, engine_factory: EngineFactory, intra_op_threads: int, name: str) -> None:
        """Start the child; it loads its engine in the background (see :meth:`wait_ready`)."""
        super().__init__(_CONTEXT, _child_main, (engine_factory, intra_op_threads), name)

    def wait_ready(self, timeout: float = LOAD_TIMEOUT) -> str | None:
        """Block until the engine is loaded; the load error, or None once ready."""
        try:
            if not self._conn.poll(timeout):
                self.kill()
                return f"the worker did not load its engine within {timeout:g} s"
            kind, detail = self._conn.recv()
        except (EOFError, OSError):
            self.kill()
            return f"the worker exited while loading (exit code {self.process.exitcode})"
        if kind != "ready":
            self.kill()
            return str(detail)
        return None

    def recognize(
        self,
        image: Image.Image,
        reading_order: ReadingOrder,
        language: str | None,
        deadline: float | None,
    ) -> PageText:
        """Have the child read ``image``; kill it if ``deadline`` (monotonic) passes first."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        try:
            self._conn.send((rgb.mode, rgb.size, reading_order, language))
            send_image(self._conn, rgb)
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._conn.poll(wait):
                self.kill()
                raise JobTimeoutError("page still running at the job's time limit")
            kind, payload = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self.kill()
            raise WorkerDiedError(f"exit code {self.process.exitcode}") from None
        if kind == "error":
            raise RuntimeError(f"the engine raised {payload}")
        text: PageText = payload
        return text


class _ProcessEngine:
    """The :class:`~emulator.engine.base.OcrEngine` the runner sees: forwards to a child
    process with the running job's deadline."""

    name = "process"

    def __init__(self, worker: WorkerProcess, deadline: float | None) -> None:
        self._worker = worker
        self._deadline = deadline

    def recognize(
        self,
        image: Image.Image,
        *,
        reading_order: ReadingOrder = "basic",
        language: str | None = None,
    ) -> PageText:
        return self._worker.recognize(image, reading_order, language, self._deadline)


class ProcessJobQueue(PooledJobQueue):
    """A bounded queue served by worker processes, one engine each; see the module docs.

    ``engine_factory`` must be importable by name (a module-level function, or a
    ``functools.partial`` of one), since it is sent to the child. ``job_timeout`` (seconds,
    None for no limit) bounds each job from the moment a worker takes it; a page still
    running then is stopped by killing its process.
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
        super().__init__(engine_factory, workers, intra_op_threads, capacity, job_timeout, source)
        self._replaced = 0
        self._processes: dict[int, WorkerProcess] = {}

    def _spawn(self, index: int) -> WorkerProcess | None:
        worker = WorkerProcess(self.engine_factory, self.intra_op_threads, f"ocr-worker-{index}")
        with self._lock:
            self._processes[index] = worker
        error = worker.wait_ready()
        if error is not None:
            log.error("OCR worker %d failed to load its engine: %s", index, error)
            self._loaded_one(error)
            return None
        return worker

    def _serve(self, index: int, runner: JobRunner) -> None:
        worker = self._spawn(index)
        if worker is not None:
            self._loaded_one(None)
        while (item := self._take(index)) is not None:
            with self._running(item.job_id):
                if worker is None or worker.broken:
                    runner.fail(item.job_id, "engine not loaded")
                else:
                    deadline = job_deadline(self.job_timeout)
                    item.run(runner, _ProcessEngine(worker, deadline), self._stop.is_set, deadline)
            if self._stop.is_set():
                break
            if worker is not None and worker.broken:
                # Killed for a time limit or dead on its own: its job has failed; replace it
                # before taking the next one.
                log.warning("OCR worker %d replaced (exit code %s)", index, worker.process.exitcode)
                with self._lock:
                    self._replaced += 1
                worker = self._spawn(index)
        if worker is not None:
            worker.close()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        # A thread still waiting on a page after the grace period is released by killing its
        # child (the pipe reports EOF); the job stays notStarted/running for a resume.
        with self._lock:
            workers = list(self._processes.values())
        for worker in workers:
            worker.kill()
        # Each thread sees its child's pipe close and hands its page back (the job is resumed,
        # or another node reads the page); wait for that, briefly, before the store closes.
        deadline = time.monotonic() + _HAND_BACK_SECONDS
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def replaced(self) -> int:
        """How many worker processes were replaced after a time limit or a crash."""
        with self._lock:
            return self._replaced

    def pids(self) -> list[int]:
        """Process ids of the live worker processes (for tests and operators)."""
        with self._lock:
            workers = list(self._processes.values())
        return [w.process.pid for w in workers if w.process.pid is not None and not w.broken]
