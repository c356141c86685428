"""Documents are sealed in segments as they stream in and read back through seekable
decrypting streams: every byte comes back, in any read pattern, and a stored document that was
truncated, reordered, spliced or moved to another operation does not decrypt."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any

import pytest

from emulator.security.crypto import DecryptionError, RecordCipher
from emulator.security.sealed import SEGMENT_BYTES, SealedDocument, SealedWriter, seal
from emulator.store import DB_FILE_NAME, Job, JobOptions, SqliteStore

SIZES = [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES + 5]


@pytest.fixture(scope="module")
def cipher() -> RecordCipher:
    return RecordCipher.generate()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("chunk", [4096, 65536, 1_000_003])
def test_any_size_in_any_chunking_reads_back_exactly(
    cipher: RecordCipher, size: int, chunk: int
) -> None:
    data = os.urandom(size)
    writer = SealedWriter(cipher, "op")
    for start in range(0, size, chunk):
        assert writer.write(data[start : start + chunk]) == len(data[start : start + chunk])
    document = writer.close()
    assert document.size == size == writer.size
    assert document.segment_count == max(1, -(-size // SEGMENT_BYTES))
    with document.open() as stream:
        assert stream.read() == data
    assert document.read_all() == data


def test_random_seeks_and_reads_match_the_plaintext(cipher: RecordCipher) -> None:
    data = os.urandom(5 * SEGMENT_BYTES + 777)
    document = seal(cipher, "op", data)
    rng = random.Random(7)
    with document.open() as stream:
        for _ in range(300):
            offset = rng.randrange(len(data) + 10)
            count = rng.choice([1, 8, 4096, SEGMENT_BYTES + 3])
            assert stream.seek(offset) == offset
            assert stream.read(count) == data[offset : offset + count]
        assert stream.seek(-9, io.SEEK_END) == len(data) - 9
        assert stream.read() == data[-9:]
        with pytest.raises(ValueError):
            stream.seek(-1)


def test_nothing_of_the_plaintext_is_in_the_sealed_segments(cipher: RecordCipher) -> None:
    data = b"CONFIDENTIAL INVOICE 4711 " * 40_000  # about four segments
    document = seal(cipher, "op", data)
    assert all(b"CONFIDENTIAL" not in segment for segment in document.segments)
    nonces = {segment[:12] for segment in document.segments}
    assert len(nonces) == document.segment_count


def _read(cipher: RecordCipher, segments: list[bytes], lengths: list[int]) -> bytes:
    """Read a document made of ``segments`` as operation ``op`` (a tampered store)."""
    return SealedDocument(cipher, "op", segments, lengths).read_all()


def test_a_truncated_document_does_not_decrypt(cipher: RecordCipher) -> None:
    document = seal(cipher, "op", os.urandom(3 * SEGMENT_BYTES + 10))
    segments, lengths = list(document.segments), list(document.lengths)
    with pytest.raises(DecryptionError):
        # Cut at a segment boundary: each remaining segment is intact, but the new last
        # one was not sealed as the last.
        _read(cipher, segments[:-1], lengths[:-1])


def test_reordered_segments_do_not_decrypt(cipher: RecordCipher) -> None:
    document = seal(cipher, "op", os.urandom(3 * SEGMENT_BYTES))
    segments, lengths = list(document.segments), list(document.lengths)
    segments[0], segments[1] = segments[1], segments[0]
    with pytest.raises(DecryptionError):
        _read(cipher, segments, lengths)


def test_segments_from_another_operation_do_not_decrypt(cipher: RecordCipher) -> None:
    mine = seal(cipher, "op", os.urandom(2 * SEGMENT_BYTES + 1))
    theirs = seal(cipher, "op-2", os.urandom(2 * SEGMENT_BYTES + 1))
    segments = [mine.segments[0], theirs.segments[1], mine.segments[2]]
    with pytest.raises(DecryptionError):
        _read(cipher, segments, list(mine.lengths))
    moved = SealedDocument(cipher, "op-2", mine.segments, mine.lengths)
    with pytest.raises(DecryptionError):
        moved.read_all()


def test_a_closed_writer_takes_nothing_more(cipher: RecordCipher) -> None:
    writer = SealedWriter(cipher, "op")
    writer.write(b"abc")
    writer.close()
    with pytest.raises(ValueError):
        writer.write(b"more")
    with pytest.raises(ValueError):
        writer.close()


def test_sqlite_keeps_documents_as_sealed_segments_read_one_at_a_time(
    cipher: RecordCipher, tmp_path: Path
) -> None:
    from emulator.clock import utc_now

    store = SqliteStore(cipher, tmp_path)
    now = utc_now()
    job = Job("0d0d0d0d-0000-4000-8000-000000000000", "notStarted", now, now, JobOptions())
    data = b"PLAINTEXT-MARKER " * (SEGMENT_BYTES // 8)  # just over two segments
    writer = store.new_document(job.id)
    writer.write(data)
    store.create(job, writer.close())
    assert b"PLAINTEXT-MARKER" not in (tmp_path / DB_FILE_NAME).read_bytes()
    document = store.open_document(job.id)
    assert document is not None and document.segment_count == 3
    with document.open() as stream:
        stream.seek(SEGMENT_BYTES + 5)
        assert stream.read(11) == data[SEGMENT_BYTES + 5 : SEGMENT_BYTES + 16]
    assert store.read_document(job.id) == data
    store.close()

    # The document survives a restart with the same key.
    again = SqliteStore(cipher, tmp_path)
    assert again.read_document(job.id) == data
    again.close()


def test_a_document_sealed_for_one_job_cannot_be_stored_for_another(
    cipher: RecordCipher, tmp_path: Path
) -> None:
    from emulator.clock import utc_now

    store = SqliteStore(cipher, tmp_path)
    now = utc_now()
    job = Job("0e0e0e0e-0000-4000-8000-000000000000", "notStarted", now, now, JobOptions())
    with pytest.raises(ValueError, match="another operation"):
        store.create(job, seal(cipher, "some-other-id", b"data"))
    store.close()


@pytest.mark.parametrize("kind", ["pdf", "tiff"])
def test_a_job_whose_stored_document_was_tampered_with_fails_cleanly(
    cipher: RecordCipher, kind: str, pdf: Any, multipage_tiff: Any
) -> None:
    """A segment that does not authenticate fails the job (pdfium and Pillow both read
    through the decrypting stream); it is never read as a damaged but valid document."""
    from datetime import timedelta

    from emulator.clock import utc_now
    from emulator.engine.fake import FakeEngine
    from emulator.jobs import JobRunner
    from emulator.settings import TIER_LIMITS
    from emulator.store import MemoryStore

    store = MemoryStore(cipher)
    runner = JobRunner(store, utc_now, TIER_LIMITS["paid"], timedelta(hours=1))
    data = pdf(3) if kind == "pdf" else multipage_tiff(3)
    data += bytes(2 * SEGMENT_BYTES)  # trailing padding both formats ignore: 3+ segments
    now = utc_now()
    job = Job("0f0f0f0f-0000-4000-8000-000000000000", "notStarted", now, now, JobOptions())
    job = job.evolve(options=JobOptions(pages=(1, 2, 3)))
    sealed = seal(cipher, job.id, data)
    flipped = bytearray(sealed.segments[0])
    flipped[40] ^= 1
    segments = [bytes(flipped), *sealed.segments[1:]]
    store.create(job, SealedDocument(cipher, job.id, segments, sealed.lengths))
    runner.run(job.id, FakeEngine(), lambda: False)
    finished = store.get(job.id)
    assert finished is not None and finished.status == "failed"
    assert store.read_document(job.id) is None  # the input is deleted all the same
