"""Imported by the decoders' fork server, and only there (:mod:`emulator.documents.decoding`
names it in the server's preload): the fork server, and so every decoder forked from it from
its first instruction, ignores SIGTERM and SIGINT.

Both reach the emulator's whole process group: SIGTERM from systemd's default stop
(``KillMode=control-group``), SIGINT from Ctrl-C in a terminal. SIGTERM would otherwise end
the fork server while the emulator finishes its running pages: the emulator's end of a
decoder then reads the decoder as gone (multiprocessing reports exit code 255 for a child
whose fork server died) and the page being drawn fails. SIGINT the fork server ignores by
itself (CPython's own rule), but it gives each child back the handler it found after its
preload: Python's default, a ``KeyboardInterrupt`` in a decoder not yet past its first line
(one forked as the signal came ends with exit code 1). Ignored here, before the server reads
its handlers, no decoder ever has that window. The emulator stops its decoders itself
(``None`` down the pipe, else SIGKILL), and the fork server exits when the emulator does
(its pipe from the emulator closes).
"""

from __future__ import annotations

import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
