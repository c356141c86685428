"""The test controls over HTTP (``/_emulator/reset``, ``holds``, ``failures``, ``faults``): each
acts for the caller's key alone, so callers that share one emulator keep their jobs apart.

In process, with the manual queue and the fake engine; the shared emulator of pytest-xdist
over real sockets is in ``tests/testing/test_shared_emulator.py``."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from _harness import ANALYZE, BINARY, HEADERS, KEY, RESULTS, Harness, MakeHarness, assert_error

from emulator.clock import utc_now
from emulator.jobs import JobControl
from emulator.security.crypto import RecordCipher
from emulator.store import Job, JobOptions, MemoryStore, SqliteStore, Store
from emulator.store.base import Usage

OTHER_KEY = "another-key-9876543210"
OTHER = {"Ocp-Apim-Subscription-Key": OTHER_KEY}


async def two_callers(make_harness: MakeHarness, **settings: Any) -> Harness:
    return await make_harness(api_keys=(KEY, OTHER_KEY), **settings)


async def submit_as(h: Harness, headers: dict[str, str], data: bytes) -> str:
    response = await h.client.post(ANALYZE, content=data, headers={**BINARY, **headers})
    assert response.status_code == 202, response.text
    return response.headers["Operation-Location"].rsplit("/", 1)[-1]


async def status_as(h: Harness, headers: dict[str, str], operation_id: str) -> Any:
    response = await h.client.get(f"{RESULTS}/{operation_id}", headers=headers)
    return response.json()["status"] if response.status_code == 200 else response.status_code


async def test_a_reset_deletes_the_callers_jobs_and_meter_only(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await two_callers(make_harness)
    mine, theirs = await h.submit(png()), await submit_as(h, OTHER, png())
    h.run()
    pending = await submit_as(h, OTHER, png())
    answer = await h.client.post("/_emulator/reset")
    assert answer.status_code == 200 and answer.json() == {"deleted": 1}
    assert await status_as(h, HEADERS, mine) == 404
    assert await status_as(h, OTHER, theirs) == "succeeded"
    assert await status_as(h, OTHER, pending) == "notStarted"
    usage = (await h.client.get("/_emulator/usage", headers=OTHER)).json()
    assert {k["caller"]: k["transactions"] for k in usage["keys"]} == {False: 0, True: 1}


async def test_a_hold_stops_only_the_holders_jobs(make_harness: MakeHarness, png: Any) -> None:
    h = await two_callers(make_harness, manual=False)
    assert (await h.client.post("/_emulator/holds", json={"at": "notStarted"})).status_code == 204
    mine = await h.submit(png())
    theirs = await submit_as(h, OTHER, png())
    held = (await h.client.get("/_emulator/holds", params={"count": 1, "timeout": 10})).json()
    assert held == {"held": [mine]}
    # None of the other caller's jobs is held. (With one job thread, as here, its job waits
    # for the thread the held job occupies; the shared emulator of pytest-xdist runs many
    # job threads over one engine so that it does not.)
    theirs_held = await h.client.get(
        "/_emulator/holds", params={"count": 1, "timeout": 0.1}, headers=OTHER
    )
    assert theirs_held.json() == {"held": []}
    assert (await h.client.delete("/_emulator/holds", headers=OTHER)).status_code == 204
    assert await status_as(h, HEADERS, mine) == "notStarted"  # another's release: still held
    assert (await h.client.delete("/_emulator/holds")).status_code == 204
    for operation_id, headers in ((mine, HEADERS), (theirs, OTHER)):
        for _ in range(500):
            if await status_as(h, headers, operation_id) == "succeeded":
                break
            await asyncio.sleep(0.01)
        assert await status_as(h, headers, operation_id) == "succeeded"


async def test_failures_and_faults_are_the_callers(make_harness: MakeHarness, png: Any) -> None:
    h = await two_callers(make_harness)
    assert (await h.client.post("/_emulator/failures", json={"count": 1})).status_code == 204
    armed = await h.client.post("/_emulator/faults", json={"route": "result", "status": 503})
    assert armed.status_code == 201
    theirs, mine = await submit_as(h, OTHER, png()), await h.submit(png())
    h.run()
    assert await status_as(h, OTHER, theirs) == "succeeded"
    assert (await h.get(mine)).status_code == 503
    assert (await h.client.get("/_emulator/faults", headers=OTHER)).json()["faults"] == []
    assert (await h.client.delete("/_emulator/faults", headers=OTHER)).status_code == 204
    assert len((await h.client.get("/_emulator/faults")).json()["faults"]) == 1
    assert (await h.client.delete("/_emulator/faults", params={"seed": 4})).status_code == 204
    assert (await h.client.get("/_emulator/faults")).json()["seed"] == 4
    assert (await h.get(mine)).json()["status"] == "failed"


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    [
        ("POST", "/_emulator/holds", {"at": "finished"}, None),
        ("POST", "/_emulator/holds", ["running"], None),
        ("POST", "/_emulator/holds", "running", None),
        ("POST", "/_emulator/failures", {"count": 0}, None),
        ("POST", "/_emulator/failures", {"count": "2"}, None),
        ("POST", "/_emulator/failures", [1], None),
        ("GET", "/_emulator/holds", None, {"count": "x"}),
        ("GET", "/_emulator/holds", None, {"timeout": "1000"}),
        ("DELETE", "/_emulator/faults", None, {"seed": "one"}),
    ],
)
async def test_malformed_controls_get_a_clear_400(
    h: Harness, method: str, path: str, body: Any, params: Any, validate: Any
) -> None:
    response = await h.client.request(method, path, json=body, params=params)
    assert_error(response, 400, "BadArgument", validate)


async def test_the_controls_need_a_key(h: Harness) -> None:
    for method, path in (("POST", "/_emulator/reset"), ("POST", "/_emulator/holds")):
        response = await h.client.request(method, path, headers={next(iter(HEADERS)): "wrong"})
        assert response.status_code == 401


def test_job_control_by_owner() -> None:
    control = JobControl()
    control.fail_next(1, owner="a")
    control.fail_next(1)
    assert control.take_failure("b")  # everyone's failure
    assert not control.take_failure("b")
    assert control.take_failure("a") and not control.take_failure("a")
    control.hold("running", owner="a")
    control.checkpoint("x", "running", lambda: False, owner="b")  # not held: returns
    control.fail_next(2, owner="a")
    control.clear("a")
    assert not control.take_failure("a")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Store:
    cipher = RecordCipher.generate()
    return MemoryStore(cipher) if request.param == "memory" else SqliteStore(cipher, tmp_path)


def test_a_store_lists_and_clears_by_owner(store: Store) -> None:
    now = utc_now()

    def job(i: int, owner: str | None) -> Job:
        return Job(
            f"0000000{i}-0000-4000-8000-000000000000",
            "notStarted",
            now,
            now,
            JobOptions(billing_key=owner),
        )

    jobs = [job(0, "a"), job(1, "b"), job(2, "a"), job(3, None)]
    for each in jobs:
        store.create(each, b"document")
    store.finish(jobs[0].evolve(status="succeeded", pages_done=1, expires_at=now))
    store.finish(jobs[1].evolve(status="succeeded", pages_done=1, expires_at=now))
    assert sorted(store.owned("a")) == [jobs[0].id, jobs[2].id]  # finished or not
    assert store.owned("c") == []
    assert store.usage() == {"a": Usage(1, 1), "b": Usage(1, 1)}
    store.clear_usage("a")
    assert store.usage() == {"b": Usage(1, 1)}
    store.close()


def test_limit_work_lets_that_many_jobs_work_at_once() -> None:
    control = JobControl()
    control.limit_work(1)
    inside = threading.Event()
    second_in = threading.Event()

    def second() -> None:
        with control.working():
            second_in.set()

    with control.working():
        inside.set()
        thread = threading.Thread(target=second, daemon=True)
        thread.start()
        assert not second_in.wait(0.2)  # the one place is taken
    thread.join(10)
    assert second_in.is_set()
    with pytest.raises(ValueError):
        control.limit_work(0)
