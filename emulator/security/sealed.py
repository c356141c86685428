"""Documents sealed at rest as they stream in, and read back without decrypting them whole.

A document never exists in the emulator as one plaintext buffer. :class:`SealedWriter` takes the
request body chunk by chunk (or a URL's download), cuts it into segments of :data:`SEGMENT_BYTES`,
seals each with the store's :class:`~emulator.security.crypto.RecordCipher` as soon as it is
complete and keeps only the sealed segments: a 200 MB upload is held once, as ciphertext, from its
first chunk until the job deletes it. A small document's segments stay in memory
(:class:`SealedDocument`); past :data:`DEFAULT_SPOOL_THRESHOLD` (``--spool-threshold``) they go to
an anonymous temporary file (:class:`SpooledDocument`), so however many large documents wait in the
queue, the process holds at most that much of each. Only sealed segments are ever written to that
file: plaintext never touches the disk.

:meth:`EncryptedDocument.open` gives a seekable binary stream that decrypts the segment under
the read position when it is needed and keeps the few most recent ones. Pillow and pdfium read
documents through such streams, so inspecting a document or rasterising one page decrypts only
the segments that need it, a few at a time, never a second copy of the document.

No library offers this shape (a seekable reader over segmented AEAD): Tink's streaming AEAD,
which uses the same construction, is sequential in Python. The sealing itself is
``cryptography``'s AES-GCM; this module only cuts, indexes and caches.
"""

from __future__ import annotations

import bisect
import io
import itertools
import tempfile
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from emulator.documents.streams import SeekableReader
from emulator.security.crypto import DecryptionError, RecordCipher

__all__ = [
    "DEFAULT_SPOOL_THRESHOLD",
    "SEGMENT_BYTES",
    "EncryptedDocument",
    "SealedDocument",
    "SealedWriter",
    "SegmentMissingError",
    "SpooledDocument",
    "seal",
]

#: Plaintext bytes per sealed segment. Small enough that a random read (pdfium looking up one
#: object) decrypts little, large enough that the per-segment cost (28 bytes, one call into
#: OpenSSL, a row in SQLite) is noise.
SEGMENT_BYTES = 256 * 1024
#: Sealed bytes a document keeps in memory while it is written; past this, its segments go to
#: an anonymous temporary file (``--spool-threshold``). A queue of 100 documents then holds
#: about 100 MiB in memory, whatever their size.
DEFAULT_SPOOL_THRESHOLD = 1024 * 1024
# Decrypted segments one open stream keeps: pdfium goes back and forth between the
# cross-reference table at the end and the objects it points to.
_CACHED_SEGMENTS = 8
Bytes = bytes | bytearray | memoryview
"""What a document's bytes may come as."""

# Read-ahead buffer of an open stream: Pillow reads a PNG in 8-byte chunk headers.
_STREAM_BUFFER = 64 * 1024


class SegmentMissingError(LookupError):
    """A segment is no longer in the store (the job was deleted while being read)."""


class EncryptedDocument(ABC):
    """A sealed document: its operation id, each segment's plaintext length, and access to
    each sealed segment. Holds no plaintext; every :meth:`open` stream decrypts on its own."""

    def __init__(self, cipher: RecordCipher, operation_id: str, lengths: Sequence[int]) -> None:
        if not lengths:
            raise ValueError("a sealed document has at least one (final) segment")
        self._cipher = cipher
        self.operation_id = operation_id
        self.lengths = tuple(lengths)
        self._starts = tuple(itertools.accumulate(self.lengths[:-1], initial=0))
        #: The document's size in bytes (plaintext).
        self.size = sum(self.lengths)

    @abstractmethod
    def sealed_segment(self, index: int) -> bytes | bytearray:
        """The sealed bytes of segment ``index``; :class:`SegmentMissingError` if gone."""

    @property
    def segment_count(self) -> int:
        """How many segments the document has (at least one)."""
        return len(self.lengths)

    def open_segment(self, index: int) -> bytes:
        """Decrypt segment ``index``; :class:`DecryptionError` if it does not authenticate."""
        final = index == len(self.lengths) - 1
        plain = self._cipher.open_segment(
            self.operation_id, index, final, self.sealed_segment(index)
        )
        if len(plain) != self.lengths[index]:
            raise DecryptionError(f"segment {index} of {self.operation_id} has the wrong length")
        return plain

    def locate(self, offset: int) -> tuple[int, int]:
        """The segment holding byte ``offset`` and where that segment starts."""
        index = bisect.bisect_right(self._starts, offset) - 1
        return index, self._starts[index]

    def open(self) -> io.BufferedReader:
        """A new seekable binary stream over the plaintext; close it when done."""
        return io.BufferedReader(_DecryptingStream(self), buffer_size=_STREAM_BUFFER)

    def read_all(self) -> bytes:
        """The whole plaintext in one buffer: for tests and tools, never the request path."""
        return b"".join(self.open_segment(i) for i in range(self.segment_count))

    def close(self) -> None:  # noqa: B027 - optional hook: most documents hold nothing to free
        """Release what holds the sealed segments (a :class:`SpooledDocument`'s file): the
        document cannot be read afterwards. Idempotent; a no-op for the others."""


class SealedDocument(EncryptedDocument):
    """A sealed document whose segments are in memory (as :class:`SealedWriter` made them)."""

    def __init__(
        self,
        cipher: RecordCipher,
        operation_id: str,
        segments: Sequence[bytes],
        lengths: Sequence[int],
    ) -> None:
        if len(segments) != len(lengths):
            raise ValueError("one length per segment")
        super().__init__(cipher, operation_id, lengths)
        self.segments = tuple(segments)

    def sealed_segment(self, index: int) -> bytes:
        return self.segments[index]


class _Spool:
    """Sealed segments end to end in an anonymous temporary file, read back by position.

    :func:`tempfile.TemporaryFile` creates the file with mode 0600 and, on POSIX systems,
    unlinks it at once (on Linux it never has a name), so nothing else can open it and it is
    gone from the disk when it is closed, or when the process ends however it ends. Reads and
    writes hold a lock: several workers may read pages of one document at the same time.
    """

    def __init__(self, directory: Path | None) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - kept open
        self._lock = threading.Lock()
        # (offset, sealed length) of each segment, in order.
        self._spans: list[tuple[int, int]] = []
        self._end = 0

    def append(self, sealed: bytes) -> None:
        """Write one sealed segment after the others."""
        with self._lock:
            self.file.seek(self._end)
            self.file.write(sealed)
            self._spans.append((self._end, len(sealed)))
            self._end += len(sealed)

    def read(self, index: int) -> bytes:
        """The sealed bytes of segment ``index``; :class:`SegmentMissingError` once closed."""
        offset, length = self._spans[index]
        with self._lock:
            if self.file.closed:
                raise SegmentMissingError(f"segment {index} is gone (its document was deleted)")
            self.file.seek(offset)
            sealed = self.file.read(length)
        if len(sealed) != length:
            raise DecryptionError(f"segment {index} was cut short in its spool file")
        return sealed

    def close(self) -> None:
        """Close the file, which deletes it. Idempotent."""
        with self._lock:
            self.file.close()


class SpooledDocument(EncryptedDocument):
    """A sealed document whose segments are in an anonymous temporary file (as
    :class:`SealedWriter` spools a document past its threshold), read back one at a time.

    The file goes when the document is closed (:meth:`close`: the store deleted it, or the
    upload was refused); reading a closed document raises :class:`SegmentMissingError`.
    """

    def __init__(
        self, cipher: RecordCipher, operation_id: str, lengths: Sequence[int], spool: _Spool
    ) -> None:
        super().__init__(cipher, operation_id, lengths)
        self._spool = spool

    @property
    def file(self) -> IO[bytes]:
        """The spool file: the sealed segments end to end (for tests and inspection)."""
        return self._spool.file

    @property
    def closed(self) -> bool:
        """True once the document (and so its file) has been closed."""
        return self._spool.file.closed

    def sealed_segment(self, index: int) -> bytes:
        return self._spool.read(index)

    def close(self) -> None:
        self._spool.close()


class SealedWriter:
    """Seals a document as it is written; :meth:`close` returns the document.

    Holds at most one segment of plaintext (plus the chunk being written) at any time, and
    sealed segments up to ``spool_threshold`` bytes: past that, they all go to an anonymous
    temporary file in ``spool_dir`` (the system's temporary directory when None) and the
    document is a :class:`SpooledDocument`; below it, a :class:`SealedDocument`. A threshold
    of None keeps every document in memory.

    A writer that will not be closed (the upload was refused halfway) must be discarded, so
    its file goes at once: use it as a context manager, or call :meth:`discard`.
    """

    def __init__(
        self,
        cipher: RecordCipher,
        operation_id: str,
        segment_bytes: int = SEGMENT_BYTES,
        *,
        spool_threshold: int | None = DEFAULT_SPOOL_THRESHOLD,
        spool_dir: Path | None = None,
    ) -> None:
        if segment_bytes < 1:
            raise ValueError("segment_bytes must be positive")
        if spool_threshold is not None and spool_threshold < 0:
            raise ValueError("spool_threshold must not be negative")
        self._cipher = cipher
        self.operation_id = operation_id
        self._segment_bytes = segment_bytes
        self._spool_threshold = spool_threshold
        self._spool_dir = spool_dir
        self._pending = bytearray()
        self._segments: list[bytes] = []
        self._held = 0  # sealed bytes in ``_segments``
        self._spool: _Spool | None = None
        self._lengths: list[int] = []
        self._closed = False
        #: Bytes written so far.
        self.size = 0

    def __enter__(self) -> SealedWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Closed: the document has its owner. Not closed: nobody will take it.
        if not self._closed:
            self.discard()

    @property
    def spool_file(self) -> IO[bytes] | None:
        """The file the sealed segments are spooled to; None while they are in memory."""
        return None if self._spool is None else self._spool.file

    def write(self, data: Bytes) -> int:
        """Add ``data`` to the document; returns how many bytes were taken (all)."""
        if self._closed:
            raise ValueError("write to a closed SealedWriter")
        segment = self._segment_bytes
        with memoryview(data) as view, view.cast("B") as flat:
            taken = flat.nbytes
            position = 0
            while position < taken:
                # A full segment is sealed only once more data comes: whether it is the last
                # is known only then, or when the writer is closed.
                if len(self._pending) == segment:
                    self._seal_pending(final=False)
                if not self._pending and taken - position > segment:
                    # Straight from the caller's buffer: a large chunk is not copied whole.
                    with flat[position : position + segment] as head:
                        self._seal(head, final=False)
                    position += segment
                    continue
                count = min(segment - len(self._pending), taken - position)
                self._pending += flat[position : position + count]
                position += count
        self.size += taken
        return taken

    def close(self) -> EncryptedDocument:
        """Seal what is left as the final segment and return the document (it owns the
        spool file, if any, from now on)."""
        if self._closed:
            raise ValueError("SealedWriter closed twice")
        try:
            self._seal_pending(final=True)
        except BaseException:
            self.discard()
            raise
        self._closed = True
        document: EncryptedDocument
        if self._spool is None:
            document = SealedDocument(
                self._cipher, self.operation_id, self._segments, self._lengths
            )
        else:
            document = SpooledDocument(self._cipher, self.operation_id, self._lengths, self._spool)
        self._segments, self._lengths, self._spool = [], [], None
        return document

    def discard(self) -> None:
        """Drop the document unfinished (the upload was refused): its spool file, if any, is
        closed and so deleted at once. Idempotent; a closed writer's document is not its to
        drop."""
        if self._closed and self._spool is None:
            return
        self._closed = True
        self._pending = bytearray()
        self._segments, self._lengths, self._held = [], [], 0
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def _seal_pending(self, final: bool) -> None:
        with memoryview(self._pending) as view:
            self._seal(view, final)
        self._pending.clear()

    def _seal(self, plaintext: memoryview, final: bool) -> None:
        index = len(self._lengths)
        sealed = self._cipher.seal_segment(self.operation_id, index, final, plaintext)
        self._lengths.append(plaintext.nbytes)
        if self._spool is not None:
            self._spool.append(sealed)
            return
        self._segments.append(sealed)
        self._held += len(sealed)
        if self._spool_threshold is not None and self._held > self._spool_threshold:
            # Past the threshold: what is held goes to the file, and so does the rest.
            self._spool = _Spool(self._spool_dir)
            for held in self._segments:
                self._spool.append(held)
            self._segments, self._held = [], 0


def seal(cipher: RecordCipher, operation_id: str, data: Bytes) -> SealedDocument:
    """``data`` sealed in one go, in memory (for documents already in memory: tests, tools)."""
    writer = SealedWriter(cipher, operation_id, spool_threshold=None)
    writer.write(data)
    document = writer.close()
    assert isinstance(document, SealedDocument)  # no threshold: never spooled
    return document


class _DecryptingStream(SeekableReader):
    """A seekable, read-only raw stream over an :class:`EncryptedDocument`."""

    def __init__(self, document: EncryptedDocument) -> None:
        super().__init__()
        self._document = document
        self._cache: OrderedDict[int, bytes] = OrderedDict()

    @property
    def size(self) -> int:
        return self._document.size

    def readinto(self, buffer: Bytes) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the current position, across segments; 0 at the end."""
        with memoryview(buffer) as raw, raw.cast("B") as out:
            written = 0
            while written < len(out) and self._position < self._document.size:
                index, start = self._document.locate(self._position)
                plain = self._segment(index)
                skip = self._position - start
                count = min(len(plain) - skip, len(out) - written)
                out[written : written + count] = memoryview(plain)[skip : skip + count]
                written += count
                self._position += count
        return written

    def close(self) -> None:
        self._cache.clear()
        super().close()

    def _segment(self, index: int) -> bytes:
        plain = self._cache.get(index)
        if plain is None:
            plain = self._document.open_segment(index)
            self._cache[index] = plain
            if len(self._cache) > _CACHED_SEGMENTS:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(index)
        return plain
