"""Documents sealed at rest as they stream in, and read back without decrypting them whole.

A document never exists in the emulator as one plaintext buffer. :class:`SealedWriter` takes
the request body chunk by chunk (or a URL's download), cuts it into segments of
:data:`SEGMENT_BYTES`, seals each with the store's :class:`~emulator.crypto.RecordCipher` as
soon as it is complete and keeps only the sealed segments: a 200 MB upload is held once, as
ciphertext, from its first chunk until the job deletes it.

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
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence

from emulator.crypto import DecryptionError, RecordCipher

__all__ = [
    "SEGMENT_BYTES",
    "EncryptedDocument",
    "SealedDocument",
    "SealedWriter",
    "SegmentMissingError",
    "seal",
]

#: Plaintext bytes per sealed segment. Small enough that a random read (pdfium looking up one
#: object) decrypts little, large enough that the per-segment cost (28 bytes, one call into
#: OpenSSL, a row in SQLite) is noise.
SEGMENT_BYTES = 256 * 1024
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


class SealedWriter:
    """Seals a document as it is written; :meth:`close` returns the :class:`SealedDocument`.

    Holds at most one segment of plaintext (plus the chunk being written) at any time.
    """

    def __init__(
        self, cipher: RecordCipher, operation_id: str, segment_bytes: int = SEGMENT_BYTES
    ) -> None:
        if segment_bytes < 1:
            raise ValueError("segment_bytes must be positive")
        self._cipher = cipher
        self.operation_id = operation_id
        self._segment_bytes = segment_bytes
        self._pending = bytearray()
        self._segments: list[bytes] = []
        self._lengths: list[int] = []
        self._closed = False
        #: Bytes written so far.
        self.size = 0

    def write(self, data: Bytes) -> int:
        """Add ``data`` to the document; returns how many bytes were taken (all)."""
        if self._closed:
            raise ValueError("write to a closed SealedWriter")
        with memoryview(data) as view:
            taken = view.nbytes
            self._pending += view
        self.size += taken
        # Strictly more than a segment: whether a full segment is the last is only known
        # once more data arrives or the writer is closed.
        while len(self._pending) > self._segment_bytes:
            self._seal(self._segment_bytes, final=False)
        return taken

    def close(self) -> SealedDocument:
        """Seal what is left as the final segment and return the document."""
        if self._closed:
            raise ValueError("SealedWriter closed twice")
        self._seal(len(self._pending), final=True)
        self._closed = True
        document = SealedDocument(self._cipher, self.operation_id, self._segments, self._lengths)
        self._segments, self._lengths = [], []
        return document

    def _seal(self, count: int, final: bool) -> None:
        index = len(self._segments)
        with memoryview(self._pending) as view, view[:count] as head:
            self._segments.append(self._cipher.seal_segment(self.operation_id, index, final, head))
        self._lengths.append(count)
        del self._pending[:count]


def seal(cipher: RecordCipher, operation_id: str, data: Bytes) -> SealedDocument:
    """``data`` sealed in one go (for documents already in memory: tests, tools)."""
    writer = SealedWriter(cipher, operation_id)
    with memoryview(data) as view:
        for start in range(0, len(view), SEGMENT_BYTES):
            writer.write(view[start : start + SEGMENT_BYTES])
    return writer.close()


class _DecryptingStream(io.RawIOBase):
    """A seekable, read-only raw stream over an :class:`EncryptedDocument`."""

    def __init__(self, document: EncryptedDocument) -> None:
        super().__init__()
        self._document = document
        self._position = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._document.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

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
