"""Uploads past ``--spool-threshold`` wait on disk, sealed, not in memory (issue #23): only
ciphertext ever reaches the spool file, the document reads back exactly through it (seeks
included), and the file is closed, and so gone, whenever the document goes: its job read it,
failed, was deleted or swept, the store closed, or the upload was refused halfway.

Spool files are found through the writer or the document (their ``file``), or, behind a real
server, by recording every spool the process opens (``spools``); a recorded file stays
referenced by the test, so only an explicit close can close it, never the garbage collector.
"""

from __future__ import annotations

import io
import os
import random
import stat
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from PIL import Image

from emulator.app import create_app
from emulator.clock import utc_now
from emulator.engine.fake import FakeEngine
from emulator.jobs import JobRunner, ManualJobQueue
from emulator.security import sealed
from emulator.security.crypto import SEGMENT_OVERHEAD, RecordCipher
from emulator.security.sealed import (
    DEFAULT_SPOOL_THRESHOLD,
    SEGMENT_BYTES,
    SealedDocument,
    SealedWriter,
    SegmentMissingError,
    SpooledDocument,
)
from emulator.server import Endpoint, run_in_thread
from emulator.settings import TIER_LIMITS, Settings
from emulator.store import DB_FILE_NAME, Job, JobOptions, MemoryStore, SqliteStore, Store

KEY = "spool-key-0123456789"
HEADERS = {"Ocp-Apim-Subscription-Key": KEY}
ANALYZE = "/vision/v3.2/read/analyze"
RESULTS = "/vision/v3.2/read/analyzeResults"
DI_ANALYZE = "/documentintelligence/documentModels/prebuilt-read:analyze"
DI_VERSION = {"api-version": "2024-11-30"}
BINARY = {"Content-Type": "application/octet-stream"}
MARKER = b"SPOOL-PLAINTEXT-MARKER-4711 "
MB = 1024 * 1024
JOB_ID = "5e5e5e5e-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def cipher() -> RecordCipher:
    return RecordCipher.generate()


def marked(size: int) -> bytes:
    """``size`` bytes full of :data:`MARKER`, with random bytes between (not compressible)."""
    out = bytearray()
    while len(out) < size:
        out += MARKER + os.urandom(100)
    return bytes(out[:size])


def marked_tiff(width: int, height: int) -> bytes:
    """An uncompressed grey TIFF whose pixels are :data:`MARKER` over and over: the marker
    is in the file verbatim, once per row or so."""
    pixels = (MARKER * (width * height // len(MARKER) + 1))[: width * height]
    buffer = io.BytesIO()
    Image.frombytes("L", (width, height), pixels).save(buffer, "TIFF")
    data = buffer.getvalue()
    assert data.count(MARKER) >= width * height // len(MARKER) // 2
    return data


def file_bytes(file: IO[bytes]) -> bytes:
    """Everything in an open file, read without moving its position."""
    size = os.fstat(file.fileno()).st_size
    return os.pread(file.fileno(), size, 0)


def write(writer: SealedWriter, data: bytes, chunk: int = 64 * 1024) -> None:
    for start in range(0, len(data), chunk):
        writer.write(data[start : start + chunk])


def spooled(cipher: RecordCipher, data: bytes, spool_dir: Path | None = None) -> SpooledDocument:
    """``data`` written past the default threshold: a spooled document for :data:`JOB_ID`."""
    writer = SealedWriter(cipher, JOB_ID, spool_dir=spool_dir)
    write(writer, data)
    document = writer.close()
    assert isinstance(document, SpooledDocument)
    return document


def new_job(**changes: Any) -> Job:
    now = utc_now()
    return Job(JOB_ID, "notStarted", now, now, JobOptions()).evolve(**changes)


# --- the writer and the spooled document --------------------------------------------------


def test_a_document_past_the_threshold_is_on_disk_only_as_ciphertext(
    cipher: RecordCipher, tmp_path: Path
) -> None:
    data = marked(3 * MB)
    writer = SealedWriter(cipher, JOB_ID, spool_dir=tmp_path)
    write(writer, data[: DEFAULT_SPOOL_THRESHOLD // 2])
    assert writer.spool_file is None  # a small start stays in memory
    write(writer, data[DEFAULT_SPOOL_THRESHOLD // 2 :])
    file = writer.spool_file
    assert file is not None
    document = writer.close()
    assert isinstance(document, SpooledDocument) and document.file is file

    info = os.fstat(file.fileno())
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_nlink == 0  # anonymous: no name anywhere
    assert list(tmp_path.iterdir()) == []
    if os.path.exists(f"/proc/self/fd/{file.fileno()}"):  # Linux: where it was created
        assert os.readlink(f"/proc/self/fd/{file.fileno()}").startswith(str(tmp_path))

    on_disk = file_bytes(file)
    # Every segment, sealed, from the first: nothing of the document stayed behind.
    assert len(on_disk) == len(data) + document.segment_count * SEGMENT_OVERHEAD
    assert MARKER in data and MARKER not in on_disk
    assert MARKER[:12] not in on_disk
    document.close()


def test_a_spooled_document_reads_back_exactly_with_random_seeks(cipher: RecordCipher) -> None:
    data = os.urandom(9 * SEGMENT_BYTES + 333)
    document = spooled(cipher, data)
    assert document.size == len(data) and document.read_all() == data
    rng = random.Random(23)
    with document.open() as stream:
        for _ in range(300):
            offset = rng.randrange(len(data) + 10)
            count = rng.choice([1, 8, 4096, SEGMENT_BYTES + 3])
            assert stream.seek(offset) == offset
            assert stream.read(count) == data[offset : offset + count]
        assert stream.seek(-9, io.SEEK_END) == len(data) - 9
        assert stream.read() == data[-9:]
        stream.seek(SEGMENT_BYTES - 2)
        assert stream.seek(5, io.SEEK_CUR) == SEGMENT_BYTES + 3
        assert stream.read(4) == data[SEGMENT_BYTES + 3 : SEGMENT_BYTES + 7]
    document.close()


def test_several_readers_of_one_spooled_document_each_read_their_own_bytes(
    cipher: RecordCipher,
) -> None:
    """Workers read pages of one document at once: each stream seeks the shared file."""
    data = os.urandom(8 * SEGMENT_BYTES + 5)
    document = spooled(cipher, data)
    failures: list[str] = []

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        with document.open() as stream:
            for _ in range(150):
                offset = rng.randrange(len(data))
                stream.seek(offset)
                if stream.read(5000) != data[offset : offset + 5000]:
                    failures.append(f"reader {seed} at {offset}")

    threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    document.close()


@pytest.mark.parametrize(
    ("threshold", "size", "spools"),
    [
        # The sealed bytes decide: 4 segments of 1 MiB - 200 bytes seal to 1 MiB - 88.
        (DEFAULT_SPOOL_THRESHOLD, DEFAULT_SPOOL_THRESHOLD - 200, False),
        (DEFAULT_SPOOL_THRESHOLD, DEFAULT_SPOOL_THRESHOLD, True),
        (0, 10, True),  # 0 spools every document, even a tiny one
        (None, 3 * MB, False),  # no threshold: always in memory
    ],
)
def test_the_threshold_decides_where_the_sealed_segments_go(
    cipher: RecordCipher, threshold: int | None, size: int, spools: bool
) -> None:
    data = os.urandom(size)
    writer = SealedWriter(cipher, JOB_ID, spool_threshold=threshold)
    write(writer, data)
    document = writer.close()
    assert isinstance(document, SpooledDocument if spools else SealedDocument)
    assert document.read_all() == data
    document.close()


def test_a_writer_abandoned_halfway_closes_its_spool_file(cipher: RecordCipher) -> None:
    file: IO[bytes] | None = None
    with pytest.raises(RuntimeError, match="upload refused"), SealedWriter(cipher, JOB_ID) as w:
        write(w, marked(2 * MB))
        file = w.spool_file
        assert file is not None and not file.closed
        raise RuntimeError("upload refused")
    assert file is not None and file.closed
    assert w.spool_file is None
    with pytest.raises(ValueError):
        w.write(b"more")
    w.discard()  # idempotent

    # Left without close() and without an error: nobody takes the document, so it goes too.
    with SealedWriter(cipher, JOB_ID) as writer:
        write(writer, marked(2 * MB))
        file = writer.spool_file
    assert file is not None and file.closed


def test_a_writer_that_was_closed_leaves_its_document_alone(cipher: RecordCipher) -> None:
    data = marked(2 * MB)
    with SealedWriter(cipher, JOB_ID) as writer:
        write(writer, data)
        document = writer.close()
    writer.discard()  # the document is not the writer's to drop any more
    assert isinstance(document, SpooledDocument) and not document.closed
    assert document.read_all() == data
    document.close()
    document.close()  # idempotent
    assert document.closed and document.file.closed
    with pytest.raises(SegmentMissingError), document.open() as stream:
        stream.read(10)


# --- the stores -----------------------------------------------------------------------------


def _finish(store: Store, status: str) -> None:
    store.finish(new_job(status=status, expires_at=utc_now() + timedelta(hours=1)))


def _sweep(store: Store) -> None:
    # Given an expiry while it still holds its document (a finished job's is gone already).
    assert store.update(new_job(expires_at=utc_now() - timedelta(seconds=1)))
    assert len(store.delete_expired(utc_now())) == 1


#: Every way a document leaves the store: its job ends, is deleted, expires; the store closes.
DELETIONS: dict[str, Callable[[Store], object]] = {
    "succeeded": lambda store: _finish(store, "succeeded"),
    "failed": lambda store: _finish(store, "failed"),
    "deleted": lambda store: store.delete(JOB_ID),
    "swept": _sweep,
    "store closed": lambda store: store.close(),
}


@pytest.mark.parametrize("how", DELETIONS)
def test_the_memory_store_keeps_the_spool_and_closes_it_with_the_document(
    cipher: RecordCipher, how: str
) -> None:
    data = marked(3 * MB)
    document = spooled(cipher, data)
    store = MemoryStore(cipher)
    store.create(new_job(), document)
    # Kept as it is, on disk: not read back into memory, not closed.
    assert store.open_document(JOB_ID) is document and not document.closed
    assert store.read_document(JOB_ID) == data
    DELETIONS[how](store)
    assert document.closed
    assert store.open_document(JOB_ID) is None


def test_deleting_a_job_while_it_is_read_makes_its_reader_fail_cleanly(
    cipher: RecordCipher,
) -> None:
    store = MemoryStore(cipher)
    store.create(new_job(), spooled(cipher, marked(3 * MB)))
    document = store.open_document(JOB_ID)
    assert document is not None
    with document.open() as stream:
        stream.read(10)
        store.delete(JOB_ID)
        stream.seek(2 * MB)
        with pytest.raises(SegmentMissingError):
            stream.read(10)


def test_a_document_the_store_refuses_is_closed(cipher: RecordCipher) -> None:
    writer = SealedWriter(cipher, "another-operation")
    write(writer, marked(2 * MB))
    document = writer.close()
    assert isinstance(document, SpooledDocument)
    with pytest.raises(ValueError, match="another operation"):
        MemoryStore(cipher).create(new_job(), document)
    assert document.closed


def test_sqlite_copies_a_spooled_document_and_closes_its_spool(
    cipher: RecordCipher, tmp_path: Path
) -> None:
    data = marked(3 * MB)
    document = spooled(cipher, data, tmp_path)
    store = SqliteStore(cipher, tmp_path)
    store.create(new_job(), document)
    assert document.closed  # copied, segment by segment, into the database
    assert store.read_document(JOB_ID) == data
    assert MARKER not in (tmp_path / DB_FILE_NAME).read_bytes()
    stored = store.open_document(JOB_ID)
    assert stored is not None and stored.lengths == document.lengths
    store.close()


def test_a_job_reads_its_spooled_document_then_the_spool_is_gone(cipher: RecordCipher) -> None:
    """The runner rasterises through the decrypting stream (Pillow seeks the TIFF); the
    input is deleted once read, which closes its file."""
    store = MemoryStore(cipher)
    runner = JobRunner(store, utc_now, TIER_LIMITS["paid"], timedelta(hours=1))
    document = spooled(cipher, marked_tiff(2000, 1500))
    store.create(new_job(), document)
    runner.run(JOB_ID, FakeEngine(), lambda: False)
    finished = store.get(JOB_ID)
    assert finished is not None and finished.status == "succeeded", finished
    assert store.read_pages(JOB_ID)[0]["lines"][0]["text"] == "PAGE 2000x1500"
    assert document.closed


# --- behind a real server -------------------------------------------------------------------


@pytest.fixture
def spools(monkeypatch: pytest.MonkeyPatch) -> list[IO[bytes]]:
    """Every spool file the process opens from now on (kept referenced here, so a file that
    is closed was closed on purpose, not collected)."""
    files: list[IO[bytes]] = []
    original = sealed._Spool.__init__

    def recording(self: Any, directory: Path | None) -> None:
        original(self, directory)
        files.append(self.file)

    monkeypatch.setattr(sealed._Spool, "__init__", recording)
    return files


def wait_for(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> Any:
    deadline = time.monotonic() + 60
    while True:
        body = client.get(url, params=params).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def location(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    return str(response.headers["Operation-Location"])


@pytest.fixture
def endpoint(spools: list[IO[bytes]]) -> Iterator[Endpoint]:
    settings = Settings(api_keys=(KEY,), port=0, workers=1)
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        yield running


def test_a_multi_megabyte_upload_succeeds_and_its_spool_goes_with_its_input(
    endpoint: Endpoint, spools: list[IO[bytes]]
) -> None:
    tiff = marked_tiff(2000, 1500)  # 3 MB
    with httpx.Client(base_url=endpoint.url, headers=HEADERS, timeout=60) as client:
        read = wait_for(client, location(client.post(ANALYZE, content=tiff, headers=BINARY)))
        assert read["status"] == "succeeded", read
        assert read["analyzeResult"]["readResults"][0]["lines"][0]["text"] == "PAGE 2000x1500"
        url = location(client.post(DI_ANALYZE, params=DI_VERSION, content=tiff, headers=BINARY))
        analyzed = wait_for(client, url)
        assert analyzed["status"] == "succeeded", analyzed
    assert len(spools) == 2  # each upload went through a spool file...
    assert all(file.closed for file in spools)  # ...closed once its job had read it


def test_an_invalid_spooled_upload_is_refused_and_its_spool_closed(
    endpoint: Endpoint, spools: list[IO[bytes]]
) -> None:
    with httpx.Client(base_url=endpoint.url, headers=HEADERS, timeout=60) as client:
        response = client.post(ANALYZE, content=marked(2 * MB), headers=BINARY)
    assert response.status_code == 400 and "InvalidImage" in response.text, response.text
    assert len(spools) == 1 and spools[0].closed


@pytest.fixture
def free_endpoint(spools: list[IO[bytes]]) -> Iterator[Endpoint]:
    settings = Settings(api_keys=(KEY,), port=0, workers=1, tier="free")
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        yield running


@pytest.mark.parametrize(("path", "params"), [(ANALYZE, {}), (DI_ANALYZE, DI_VERSION)])
def test_an_upload_refused_halfway_closes_its_spool(
    free_endpoint: Endpoint, spools: list[IO[bytes]], path: str, params: dict[str, str]
) -> None:
    """Chunked, so the free tier's 4 MB cap is found only after 1 MiB had been spooled."""
    data = marked(6 * MB)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    with httpx.Client(base_url=free_endpoint.url, headers=HEADERS, timeout=60) as client:
        response = client.post(path, params=params, content=chunks(), headers=BINARY)
        assert response.status_code == 400 and "larger than the limit" in response.text
        assert client.get("/status").status_code == 200
    assert len(spools) == 1 and spools[0].closed


# --- memory ---------------------------------------------------------------------------------


@pytest.fixture
def held_endpoint(spools: list[IO[bytes]]) -> Iterator[tuple[Endpoint, ManualJobQueue]]:
    """A server whose jobs wait until the test runs them: accepted documents stay queued."""
    settings = Settings(api_keys=(KEY,), port=0)
    queue = ManualJobQueue(FakeEngine())
    with run_in_thread(settings, app=create_app(settings, job_queue=queue)) as running:
        yield running, queue


def _resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_queued_upload_waits_on_disk_sealed_not_in_memory(
    held_endpoint: tuple[Endpoint, ManualJobQueue], spools: list[IO[bytes]]
) -> None:
    endpoint, queue = held_endpoint
    tiff = marked_tiff(5000, 5000)  # 25 MB
    with httpx.Client(base_url=endpoint.url, headers=HEADERS, timeout=60) as client:
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            url = location(client.post(ANALYZE, content=tiff, headers=BINARY))
            # Python memory still held once it is queued: the in-memory store's share (the
            # spool's bookkeeping), not the document (held whole before spooling).
            deadline = time.monotonic() + 10
            while (held := tracemalloc.get_traced_memory()[0] - before) > 2 * MB:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
        finally:
            tracemalloc.stop()
        assert held <= 2 * MB, f"{held / MB:.1f} MB held for a queued {len(tiff) / MB:.0f} MB"

        # While it waits, the disk holds it sealed: all of it, and none of it in the clear.
        assert len(spools) == 1 and not spools[0].closed
        on_disk = file_bytes(spools[0])
        assert len(on_disk) > len(tiff) and MARKER not in on_disk

        queue.run_all()
        body = wait_for(client, url)
    assert body["status"] == "succeeded", body
    assert spools[0].closed


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc")
def test_the_resident_memory_does_not_grow_with_queued_uploads(
    held_endpoint: tuple[Endpoint, ManualJobQueue], spools: list[IO[bytes]]
) -> None:
    """Three 24 MB documents queued: without spooling the process would hold 72 MB more.

    Measured after a first upload of the same size: the first one grows the heaps of the
    threads involved (client and server) once, by about its size, whatever happens to it."""
    endpoint, _queue = held_endpoint
    tiff = marked_tiff(4900, 4900)
    with httpx.Client(base_url=endpoint.url, headers=HEADERS, timeout=60) as client:
        location(client.post(ANALYZE, content=tiff, headers=BINARY))  # warm up
        before = _resident()
        for _ in range(3):
            location(client.post(ANALYZE, content=tiff, headers=BINARY))
        grown = _resident() - before
    assert grown < len(tiff), f"resident memory grew by {grown / MB:.0f} MB"
    assert len(spools) == 4 and not any(file.closed for file in spools)
