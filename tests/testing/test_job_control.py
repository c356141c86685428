"""``JobControl``, the runner's hook behind hold/release/fail: each checkpoint in isolation,
across real threads, synchronised on events rather than sleeps."""

from __future__ import annotations

import threading

import pytest

from emulator.jobs import JobControl


def never() -> bool:
    return False


def start_checkpoint(
    control: JobControl, job_id: str, stage: str = "notStarted", stop: threading.Event | None = None
) -> threading.Thread:
    should_stop = stop.is_set if stop is not None else never
    thread = threading.Thread(
        target=control.checkpoint, args=(job_id, stage, should_stop), daemon=True
    )
    thread.start()
    return thread


def test_without_a_hold_a_checkpoint_passes_at_once() -> None:
    control = JobControl()
    control.checkpoint("a", "notStarted", never)
    control.checkpoint("a", "running", never)
    assert control.held == {}


def test_a_held_stage_blocks_until_release() -> None:
    control = JobControl()
    control.hold("running")
    control.checkpoint("a", "notStarted", never)  # another stage is not held
    thread = start_checkpoint(control, "a", "running")
    assert control.wait_held(1, timeout=10) == ["a"]
    assert control.held == {"a": "running"}
    assert thread.is_alive()
    control.release()
    thread.join(10)
    assert not thread.is_alive()
    assert control.held == {}
    # release() also ended the hold: the next job passes.
    control.checkpoint("b", "running", never)


def test_wait_held_times_out_with_a_count() -> None:
    control = JobControl()
    control.hold()
    with pytest.raises(TimeoutError, match="0 job"):
        control.wait_held(1, timeout=0.01)


def test_a_stopping_worker_leaves_a_hold() -> None:
    control = JobControl()
    control.hold()
    stop = threading.Event()
    thread = start_checkpoint(control, "a", stop=stop)
    control.wait_held(1, timeout=10)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def test_close_frees_held_jobs_and_disables_holds() -> None:
    control = JobControl()
    control.hold()
    thread = start_checkpoint(control, "a")
    control.wait_held(1, timeout=10)
    control.close()
    thread.join(10)
    assert not thread.is_alive()
    control.hold()
    control.checkpoint("b", "notStarted", never)  # does not block after close


def test_fail_next_counts_down_and_clear_forgets() -> None:
    control = JobControl()
    assert not control.take_failure()
    control.fail_next(2)
    assert [control.take_failure() for _ in range(3)] == [True, True, False]
    control.fail_next()
    control.clear()
    assert not control.take_failure()


@pytest.mark.parametrize("bad", ["done", "succeeded"])
def test_only_real_stages_can_be_held(bad: str) -> None:
    with pytest.raises(ValueError, match="stage"):
        JobControl().hold(bad)  # type: ignore[arg-type]


def test_a_negative_failure_count_is_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        JobControl().fail_next(-1)
