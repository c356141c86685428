"""A seekable, read-only raw stream over something of known size, for Pillow, pdfium and
``io.BufferedReader`` to read a document through without a copy of it: subclasses say how
big the source is and fill a buffer from the current position (:meth:`readinto`); where
the position is, and how seeking moves it, is kept here once."""

from __future__ import annotations

import io


class SeekableReader(io.RawIOBase):
    """Position and seeking over a source of :attr:`size` bytes, as ``io`` defines them (a
    seek before the start is a ``ValueError``; past the end reads nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self._position = 0

    @property
    def size(self) -> int:
        """The source's length in bytes."""
        raise NotImplementedError

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
            position = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position
