"""The job queue: bounded, never dropping accepted work, a worker pool with one engine each,
and the running state with its Retry-After."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from _harness import ANALYZE, BINARY, Harness, MakeHarness

from emulator.clock import utc_now
from emulator.engine.fake import FakeEngine
from emulator.jobs import JobRunner, QueueFullError, ThreadJobQueue
from emulator.security.crypto import RecordCipher
from emulator.settings import TIER_LIMITS
from emulator.store import Job, JobOptions, MemoryStore


async def test_full_queue_answers_429_and_accepts_nothing(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness(max_queue=2)
    first = await h.submit(png())
    second = await h.submit(png())
    refused = await h.client.post(ANALYZE, content=png(), headers=BINARY)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "429"
    assert "Operation-Location" not in refused.headers
    # The accepted ones are all still there and run.
    assert h.run() == [first, second]
    for operation_id in (first, second):
        assert (await h.get(operation_id)).json()["status"] == "succeeded"
    # Room again.
    assert (await h.client.post(ANALYZE, content=png(), headers=BINARY)).status_code == 202


async def test_thread_pool_runs_jobs_to_completion(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness(manual=False, workers=2)
    ids = [await h.submit(png(100 + i, 100)) for i in range(6)]
    deadline = time.monotonic() + 10
    statuses: list[str] = []
    while time.monotonic() < deadline:
        statuses = [(await h.get(i)).json()["status"] for i in ids]
        if all(s == "succeeded" for s in statuses):
            break
        await asyncio.sleep(0.02)
    assert statuses == ["succeeded"] * 6


async def test_running_job_reports_progress_and_retry_after(
    make_harness: MakeHarness, multipage_tiff: Any, validate: Any
) -> None:
    gate = threading.Event()
    h = await make_harness(manual=False, engine=FakeEngine(gate=gate))
    operation_id = await h.submit(multipage_tiff(3))
    deadline = time.monotonic() + 5
    while (await h.get(operation_id)).json()["status"] != "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    response = await h.get(operation_id)
    validate("ReadOperationResult", response.json())
    assert int(response.headers["Retry-After"]) >= 1
    gate.set()
    while (await h.get(operation_id)).json()["status"] != "succeeded":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


def _job(store: MemoryStore, data: bytes, pages: tuple[int, ...] = (1,)) -> str:
    now = utc_now()
    job = Job(
        id=f"00000000-0000-4000-8000-{len(store._jobs):012d}",
        status="notStarted",
        created=now,
        updated=now,
        options=JobOptions(pages=pages),
    )
    store.create(job, data)
    return job.id


def test_thread_queue_capacity_counts_only_waiting_jobs(png: Any) -> None:
    gate = threading.Event()
    engine = FakeEngine(gate=gate)
    store = MemoryStore(RecordCipher.generate())
    from datetime import timedelta

    runner = JobRunner(store, utc_now, TIER_LIMITS["paid"], timedelta(hours=1))
    queue = ThreadJobQueue(lambda _n: engine, workers=1, intra_op_threads=1, capacity=1)
    queue.start(runner)
    try:
        running = _job(store, png())
        queue.submit(running)
        deadline = time.monotonic() + 5
        while store.get(running).status != "running":  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.01)
        waiting = _job(store, png())
        queue.submit(waiting)
        try:
            queue.submit(_job(store, png()))
        except QueueFullError:
            pass
        else:
            raise AssertionError("a third job fit in a queue of one")
        # Resumed jobs were accepted before a restart: they always fit.
        queue.resume(_job(store, png()))
        gate.set()
    finally:
        gate.set()
        queue.stop()


def test_shutdown_interrupts_between_pages_and_leaves_the_job_resumable(
    multipage_tiff: Any,
) -> None:
    from datetime import timedelta

    gate = threading.Event()
    engine = FakeEngine(gate=gate)
    store = MemoryStore(RecordCipher.generate())
    runner = JobRunner(store, utc_now, TIER_LIMITS["paid"], timedelta(hours=1))
    queue = ThreadJobQueue(lambda _n: engine, workers=1, intra_op_threads=1, capacity=5)
    queue.start(runner)
    job_id = _job(store, multipage_tiff(3), pages=(1, 2, 3))
    queue.submit(job_id)
    deadline = time.monotonic() + 5
    while engine.calls == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    stopper = threading.Thread(target=queue.stop)
    stopper.start()
    time.sleep(0.05)
    gate.set()
    stopper.join(5)
    job = store.get(job_id)
    assert job is not None
    assert job.status == "notStarted"
    assert store.read_document(job_id) is not None
    assert engine.calls == 1


def test_engine_that_fails_to_load_fails_jobs_and_reports_why(png: Any) -> None:
    from datetime import timedelta

    def broken(_threads: int) -> FakeEngine:
        raise RuntimeError("model file missing")

    store = MemoryStore(RecordCipher.generate())
    runner = JobRunner(store, utc_now, TIER_LIMITS["paid"], timedelta(hours=1))
    queue = ThreadJobQueue(broken, workers=1, intra_op_threads=1, capacity=5)
    queue.start(runner)
    job_id = _job(store, png())
    queue.submit(job_id)
    deadline = time.monotonic() + 5
    while store.get(job_id).status != "failed":  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not queue.ready
    assert queue.error is not None and "model file missing" in queue.error
    queue.stop()


async def test_status_reports_queue_depth(h: Harness, png: Any) -> None:
    await h.submit(png())
    status = (await h.client.get("/status")).json()
    assert status["queue"] == {"waiting": 1, "capacity": 100}
    assert status["store"] == "memory"


async def test_poll_hints_carry_the_expected_remaining_time_in_milliseconds(
    h: Harness, png: Any, clock: Any
) -> None:
    from datetime import timedelta

    h.service.runner._seconds_per_page = 0.4  # as if the engine had been taking 0.4 s a page
    first = await h.client.post(ANALYZE, content=png(), headers=BINARY)
    # Nothing ahead of it: one page's time (aimed 10 % early). Retry-After cannot say 0.36 s,
    # retry-after-ms can.
    assert first.headers["retry-after-ms"] == "360" and first.headers["Retry-After"] == "1"
    second = await h.client.post(ANALYZE, content=png(), headers=BINARY)
    assert second.headers["retry-after-ms"] == "720"  # one job ahead on the one worker

    job_id = first.headers["Operation-Location"].rsplit("/", 1)[1]
    job = h.service.store.get(job_id)
    assert job is not None
    running = job.evolve(status="running", updated=clock())
    h.service.store.update(running)
    clock.advance(timedelta(milliseconds=150))
    response = await h.get(job_id)
    assert response.headers["retry-after-ms"] == "225"  # 0.9 x (0.4 s less the 0.15 s spent)
    # Past the estimate: come back soon, but not in a busy loop.
    clock.advance(timedelta(seconds=2))
    response = await h.get(job_id)
    assert response.headers["retry-after-ms"] == "20" and response.headers["Retry-After"] == "1"
    h.run()
    assert "retry-after-ms" not in (await h.get(job_id)).headers


async def test_poll_hints_never_ask_for_more_than_five_seconds(
    h: Harness, multipage_tiff: Any
) -> None:
    h.service.runner._seconds_per_page = 2.0
    response = await h.client.post(
        ANALYZE, content=multipage_tiff(20), headers=BINARY, params={"pages": "1-20"}
    )
    # 40 s of work expected; the client is still asked back after 5 s, in case it goes faster.
    assert response.headers["retry-after-ms"] == "5000" and response.headers["Retry-After"] == "5"


def test_the_first_page_replaces_the_prior_estimate(png: Any) -> None:
    from datetime import timedelta

    runner = JobRunner(
        MemoryStore(RecordCipher.generate()), utc_now, TIER_LIMITS["paid"], timedelta(1)
    )
    assert runner.seconds_per_page == 1.0  # a guess before any page
    runner._observe(0.3)
    assert runner.seconds_per_page == 0.3
    runner._observe(0.5)
    assert runner.seconds_per_page == 0.4


class _StoreFailingOnce(MemoryStore):
    """A store whose first lookup of a job fails, as a broken disk would, before the runner
    could even mark the job running (so not even ``fail`` can record anything)."""

    def __init__(self) -> None:
        super().__init__(RecordCipher.generate())
        self.fail_for: str | None = None

    def get(self, job_id: str) -> Job | None:
        if job_id == self.fail_for:
            self.fail_for = None
            raise OSError(28, "No space left on device")
        return super().get(job_id)


def test_a_store_error_before_a_job_starts_does_not_kill_its_worker(png: Any) -> None:
    from datetime import timedelta

    store = _StoreFailingOnce()
    runner = JobRunner(store, utc_now, TIER_LIMITS["paid"], timedelta(hours=1))
    queue = ThreadJobQueue(lambda _n: FakeEngine(), workers=1, intra_op_threads=1, capacity=10)
    queue.start(runner)
    try:
        unlucky, later = _job(store, png()), _job(store, png())
        store.fail_for = unlucky  # the worker's first lookup of it
        queue.submit(unlucky)
        queue.submit(later)
        deadline = time.monotonic() + 10
        while (job := store.get(later)) is None or job.status != "succeeded":
            assert time.monotonic() < deadline, "the only worker died with the first job"
            time.sleep(0.01)
        # The unlucky job keeps its stored state for a resume; the pool is intact.
        assert store.get(unlucky).status == "notStarted"  # type: ignore[union-attr]
        assert queue.busy == 0 and queue.depth == 0
    finally:
        queue.stop()


def test_each_page_result_is_stored_as_soon_as_the_page_is_read(multipage_tiff: Any) -> None:
    """A long job holds no list of results: page k's result is in the store (encrypted)
    before page k + 1 is recognised, and the job's progress moves with it."""
    from datetime import timedelta

    store = MemoryStore(RecordCipher.generate())
    job_id = _job(store, multipage_tiff(4), pages=(1, 2, 3, 4))
    seen: list[tuple[int, int]] = []

    class Watching(FakeEngine):
        def recognize(self, image: Any, **options: Any) -> Any:
            job = store.get(job_id)
            assert job is not None
            seen.append((len(store.read_pages(job_id)), job.pages_done))
            return super().recognize(image, **options)

    runner = JobRunner(store, utc_now, TIER_LIMITS["paid"], timedelta(hours=1))
    runner.run(job_id, Watching(), lambda: False)
    assert seen == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert [page["page"] for page in store.read_pages(job_id)] == [1, 2, 3, 4]
    assert store.get(job_id).status == "succeeded"  # type: ignore[union-attr]
