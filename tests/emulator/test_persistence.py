"""The on-disk store: jobs and results survive a restart, unfinished jobs resume, every
record is encrypted, and nothing readable about the document or the key is left on disk."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _harness import MakeHarness

from emulator.security.crypto import KEY_FILE_NAME, DecryptionError, RecordCipher
from emulator.store import DB_FILE_NAME, Expired, Job, JobOptions, MemoryStore, SqliteStore, Store

SECRET_TEXT = "CONFIDENTIAL-MARKER-7f3a"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_results_survive_a_restart(
    make_harness: MakeHarness, png: Any, tmp_path: Path
) -> None:
    first = await make_harness(data_dir=tmp_path)
    operation_id = await first.submit(png(321, 123))
    first.run()
    expected = (await first.get(operation_id)).json()
    first.service.stop()

    second = await make_harness(data_dir=tmp_path)
    assert (await second.get(operation_id)).json() == expected


async def test_unfinished_jobs_resume_after_a_restart(
    make_harness: MakeHarness, png: Any, tmp_path: Path
) -> None:
    first = await make_harness(data_dir=tmp_path)
    queued = await first.submit(png(222, 111))
    first.service.stop()

    second = await make_harness(data_dir=tmp_path)
    assert second.queue is not None and second.queue.depth == 1
    assert second.run() == [queued]
    body = (await second.get(queued)).json()
    assert body["status"] == "succeeded"
    assert body["analyzeResult"]["readResults"][0]["width"] == 222


async def test_a_job_running_at_shutdown_restarts_from_scratch(
    make_harness: MakeHarness, png: Any, tmp_path: Path
) -> None:
    first = await make_harness(data_dir=tmp_path)
    operation_id = await first.submit(png())
    job = first.service.store.get(operation_id)
    assert job is not None
    first.service.store.update(job.evolve(status="running", pages_done=0))
    first.service.stop()

    second = await make_harness(data_dir=tmp_path)
    assert (await second.get(operation_id)).json()["status"] == "notStarted"
    second.run()
    assert (await second.get(operation_id)).json()["status"] == "succeeded"


async def test_nothing_on_disk_reveals_the_document_text_or_the_key(
    make_harness: MakeHarness, png: Any, tmp_path: Path
) -> None:
    key = "api-key-that-must-not-be-stored-1234"
    h = await make_harness(data_dir=tmp_path, api_keys=(key,))
    h.client.headers["Ocp-Apim-Subscription-Key"] = key
    document = png(400, 200, marker=SECRET_TEXT)
    assert SECRET_TEXT.encode() in document
    queued = await h.submit(document)
    done = await h.submit(png(400, 200, marker=SECRET_TEXT))
    h.queue.run_next()  # type: ignore[union-attr]
    h.queue.run_next()  # type: ignore[union-attr]
    result_text = (await h.get(done)).json()["analyzeResult"]["readResults"][0]["lines"][0]["text"]
    assert result_text == "PAGE 400x200"
    assert queued  # the other job is finished too; both records exist on disk
    needles = [SECRET_TEXT.encode(), key.encode(), result_text.encode(), b"PAGE 400x200"]
    for path in _files(tmp_path):
        content = path.read_bytes()
        for needle in needles:
            assert needle not in content, f"{needle!r} found in {path}"
        # The PNG signature would show an unencrypted document.
        assert b"\x89PNG" not in content, path


def test_key_file_is_created_private_inside_the_data_dir(tmp_path: Path) -> None:
    from emulator.app import build_cipher
    from emulator.settings import Settings

    build_cipher(Settings(api_keys=("k",), data_dir=tmp_path))
    key_file = tmp_path / KEY_FILE_NAME
    assert key_file.stat().st_size == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_bytes()
    build_cipher(Settings(api_keys=("k",), data_dir=tmp_path))
    assert key_file.read_bytes() == first


def test_explicit_key_file_is_used(tmp_path: Path) -> None:
    from emulator.app import build_cipher
    from emulator.settings import Settings

    key_file = tmp_path / "keys" / "at-rest.key"
    cipher = build_cipher(Settings(api_keys=("k",), encryption_key_file=key_file))
    assert key_file.is_file()
    record = cipher.encrypt("op", b"data")
    again = build_cipher(Settings(api_keys=("k",), encryption_key_file=key_file))
    assert again.decrypt("op", record) == b"data"


def test_database_file_is_private(tmp_path: Path) -> None:
    store = SqliteStore(RecordCipher.generate(), tmp_path)
    assert stat.S_IMODE((tmp_path / DB_FILE_NAME).stat().st_mode) == 0o600
    store.close()


def test_wrong_key_cannot_read_a_persistent_store(tmp_path: Path, png: Any) -> None:
    from emulator.clock import utc_now

    store = SqliteStore(RecordCipher.generate(), tmp_path)
    now = utc_now()
    job = Job("0b0b0b0b-0000-4000-8000-000000000000", "notStarted", now, now, JobOptions())
    store.create(job, png())
    store.close()
    other = SqliteStore(RecordCipher.generate(), tmp_path)
    with pytest.raises(DecryptionError):
        other.read_document(job.id)
    other.close()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    cipher = RecordCipher.generate()
    if request.param == "memory":
        return MemoryStore(cipher)
    return SqliteStore(cipher, tmp_path)


def test_store_contract(store: Store) -> None:
    """Both backends behave the same (a Redis backend would join this parametrisation)."""
    from emulator.clock import utc_now

    now = utc_now()
    options = JobOptions(language="fr", pages=(1, 3), reading_order="natural")
    jobs = [
        Job(
            f"0000000{i}-0000-4000-8000-000000000000",
            "notStarted",
            now + timedelta(seconds=i),
            now,
            options,
        )
        for i in range(3)
    ]
    for job in jobs:
        store.create(job, b"document %d" % jobs.index(job))
    assert store.get(jobs[0].id) == jobs[0]
    assert store.read_document(jobs[1].id) == b"document 1"
    assert [j.id for j in store.unfinished()] == [j.id for j in jobs]

    # Page results are stored as each page is read, with the job's progress.
    assert store.add_page(jobs[0].evolve(status="running", pages_done=1), {"page": 1})
    assert store.add_page(jobs[0].evolve(status="running", pages_done=2), {"page": 3})
    assert store.get(jobs[0].id).pages_done == 2  # type: ignore[union-attr]
    # A job that starts over replaces its pages instead of adding to them.
    assert store.add_page(jobs[0].evolve(status="running", pages_done=2), {"page": 3, "x": 1})
    assert not store.add_page(jobs[0].evolve(id="gone", pages_done=1), {"page": 1})
    finished = jobs[0].evolve(status="succeeded", pages_done=2, expires_at=now + timedelta(hours=1))
    store.finish(finished)
    assert store.get(finished.id) == finished
    assert store.read_document(finished.id) is None
    assert store.read_pages(finished.id) == [{"page": 1}, {"page": 3, "x": 1}]
    assert [j.id for j in store.unfinished()] == [jobs[1].id, jobs[2].id]

    assert store.update(jobs[1].evolve(status="running", pages_done=1))
    assert store.get(jobs[1].id).status == "running"  # type: ignore[union-attr]

    assert store.delete_expired(now + timedelta(minutes=59)) == []
    # The sweep gets the deleted job's record, for its log line.
    assert store.delete_expired(now + timedelta(hours=1)) == [Expired(finished.id, finished)]
    assert store.get(finished.id) is None
    assert store.read_pages(finished.id) == []

    # A failed job keeps no partial result; a deleted job keeps nothing.
    assert store.add_page(jobs[1].evolve(status="running", pages_done=1), {"page": 1})
    store.finish(jobs[1].evolve(status="failed", expires_at=now + timedelta(hours=1)))
    assert store.read_pages(jobs[1].id) == []
    assert store.add_page(jobs[2].evolve(status="running", pages_done=1), {"page": 1})
    assert store.delete(jobs[2].id)
    assert not store.delete(jobs[2].id)
    assert not store.update(jobs[2])
    assert store.read_document(jobs[2].id) is None
    assert store.read_pages(jobs[2].id) == []
    store.close()


def test_sqlite_secure_delete_overwrites_removed_records(tmp_path: Path) -> None:
    """Deleted ciphertext does not linger in free pages of the database file."""
    from emulator.clock import utc_now

    class Transparent(RecordCipher):
        """Stores plaintext so the test can look for it on disk."""

        def encrypt(self, operation_id: str, plaintext: bytes) -> bytes:
            return plaintext

        def decrypt(self, operation_id: str, record: bytes) -> bytes:
            return record

        def seal_segment(
            self, operation_id: str, index: int, final: bool, plaintext: bytes | memoryview
        ) -> bytes:
            return bytes(12) + bytes(plaintext) + bytes(16)

        def open_segment(
            self, operation_id: str, index: int, final: bool, sealed: bytes | bytearray
        ) -> bytes:
            return bytes(sealed[12:-16])

    store = SqliteStore(Transparent(os.urandom(32)), tmp_path)
    now = utc_now()
    marker = b"LINGERING-BYTES-" * 64
    job = Job("0c0c0c0c-0000-4000-8000-000000000000", "notStarted", now, now, JobOptions())
    store.create(job, marker)
    assert marker[:32] in (tmp_path / DB_FILE_NAME).read_bytes()
    store.finish(job.evolve(status="succeeded", expires_at=now))  # input deleted
    assert marker[:32] not in (tmp_path / DB_FILE_NAME).read_bytes()
    store.close()
