"""Imported by the decoders' fork server, and only there (:mod:`emulator.documents.decoding` names
it in the server's preload): the fork server, and so every decoder forked from it, ignores SIGTERM.

A SIGTERM sent to the emulator's whole process group (systemd's default stop,
``KillMode=control-group``) would otherwise end the fork server while the emulator finishes
its running pages. The emulator's end of a decoder then reads the decoder as gone
(multiprocessing reports exit code 255 for a child whose fork server died) and the page being
drawn fails. The emulator stops its decoders itself (``None`` down the pipe, else SIGKILL),
and the fork server exits when the emulator does (its pipe from the emulator closes). SIGINT
(Ctrl-C reaches the whole group too) the fork server already ignores: CPython's own rule.
"""

from __future__ import annotations

import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
