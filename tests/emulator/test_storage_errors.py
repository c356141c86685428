"""A store that fails (disk full, a broken database) answers 500 ``StorageException`` in the
service's body, and a result stored before the failure is still there after it."""

from __future__ import annotations

import contextlib
import errno
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from _harness import ANALYZE, BINARY, HEADERS, RESULTS, assert_error

from emulator.app import create_app
from emulator.engine.fake import FakeEngine
from emulator.jobs import ManualJobQueue
from emulator.security.crypto import RecordCipher
from emulator.security.sealed import EncryptedDocument
from emulator.settings import Settings
from emulator.store import Job, SqliteStore

Failure = Literal["disk-full", "database"]


class FailingStore(SqliteStore):
    """The real on-disk store, except that every call fails while ``failure`` is set."""

    failure: Failure | None = None
    #: Calls of ``_finish`` (recording a job's end) still to fail, whatever ``failure`` says.
    finish_failures = 0

    def _fail(self) -> None:
        if self.failure == "disk-full":
            raise OSError(errno.ENOSPC, "No space left on device", "/secret/path/emulator.sqlite3")
        if self.failure == "database":
            raise sqlite3.OperationalError("database disk image is malformed")

    def _put_new(self, job: Job, document: EncryptedDocument) -> None:
        self._fail()
        super()._put_new(job, document)

    def _document(self, job_id: str) -> EncryptedDocument | None:
        self._fail()
        return super()._document(job_id)

    def _get_pages(self, job_id: str) -> list[bytes]:
        self._fail()
        return super()._get_pages(job_id)

    def _finish(self, job: Job) -> None:
        if self.finish_failures:
            self.finish_failures -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        super()._finish(job)

    def get(self, job_id: str) -> Job | None:
        self._fail()
        return super().get(job_id)

    def delete(self, job_id: str) -> bool:
        self._fail()
        return super().delete(job_id)


@pytest.fixture
async def broken(tmp_path: Path, clock: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = Settings(api_keys=(next(iter(HEADERS.values())),), workers=1, data_dir=tmp_path)
    engine = FakeEngine()
    store = FailingStore(RecordCipher.generate(), tmp_path)
    queue = ManualJobQueue(engine)
    app = create_app(settings, clock=clock, job_queue=queue, store=store)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://emulator.test",
                headers=HEADERS,
            )
        )
        yield client, (store, queue)


async def test_a_worker_survives_a_store_that_cannot_record_a_job_s_end(
    broken: tuple[httpx.AsyncClient, Any], png: Any, tmp_path: Path, clock: Any
) -> None:
    """Disk full when a job ends, and again when it is marked failed: the worker goes on
    with the next job, and the stuck job finishes after a restart on the same directory."""
    client, (store, queue) = broken
    stuck, later = [
        (await client.post(ANALYZE, content=png(), headers=BINARY)).headers["Operation-Location"]
        for _ in range(2)
    ]
    store.finish_failures = 2  # the result, then the failure
    queue.run_all()  # returns: the runner did not die with the first job
    assert (await client.get(stuck)).json()["status"] == "running"
    assert (await client.get(later)).json()["status"] == "succeeded"

    settings = Settings(api_keys=(next(iter(HEADERS.values())),), workers=1, data_dir=tmp_path)
    engine = FakeEngine()
    again = ManualJobQueue(engine)
    app = create_app(
        settings, clock=clock, job_queue=again, store=SqliteStore(store.cipher, tmp_path)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://emulator.test", headers=HEADERS
        ) as restarted,
    ):
        again.run_all()
        assert (await restarted.get(stuck)).json()["status"] == "succeeded"


@pytest.mark.parametrize("failure", ["disk-full", "database"])
async def test_store_failures_are_storage_exceptions_and_lose_nothing(
    broken: tuple[httpx.AsyncClient, Any],
    failure: Failure,
    png: Any,
    validate: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, (store, queue) = broken
    accepted = await client.post(ANALYZE, content=png(), headers=BINARY)
    assert accepted.status_code == 202
    location = accepted.headers["Operation-Location"]
    queue.run_all()
    before = (await client.get(location)).json()
    assert before["status"] == "succeeded"

    store.failure = failure
    for response in (
        await client.post(ANALYZE, content=png(), headers=BINARY),
        await client.get(location),
        await client.delete(location),
    ):
        body = assert_error(response, 500, "StorageException", validate)
        assert "secret" not in body["message"] and "malformed" not in body["message"]
    assert "/secret/path" not in caplog.text  # logged by type, never the path or data

    store.failure = None
    after = (await client.get(location)).json()
    assert after == before  # the stored result survived the failures untouched
    assert (await client.get(f"{RESULTS}/{location.rsplit('/', 1)[-1]}")).status_code == 200
    assert (await client.post(ANALYZE, content=png(), headers=BINARY)).status_code == 202
