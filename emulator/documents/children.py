"""A child process and the parent's end of the pipe to it: started, asked to exit, killed.

The OCR workers (:mod:`emulator.jobs.workers`, spawned) and the decoders
(:mod:`emulator.documents.decoding`, forked from a fork server) are children of the emulator that
one parent thread talks to over a duplex pipe; what they run differs, how they start and end does
not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from multiprocessing.context import ForkServerContext, SpawnContext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

# How long a child gets to exit after being asked to, before it is killed.
EXIT_GRACE = 2.0


class ChildProcess:
    """A daemon child running ``target(child_end, *args)``, and :attr:`_conn`, the parent's
    end of the pipe. Once killed it is :attr:`broken` and a new one must be started."""

    def __init__(
        self,
        context: SpawnContext | ForkServerContext,
        target: Callable[..., None],
        args: tuple[Any, ...],
        name: str,
    ) -> None:
        parent_end, child_end = context.Pipe(duplex=True)
        self._conn = parent_end
        self.process: BaseProcess = context.Process(
            target=target, args=(child_end, *args), name=name, daemon=True
        )
        self.process.start()
        child_end.close()  # so the parent sees EOF when the child dies
        self.broken = False

    def kill(self) -> None:
        """Kill the child now (SIGKILL) and reap it; marks it broken."""
        self.broken = True
        if self.process.is_alive():
            self.process.kill()
        self.process.join(EXIT_GRACE)
        self._conn.close()

    def close(self) -> None:
        """Ask the child to exit (a ``None`` down the pipe); kill it if it does not within a
        grace period."""
        if not self.broken:
            with contextlib.suppress(OSError):  # already gone: nothing to ask
                self._conn.send(None)
            self.process.join(EXIT_GRACE)
        self.kill()
