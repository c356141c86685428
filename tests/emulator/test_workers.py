"""Worker processes: jobs run in children; a page that hangs past the job's time limit or a
child that dies fails only its own job, and the worker is replaced."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from _worker_engines import (
    DIE_WIDTH,
    HANG_WIDTH,
    RAISE_WIDTH,
    SLOW_WIDTH,
    broken_factory,
    misbehaving_factory,
)

from emulator.clock import utc_now
from emulator.engine.fake import FakeEngine
from emulator.jobs import JobControl, JobRunner, ThreadJobQueue
from emulator.jobs.workers import ProcessJobQueue
from emulator.security.crypto import RecordCipher
from emulator.settings import TIER_LIMITS
from emulator.store import Job, JobOptions, MemoryStore


class Pool:
    """A started queue with its store, and helpers to submit and await jobs."""

    def __init__(
        self, queue: ProcessJobQueue | ThreadJobQueue, control: JobControl | None = None
    ) -> None:
        self.store = MemoryStore(RecordCipher.generate())
        self.queue = queue
        runner = JobRunner(self.store, utc_now, TIER_LIMITS["paid"], timedelta(hours=1), control)
        queue.start(runner)
        self._count = 0

    def submit(self, data: bytes, pages: tuple[int, ...] = (1,)) -> str:
        self._count += 1
        now = utc_now()
        job = Job(
            id=f"00000000-0000-4000-8000-{self._count:012d}",
            status="notStarted",
            created=now,
            updated=now,
            options=JobOptions(pages=pages),
        )
        self.store.create(job, data)
        self.queue.submit(job.id)
        return job.id

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.queue.ready:
            assert time.monotonic() < deadline, "workers did not load"
            time.sleep(0.02)

    def wait(self, job_id: str, timeout: float = 30.0) -> Job:
        deadline = time.monotonic() + timeout
        while True:
            job = self.store.get(job_id)
            assert job is not None
            if job.finished:
                return job
            assert time.monotonic() < deadline, f"job still {job.status}"
            time.sleep(0.02)


@pytest.fixture
def pool() -> Iterator[Callable[..., Pool]]:
    made: list[Pool] = []

    def make(factory: Any = misbehaving_factory, **kwargs: Any) -> Pool:
        kwargs.setdefault("workers", 1)
        kwargs.setdefault("capacity", 10)
        made.append(Pool(ProcessJobQueue(factory, intra_op_threads=1, **kwargs)))
        return made[-1]

    yield make
    for p in made:
        p.queue.stop()


def test_jobs_run_in_worker_processes(pool: Callable[..., Pool], png: Any) -> None:
    p = pool(workers=2)
    p.wait_ready()  # else one worker may read every page while the other still loads
    ids = [p.submit(png(100 + i, 60)) for i in range(4)]
    for index, job_id in enumerate(ids):
        assert p.wait(job_id).status == "succeeded"
        [page] = p.store.read_pages(job_id)
        assert page["lines"][0]["text"] == f"PAGE {100 + index}x60"
    assert p.queue.ready and p.queue.error is None
    assert os.getpid() not in p.queue.pids() and len(p.queue.pids()) == 2


def test_a_page_that_hangs_fails_its_job_at_the_time_limit(
    pool: Callable[..., Pool], png: Any
) -> None:
    p = pool(job_timeout=1.0)
    p.wait_ready()
    before = p.queue.pids()
    hung = p.submit(png(HANG_WIDTH, 60))
    after = p.submit(png(120, 60))
    started = time.monotonic()
    assert p.wait(hung).status == "failed"
    assert time.monotonic() - started < 10
    assert p.store.read_pages(hung) == []
    # The next job runs on a fresh process.
    assert p.wait(after).status == "succeeded"
    assert p.queue.replaced == 1 and p.queue.pids() != before


def test_a_worker_killed_mid_page_fails_only_its_job(pool: Callable[..., Pool], png: Any) -> None:
    p = pool()
    dead = p.submit(png(DIE_WIDTH, 60))
    after = p.submit(png(120, 60))
    assert p.wait(dead).status == "failed"
    assert p.wait(after).status == "succeeded"
    assert p.queue.replaced == 1


def test_a_worker_killed_from_outside_is_replaced(pool: Callable[..., Pool], png: Any) -> None:
    p = pool()
    first = p.submit(png(120, 60))
    assert p.wait(first).status == "succeeded"
    (pid,) = p.queue.pids()
    os.kill(pid, signal.SIGKILL)
    # The next page meets the dead child: that job fails, the worker is replaced, and the
    # one after runs.
    second, third = p.submit(png(130, 60)), p.submit(png(140, 60))
    statuses = [p.wait(second).status, p.wait(third).status]
    assert statuses == ["failed", "succeeded"]
    assert p.queue.pids() != [pid]


def test_an_engine_error_fails_the_job_but_keeps_the_worker(
    pool: Callable[..., Pool], png: Any
) -> None:
    p = pool()
    p.wait_ready()
    pids = p.queue.pids()
    bad = p.submit(png(RAISE_WIDTH, 60))
    good = p.submit(png(120, 60))
    assert p.wait(bad).status == "failed"
    assert p.wait(good).status == "succeeded"
    assert p.queue.replaced == 0 and p.queue.pids() == pids


def test_an_engine_that_cannot_load_is_reported(pool: Callable[..., Pool], png: Any) -> None:
    p = pool(broken_factory)
    job_id = p.submit(png())
    assert p.wait(job_id).status == "failed"
    assert not p.queue.ready
    assert p.queue.error is not None and "model file missing" in p.queue.error


def test_thread_workers_enforce_the_time_limit_between_pages(multipage_tiff: Any) -> None:
    engine = FakeEngine(delay=0.3)
    p = Pool(
        ThreadJobQueue(
            lambda _n: engine, workers=1, intra_op_threads=1, capacity=5, job_timeout=0.5
        )
    )
    try:
        job_id = p.submit(multipage_tiff(5), pages=(1, 2, 3, 4, 5))
        assert p.wait(job_id).status == "failed"
        assert engine.calls < 5
    finally:
        p.queue.stop()


def test_job_control_hooks_hold_and_fail_jobs_of_worker_processes(png: Any) -> None:
    control = JobControl()
    p = Pool(
        ProcessJobQueue(misbehaving_factory, workers=1, intra_op_threads=1, capacity=5), control
    )
    store = p.store
    try:
        control.hold("running")
        held = p.submit(png(120, 60))
        assert control.wait_held(1) == [held]
        assert store.get(held).status == "running"  # type: ignore[union-attr]
        control.fail_next()
        control.release()
        assert p.wait(held).status == "failed"
        assert p.wait(p.submit(png(130, 60))).status == "succeeded"
    finally:
        p.queue.stop()


def test_a_worker_whose_parent_went_away_exits_quietly(capfd: pytest.CaptureFixture[str]) -> None:
    """The parent dies (or closes the pipe) while its child reads a page: the child ends
    cleanly when it finds nobody to answer, without a traceback on the shared terminal."""
    from PIL import Image

    from emulator.jobs.workers import WorkerProcess

    worker = WorkerProcess(misbehaving_factory, 1, "ocr-worker-orphan")
    assert worker.wait_ready() is None
    page = Image.new("RGB", (SLOW_WIDTH, 60), "white")
    worker._conn.send((page.mode, page.size, "basic", None))
    worker._conn.send_bytes(page.tobytes())
    worker._conn.close()  # as a killed parent's end would be
    worker.process.join(30)
    assert worker.process.exitcode == 0
    assert "Traceback" not in capfd.readouterr().err
