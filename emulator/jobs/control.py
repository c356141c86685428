"""The test hooks every job passes: holding jobs at a stage and failing the next ones.

:class:`JobControl` is consulted by :class:`~emulator.jobs.runner.JobRunner` at fixed points
of every job; tests and :mod:`emulator.testing` (through ``/_emulator/`` and the fault
middleware) set it, to see a job in a given state without racing the worker.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Literal

log = logging.getLogger("emulator.jobs")


HoldStage = Literal["notStarted", "running"]
"""Where :class:`JobControl` can stop a job: before it starts, or once it is running."""


# A held worker wakes this often to notice a shutdown it was not told about directly.
_HOLD_POLL_SECONDS = 0.1


class JobControl:
    """Test hooks that :class:`JobRunner` consults at fixed points of every job.

    Tests (and :mod:`emulator.testing`) use it to see a job in a given state without racing
    the worker: :meth:`hold` stops every job that reaches a stage until :meth:`release`;
    :meth:`fail_next` makes the next jobs to start end ``failed``. With no hold and no
    failure pending it costs one lock round-trip per checkpoint. Thread-safe.

    Every hook takes an ``owner``: the billing key (:attr:`JobOptions.billing_key`) of the
    caller whose jobs it is for, so test workers that share one emulator, each with its own
    key, hold and fail only their own jobs. ``None`` (the default) means every job.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holding: dict[str | None, set[HoldStage]] = {}
        self._held: dict[str, tuple[HoldStage, str | None]] = {}
        self._fail_next: dict[str | None, int] = {}
        self._closed = False
        self._work: threading.BoundedSemaphore | None = None

    def hold(self, stage: HoldStage = "notStarted", owner: str | None = None) -> None:
        """From now on, stop every job of ``owner`` that reaches ``stage`` until
        :meth:`release`."""
        if stage not in ("notStarted", "running"):
            raise ValueError(f"stage must be 'notStarted' or 'running', not {stage!r}")
        with self._cond:
            self._holding.setdefault(owner, set()).add(stage)

    def release(self, owner: str | None = None) -> None:
        """Stop the holds ``owner`` asked for (every hold, for ``None``) and let the jobs
        they held go on."""
        with self._cond:
            if owner is None:
                self._holding.clear()
            else:
                self._holding.pop(owner, None)
            self._cond.notify_all()

    def fail_next(self, count: int = 1, owner: str | None = None) -> None:
        """Make the next ``count`` jobs of ``owner`` that start end ``failed`` (adds to any
        pending)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        with self._cond:
            self._fail_next[owner] = self._fail_next.get(owner, 0) + count

    def clear(self, owner: str | None = None) -> None:
        """Release the holds and forget the pending failures of ``owner`` (everyone's, for
        ``None``)."""
        with self._cond:
            if owner is None:
                self._fail_next.clear()
                self._holding.clear()
            else:
                self._fail_next.pop(owner, None)
                self._holding.pop(owner, None)
            self._cond.notify_all()

    def limit_work(self, count: int | None) -> None:
        """Let at most ``count`` whole jobs do their work (decode and read pages) at once,
        past their checkpoints; ``None`` for no limit. For a queue with more job threads than
        engines (so that held jobs do not stall the others): pages then wait undecoded."""
        if count is not None and count < 1:
            raise ValueError("count must be >= 1")
        self._work = None if count is None else threading.BoundedSemaphore(count)

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """The block in which a job does its work, within :meth:`limit_work`'s limit."""
        gate = self._work
        if gate is None:
            yield
            return
        with gate:
            yield

    def close(self) -> None:
        """Release everything for good (shutdown): no checkpoint blocks any more."""
        with self._cond:
            self._closed = True
            self._holding.clear()
            self._cond.notify_all()

    @property
    def held(self) -> dict[str, HoldStage]:
        """The jobs waiting at a checkpoint right now, with their stage."""
        with self._cond:
            return {job_id: stage for job_id, (stage, _) in self._held.items()}

    def _held_by(self, owner: str | None) -> list[str]:
        return [i for i, (_, held) in self._held.items() if owner is None or held == owner]

    def held_by(self, owner: str | None) -> list[str]:
        """The ids of the jobs of ``owner`` (of anyone, for ``None``) held right now, oldest
        first."""
        with self._cond:
            return self._held_by(owner)

    def wait_held(
        self, count: int = 1, timeout: float = 30.0, owner: str | None = None
    ) -> list[str]:
        """Block until at least ``count`` jobs of ``owner`` (of anyone, for ``None``) are
        held; return their ids (oldest first).

        Raises :class:`TimeoutError` if that does not happen within ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._held_by(owner)) >= count, timeout):
                raise TimeoutError(f"{len(self._held_by(owner))} job(s) held, not {count}")
            return self._held_by(owner)

    def _holds(self, stage: HoldStage, owner: str | None) -> bool:
        if self._closed:
            return False
        if stage in self._holding.get(None, ()):
            return True
        return owner is not None and stage in self._holding.get(owner, ())

    def checkpoint(
        self,
        job_id: str,
        stage: HoldStage,
        should_stop: Callable[[], bool],
        owner: str | None = None,
    ) -> bool:
        """Called by the runner when ``job_id`` (of ``owner``) reaches ``stage``; blocks
        while it is held. True if it was held (the job may have changed meanwhile)."""
        with self._cond:
            if not self._holds(stage, owner):
                return False
            self._held[job_id] = (stage, owner)
            self._cond.notify_all()  # wakes wait_held
            try:
                while self._holds(stage, owner) and not should_stop():
                    self._cond.wait(_HOLD_POLL_SECONDS)
            finally:
                del self._held[job_id]
            return True

    def take_failure(self, owner: str | None = None) -> bool:
        """True (once per pending failure) if the job of ``owner`` starting now must fail:
        a failure asked for that owner is used first, then one asked for every job."""
        with self._cond:
            for whose in (owner, None) if owner is not None else (None,):
                if self._fail_next.get(whose, 0) > 0:
                    self._fail_next[whose] -= 1
                    return True
            return False
