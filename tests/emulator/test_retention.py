"""Retention: results expire after --retention (proved with the injected clock), ``0`` deletes
a result once read, the sweeper really removes records, and inputs go when their job ends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from _harness import MakeHarness


async def test_result_expires_after_retention(
    make_harness: MakeHarness, png: Any, clock: Any
) -> None:
    h = await make_harness(retention=timedelta(minutes=30))
    operation_id = await h.submit(png())
    h.run()
    clock.advance(timedelta(minutes=29))
    assert h.service.sweep() == 0
    assert (await h.get(operation_id)).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert h.service.sweep() == 1
    assert (await h.get(operation_id)).status_code == 404
    # Gone from the store, not hidden.
    assert h.service.store.get(operation_id) is None
    assert h.service.store.read_pages(operation_id) == []


async def test_retention_counts_from_when_the_job_finished(
    make_harness: MakeHarness, png: Any, clock: Any
) -> None:
    h = await make_harness(retention=timedelta(hours=1))
    operation_id = await h.submit(png())
    clock.advance(timedelta(hours=5))  # waited in the queue; never expires while unfinished
    assert h.service.sweep() == 0
    h.run()
    clock.advance(timedelta(minutes=59))
    assert h.service.sweep() == 0
    assert (await h.get(operation_id)).json()["status"] == "succeeded"


async def test_retention_zero_deletes_after_the_first_read(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness(retention=timedelta(0))
    operation_id = await h.submit(png())
    assert (await h.get(operation_id)).json()["status"] == "notStarted"  # not finished: kept
    h.run()
    first = await h.get(operation_id)
    assert first.json()["status"] == "succeeded"
    assert first.json()["analyzeResult"]["readResults"]
    assert h.service.store.get(operation_id) is None
    assert (await h.get(operation_id)).status_code == 404


async def test_retention_zero_unread_results_still_expire(
    make_harness: MakeHarness, png: Any, clock: Any
) -> None:
    h = await make_harness(retention=timedelta(0))
    operation_id = await h.submit(png())
    h.run()
    clock.advance(timedelta(hours=24))
    assert h.service.sweep() == 1
    assert h.service.store.get(operation_id) is None


async def test_input_is_deleted_as_soon_as_the_job_finishes(h: Any, png: Any) -> None:
    operation_id = await h.submit(png())
    assert h.service.store.read_document(operation_id) is not None
    h.run()
    assert h.service.store.read_document(operation_id) is None
    assert len(h.service.store.read_pages(operation_id)) == 1


async def test_sweeper_task_runs_in_the_background(make_harness: MakeHarness, png: Any) -> None:
    import asyncio

    from emulator.clock import utc_now

    h = await make_harness(retention=timedelta(seconds=1), sweep_interval=0.05)
    operation_id = await h.submit(png())
    h.run()
    # The harness's clock is manual; move the job's expiry into the real past instead.
    job = h.service.store.get(operation_id)
    assert job is not None
    h.service.store.update(job.evolve(expires_at=utc_now() - timedelta(seconds=1)))
    h.service.clock = utc_now
    for _ in range(100):
        if h.service.store.get(operation_id) is None:
            break
        await asyncio.sleep(0.02)
    assert h.service.store.get(operation_id) is None
