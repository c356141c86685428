"""One emulator shared by several test processes (pytest-xdist workers), each with its own key.

Two handles joined in this process stand for two workers: they meet in one directory, as
xdist's workers do, and share one real emulator process (real engine, real sockets).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulator.testing import SharedEmulator, SharedEmulatorFullError, shared_emulator
from emulator.testing.shared import _alive  # a zombie (ended, not yet reaped) is not alive
from ocr_sdk import NotFoundError, OperationFailedError, RetryPolicy, ServiceError


def _pid(directory: Path) -> int:
    state = json.loads((directory / "ocr-emulator-http.json").read_text())
    return int(state["pid"])


@pytest.fixture(scope="module")
def meeting(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workers")


@pytest.fixture(scope="module")
def pair(meeting: Path) -> Iterator[tuple[SharedEmulator, SharedEmulator]]:
    with (
        shared_emulator(meeting, slots=3) as first,
        shared_emulator(meeting, slots=3) as second,
    ):
        yield first, second


@pytest.fixture(autouse=True)
def _clean(pair: tuple[SharedEmulator, SharedEmulator]) -> Iterator[None]:
    yield
    for handle in pair:
        handle.reset()


@pytest.fixture
def blank(png: Callable[..., bytes]) -> bytes:
    return png(120, 60)


def test_workers_share_one_emulator_with_keys_of_their_own(
    pair: tuple[SharedEmulator, SharedEmulator], meeting: Path
) -> None:
    first, second = pair
    assert first.endpoint == second.endpoint
    assert first.api_key != second.api_key
    assert _alive(_pid(meeting))
    # The state file holds the keys: only this user may read it.
    assert (meeting / "ocr-emulator-http.json").stat().st_mode & 0o077 == 0


def test_the_shared_emulator_reads_real_text(
    pair: tuple[SharedEmulator, SharedEmulator], text_png: Callable[[list[str]], bytes]
) -> None:
    first, _ = pair
    with first.client() as client:
        assert client.read(text_png(["HELLO 42"])).text.split() == ["HELLO", "42"]


def test_a_reset_clears_only_the_callers_jobs_and_meter(
    pair: tuple[SharedEmulator, SharedEmulator], blank: bytes
) -> None:
    first, second = pair
    with first.client() as one, second.client() as other:
        mine = one.read(blank).operation_id
        theirs = other.read(blank).operation_id
        second.hold_jobs()
        waiting = other.begin_read(blank)
        first.reset()
        with pytest.raises(NotFoundError):
            one.get_read_result(mine)
        assert other.get_read_result(theirs).status == "succeeded"
        assert other.get_read_result(waiting.operation_id).status == "notStarted"
        billed = {k["caller"]: k["transactions"] for k in second.usage()["keys"] if k["caller"]}
        assert billed == {True: 1}
        assert first.usage()["total"]["transactions"] == 1  # the other worker's page
        second.release()
        assert waiting.result().operation.status == "succeeded"


def test_a_hold_stops_only_the_holders_jobs(
    pair: tuple[SharedEmulator, SharedEmulator], blank: bytes
) -> None:
    first, second = pair
    with first.client() as one, second.client() as other:
        with first.holding_jobs(at="running"):
            held = [one.begin_read(blank) for _ in range(3)]
            ids = first.wait_for_held(3, timeout=30)
            assert sorted(ids) == sorted(p.operation_id for p in held)
            # The other worker's jobs run to the end meanwhile, on the one engine, and
            # none of them is held.
            assert all(other.read(blank).operation.status == "succeeded" for _ in range(2))
            with pytest.raises(TimeoutError):
                second.wait_for_held(1, timeout=0.2)
            assert {one.get_read_result(i).status for i in ids} == {"running"}
        assert all(p.result().operation.status == "succeeded" for p in held)


def test_a_failure_and_a_fault_touch_only_their_worker(
    pair: tuple[SharedEmulator, SharedEmulator], blank: bytes
) -> None:
    first, second = pair
    once = RetryPolicy(max_retries=0)
    with first.client(retry=once) as one, second.client(retry=once) as other:
        first.fail_next_job()
        # The other worker's job does not take the failure meant for the first's.
        assert other.read(blank).operation.status == "succeeded"
        with pytest.raises(OperationFailedError):
            one.read(blank)
        first.inject_fault("result", status=500, times=1)
        assert other.read(blank).operation.status == "succeeded"
        with pytest.raises(ServiceError):
            one.read(blank)
    assert [rule["fired"] for rule in first.describe_faults()["faults"]] == [1]
    assert second.describe_faults()["faults"] == []


def test_tokens_come_from_the_shared_issuer(
    pair: tuple[SharedEmulator, SharedEmulator], blank: bytes
) -> None:
    first, _ = pair
    with first.client(credential=first.credential()) as client:
        assert client.read(blank).operation.status == "succeeded"


def test_the_emulators_own_objects_are_out_of_reach(
    pair: tuple[SharedEmulator, SharedEmulator],
) -> None:
    with pytest.raises(AttributeError, match="per-worker"):
        _ = pair[0].service


def test_the_last_to_leave_stops_it_and_a_full_house_is_refused(tmp_path: Path) -> None:
    with shared_emulator(tmp_path, slots=1) as only:
        pid = _pid(tmp_path)
        with pytest.raises(SharedEmulatorFullError), shared_emulator(tmp_path, slots=1):
            pass
        assert _alive(pid) and only.usage()["total"]["transactions"] == 0
    assert not _alive(pid)
    assert not (tmp_path / "ocr-emulator-http.json").exists()


def test_a_crashed_worker_frees_its_key_and_does_not_keep_the_emulator_alive(
    tmp_path: Path,
) -> None:
    # A "worker" that joins and is killed without leaving (SIGKILL: no teardown at all).
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from emulator.testing import shared_emulator\n"
        "with shared_emulator(Path(sys.argv[1]), slots=1):\n"
        "    print('joined', flush=True)\n"
        "    time.sleep(600)\n"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline() == "joined\n"
        pid = _pid(tmp_path)
    finally:
        worker.kill()
        worker.wait(30)
    # Its only key is free again, and this process, the last live one, stops the emulator.
    with shared_emulator(tmp_path, slots=1) as handle:
        assert _pid(tmp_path) == pid  # the same emulator, still running
        assert handle.usage()["total"]["transactions"] == 0
    assert not _alive(pid)
