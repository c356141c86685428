"""One emulator for every worker of a parallel test run: :func:`shared_emulator`.

Under ``pytest -n N`` (pytest-xdist) each worker is its own process. An emulator per worker
would load the OCR engine N times (hundreds of MB each); instead the first worker to ask
starts one emulator process, every worker uses it, and the last one to finish stops it.

- **Coordination.** The workers meet in a directory they share (pytest's base temporary
  directory), under a file lock: a state file there names the emulator's process, address
  and keys, and which of the keys are taken.
- **Isolation.** The emulator is started with a key per slot (twice as many slots as
  workers). Each worker takes a free key (a key whose holder died is free again), and
  everything it does is scoped by its key: its jobs, holds, pending failures, faults, rate
  window and billing meter. :meth:`SharedEmulator.reset` clears only the calling worker's (the admin
  routes of :mod:`emulator.api.admin` act for the caller alone).
- **Controls** go over HTTP, so a worker imports neither the server nor the engine.
- **No orphan.** A worker that crashed does not keep the emulator running: the last live
  worker stops it. The emulator process also watches the test run's main process (xdist's
  controller) and stops when it is gone, even if no worker lived to stop it.

Run as ``python -m emulator.testing.shared`` it is that emulator process; its settings come
as JSON on standard input (never on the command line, where keys would show in ``ps``).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import httpx
from filelock import FileLock

from emulator.faults import FaultRule
from emulator.testing.handle import EmulatorHandle

if TYPE_CHECKING:
    from PIL import Image

    from emulator.engine.base import OcrEngine, PageText, ReadingOrder
    from emulator.jobs import HoldStage

__all__ = ["SharedEmulator", "SharedEmulatorFullError", "SharedEngines", "shared_emulator"]

#: The admin routes' header for the key (the same as the service's).
_KEY_HEADER = "Ocp-Apim-Subscription-Key"
#: How often the emulator process checks that the test run is still there.
_WATCH_SECONDS = 1.0
#: How long a stopping emulator may take to finish before it is killed.
_STOP_SECONDS = 30.0


class SharedEmulatorFullError(RuntimeError):
    """Every key of the shared emulator is taken (more workers than slots)."""


class SharedEmulator(EmulatorHandle):
    """A handle on an emulator that other test processes use too, through its own key.

    Its controls act on this handle's jobs alone, over the emulator's admin routes. The
    emulator's objects (``service``, ``app``, ``settings``) live in another process: a test
    that needs them runs with its own emulator (``--ocr-emulator-per-worker``).
    """

    def __init__(self, endpoint: str, api_key: str, ca_path: Path | None, port: int) -> None:
        super().__init__(endpoint, api_key, ca_path, port)
        self._http = httpx.Client(
            base_url=endpoint,
            headers={_KEY_HEADER: api_key},
            verify=str(ca_path) if ca_path is not None else True,
            timeout=httpx.Timeout(30.0, read=180.0),
        )

    def close(self) -> None:
        """Close the handle's connection to the emulator (the emulator goes on)."""
        self._http.close()

    def _in_another_process(self, name: str) -> NoReturn:
        raise AttributeError(
            f"{name!r} is the emulator's own object, and this emulator runs in another process"
            " (shared by pytest-xdist workers); run with --ocr-emulator-per-worker to get an "
            "emulator in each worker"
        )

    @property
    def service(self) -> NoReturn:
        """Not available: the emulator runs in another process."""
        self._in_another_process("service")

    @property
    def app(self) -> NoReturn:
        """Not available: the emulator runs in another process."""
        self._in_another_process("app")

    @property
    def settings(self) -> NoReturn:
        """Not available: the emulator runs in another process."""
        self._in_another_process("settings")

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, f"/_emulator/{path}", **kwargs)
        if response.is_error:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise RuntimeError(f"the shared emulator refused {method} {path}: {message}")
        return response

    def mint_token(self, lifetime: int = 3600) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("POST", "token", json={"expires_in": lifetime}).json()
        return answer

    def usage(self) -> dict[str, Any]:
        report: dict[str, Any] = self._call("GET", "usage").json()
        return report

    def reset(self) -> None:
        self._call("POST", "reset")

    def _arm(self, rule: FaultRule) -> None:
        self._call("POST", "faults", json=rule.to_dict())

    def clear_faults(self, seed: int | None = None) -> None:
        params = {} if seed is None else {"seed": str(seed)}
        self._call("DELETE", "faults", params=params)

    def describe_faults(self) -> dict[str, Any]:
        described: dict[str, Any] = self._call("GET", "faults").json()
        return described

    def hold_jobs(self, at: HoldStage = "notStarted") -> None:
        self._call("POST", "holds", json={"at": at})

    def release(self) -> None:
        self._call("DELETE", "holds")

    def wait_for_held(self, count: int = 1, timeout: float = 30.0) -> list[str]:
        params = {"count": str(count), "timeout": str(timeout)}
        held: list[str] = self._call("GET", "holds", params=params).json()["held"]
        if len(held) < count:
            raise TimeoutError(f"{len(held)} job(s) held, not {count}")
        return held

    def fail_next_job(self, count: int = 1) -> None:
        self._call("POST", "failures", json={"count": count})


# --- the workers' side: start, join, leave -----------------------------------------------------


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, though not ours
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): os.kill's answer stands
    return stat.rpartition(")")[2].split()[0] != "Z"


def _answers(url: str, ca_path: str | None) -> bool:
    """Whether an emulator still listens at ``url`` (its liveness route needs no key)."""
    try:
        response = httpx.get(
            f"{url}/ContainerLiveness", verify=ca_path if ca_path else True, timeout=5.0
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _load(path: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return state


def _save(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (it holds keys) readable by this user only, atomically."""
    scratch = path.with_suffix(".tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(state, out)
    scratch.replace(path)


def _start(
    directory: Path,
    name: str,
    *,
    tls: bool,
    tier: str,
    workers: int,
    slots: int,
    watch_pid: int | None,
    timeout: float,
) -> dict[str, Any]:
    """Start the emulator process; return its state once it serves."""
    ready = directory / f"{name}.ready"
    ready.unlink(missing_ok=True)
    keys = [secrets.token_hex(16) for _ in range(slots)]
    config = {
        "keys": keys,
        "tls": tls,
        "ca_out": str(directory / f"{name}-ca.pem") if tls else None,
        "tier": tier,
        "workers": workers,
        "watch_pid": watch_pid,
        "ready": str(ready),
        "startup_timeout": timeout,
    }
    log_path = directory / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "emulator.testing.shared"],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            start_new_session=True,  # a Ctrl-C reaches the workers, which stop it in turn
        )
    assert process.stdin is not None
    process.stdin.write(json.dumps(config).encode())
    process.stdin.close()
    # Reap it whenever it ends, so no zombie outlives it while this worker lives on.
    threading.Thread(target=process.wait, name="ocr-emulator-reaper", daemon=True).start()
    deadline = time.monotonic() + timeout
    while (where := _load(ready)) is None:
        if process.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the shared emulator did not start; its log ends:\n{tail}")
        time.sleep(0.05)
    return {**where, "pid": process.pid, "keys": keys, "claimed": {}}


def _live_claims(state: dict[str, Any]) -> dict[str, int]:
    """The taken keys (slot → the pid of the process holding it), less those of processes
    that died without leaving (a crashed worker): their keys are free again."""
    claimed: dict[str, int] = state["claimed"]
    return {slot: pid for slot, pid in claimed.items() if _alive(pid)}


def _stop(pid: int) -> None:
    """Stop the emulator process and wait until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_SECONDS
    while _alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.05)


@contextlib.contextmanager
def shared_emulator(
    directory: Path,
    *,
    tls: bool = False,
    tier: Literal["free", "paid"] = "paid",
    workers: int = 1,
    slots: int = 8,
    watch_pid: int | None = None,
    startup_timeout: float = 120.0,
) -> Iterator[SharedEmulator]:
    """Join the emulator shared through ``directory``, starting it if no one has; leave it
    when the block exits, stopping it if no one else uses it.

    Args:
        directory: where the processes that share it meet (the same for all of them).
        tls: serve HTTPS with a generated CA (another emulator than the plain one).
        tier, workers: the emulator's pricing tier and OCR worker threads (the first
            process to start it decides).
        slots: how many keys it is started with: the most processes that can share it.
        watch_pid: a process whose end stops the emulator (the test run's main process).
        startup_timeout: seconds to wait for the engines to load.

    Raises :class:`SharedEmulatorFullError` if every key is taken.
    """
    name = "ocr-emulator-https" if tls else "ocr-emulator-http"
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(directory / f"{name}.lock")
    state_path = directory / f"{name}.json"
    with lock:
        state = _load(state_path)
        if state is None or not (_alive(state["pid"]) and _answers(state["url"], state["ca"])):
            state = _start(
                directory,
                name,
                tls=tls,
                tier=tier,
                workers=workers,
                slots=slots,
                watch_pid=watch_pid,
                timeout=startup_timeout,
            )
        claimed = _live_claims(state)
        free = [slot for slot in range(len(state["keys"])) if str(slot) not in claimed]
        if not free:
            raise SharedEmulatorFullError(f"all {len(state['keys'])} keys are taken")
        slot = free[0]
        state["claimed"] = {**claimed, str(slot): os.getpid()}
        _save(state_path, state)
    ca_path = Path(state["ca"]) if state["ca"] else None
    handle = SharedEmulator(state["url"], state["keys"][slot], ca_path, state["port"])
    try:
        handle.reset()  # whatever a crashed worker with this key left behind
        yield handle
    finally:
        handle.close()
        with lock:
            state = _load(state_path)
            if state is not None:
                state["claimed"] = _live_claims(state)
                state["claimed"].pop(str(slot), None)
                if state["claimed"]:
                    _save(state_path, state)
                else:
                    _stop(state["pid"])
                    state_path.unlink(missing_ok=True)


# --- the emulator process ----------------------------------------------------------------------


class SharedEngines:
    """A few OCR engines behind many job threads.

    A job held by a test (``hold_jobs``) waits in its job thread. With one thread per
    engine, one worker's held job would stop every other worker's jobs; so the shared
    emulator runs many job threads (:data:`JOB_THREADS_PER_SLOT` per key), which take one of
    ``count`` engines only to read a page. Memory stays that of ``count`` engines.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.name = ""  # the engines' own, once loaded
        self._lock = threading.Lock()
        self._free: queue.Queue[OcrEngine] | None = None

    def load(self, _intra_op_threads: int) -> SharedEngines:
        """The job queue's engine factory: every job thread gets this object; the engines
        are built by the first call, each with its share of the cores."""
        from emulator.app import rapid_engine_factory
        from emulator.settings import usable_cores

        with self._lock:
            if self._free is None:
                free: queue.Queue[OcrEngine] = queue.Queue()
                for _ in range(self.count):
                    engine = rapid_engine_factory(max(1, usable_cores() // self.count))
                    free.put(engine)
                self.name = engine.name
                self._free = free
        return self

    def recognize(
        self,
        image: Image.Image,
        *,
        reading_order: ReadingOrder = "basic",
        language: str | None = None,
    ) -> PageText:
        """Read ``image`` with the first engine free."""
        assert self._free is not None
        engine = self._free.get()
        try:
            return engine.recognize(image, reading_order=reading_order, language=language)
        finally:
            self._free.put(engine)


#: Job threads of the shared emulator for each key it has.
JOB_THREADS_PER_SLOT = 4


def serve(config: dict[str, Any]) -> None:
    """Run the shared emulator until SIGTERM, or until the watched process is gone."""
    from emulator.app import create_app
    from emulator.server import run_in_thread
    from emulator.settings import Settings

    tls = bool(config["tls"])
    keys = tuple(config["keys"])
    settings = Settings(
        api_keys=keys,
        port=0,
        tls=tls,
        tls_ca_out=Path(config["ca_out"]) if tls else None,
        workers=JOB_THREADS_PER_SLOT * len(keys),
        tier=config["tier"],
    )
    engines = SharedEngines(int(config["workers"]))
    app = create_app(settings, engine_factory=engines.load)
    # As many jobs at work as engines: the others wait with their pages still undecoded.
    app.state.service.control.limit_work(engines.count)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    watch_pid = config.get("watch_pid")
    timeout = float(config["startup_timeout"])
    with run_in_thread(settings, app=app, timeout=timeout) as endpoint:
        ca = str(endpoint.ca_path) if endpoint.ca_path is not None else None
        _save(Path(config["ready"]), {"url": endpoint.url, "port": endpoint.port, "ca": ca})
        while not stop.wait(_WATCH_SECONDS):
            if watch_pid is not None and not _alive(int(watch_pid)):
                break


def main() -> None:
    """``python -m emulator.testing.shared``: the settings come as JSON on stdin."""
    serve(json.loads(sys.stdin.read()))


if __name__ == "__main__":
    main()
