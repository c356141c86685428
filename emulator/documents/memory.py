"""Giving memory back: large buffers freed by the server go back to the system at once.

glibc serves allocations above a threshold with their own ``mmap``, returned to the system
when freed, but it raises that threshold to the size of each such block freed (up to 32 MB).
After one very large page (a 10000 x 10000 page is hundreds of MB, in Pillow blocks of
16 MB), every later block of that size came from the heap, and the heap keeps what it is
given: the emulator held 450-850 MB for good after a few large pages. Fixing the threshold
(``mallopt(M_MMAP_THRESHOLD)``) keeps every large block an ``mmap`` of its own, so the
server's memory falls back once a large page is done. Small allocations are unaffected.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

# mallopt's parameter number for the mmap threshold (malloc.h).
_M_MMAP_THRESHOLD = -3
#: Blocks at least this large are mapped on their own and unmapped when freed.
MMAP_THRESHOLD = 1024 * 1024


@functools.cache
def return_large_blocks() -> bool:
    """Make this process hand large freed blocks back to the system (glibc only; elsewhere
    nothing to do). True if the setting took."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl, macOS): their allocators behave differently anyway
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
