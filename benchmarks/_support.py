"""What the benchmarks share: an emulator in a child process on a real socket, sample pages,
generated pages with their truth, process-tree memory and CPU, and medians.

Benchmarks are run by hand and print figures; they never assert timings (tests do not either).
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "eval"
PYTHON = sys.executable
API_KEY = "benchmark-key"


def generate_pages(
    out: Path,
    kinds: Sequence[str],
    pages: int,
    seed: int,
    degrade: str = "clean",
    *,
    jobs: int = 1,
    pdf: bool = False,
) -> None:
    """Render ``pages`` generated pages of each of ``kinds`` (``all`` for every kind) from
    ``seed`` into ``out`` with their truth (``python -m training.layouts``); pages already
    there are kept, so a benchmark's cache fills once."""
    command = [PYTHON, "-m", "training.layouts", "--out", str(out), "--kinds", *kinds]
    command += ["--pages", str(pages), "--seed", str(seed), "--degrade", degrade]
    command += ["--jobs", str(jobs), "--skip-existing", *(["--pdf"] if pdf else [])]
    subprocess.run(command, check=True, cwd=ROOT)


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Emulator:
    """An emulator process: its endpoint, the CA to trust for TLS, and its process tree."""

    endpoint: str
    process: subprocess.Popen[bytes]
    ca_file: Path | None
    ready_after: float

    @property
    def verify(self) -> bool | str:
        """What to pass as the SDK's ``verify``."""
        return str(self.ca_file) if self.ca_file else True

    def tree(self) -> list[psutil.Process]:
        """The emulator and its worker processes."""
        parent = psutil.Process(self.process.pid)
        return [parent, *parent.children(recursive=True)]

    def rss(self) -> int:
        """Resident memory of the whole tree, in bytes."""
        total = 0
        for proc in self.tree():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def cpu_of_each(self) -> list[float]:
        """User + system CPU of each process of the tree so far."""
        found = []
        for proc in self.tree():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                found.append(times.user + times.system)
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU of the tree so far (children that exited are not counted)."""
        total = 0.0
        for proc in self.tree():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total


@contextlib.contextmanager
def run_emulator(
    *args: str, tls: bool = False, timeout: float = 120.0, prefix: Sequence[str] = ()
) -> Iterator[Emulator]:
    """Start ``python -m emulator`` with ``args`` on a free port; wait for ``/ready``.
    ``prefix`` goes before the command (``taskset -c 0`` pins the node to one core)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        ca_file = Path(tmp) / "ca.pem" if tls else None
        argv = [*prefix, PYTHON, "-m", "emulator", "--port", str(port), "--api-key", API_KEY, *args]
        if ca_file is not None:
            argv += ["--tls", "--tls-ca-out", str(ca_file)]
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        scheme = "https" if tls else "http"
        endpoint = f"{scheme}://127.0.0.1:{port}"
        try:
            ready_after = _wait_ready(endpoint, ca_file, started, timeout, process)
            yield Emulator(endpoint, process, ca_file, ready_after)
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(
    endpoint: str,
    ca_file: Path | None,
    started: float,
    timeout: float,
    process: subprocess.Popen[bytes],
) -> float:
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode}")
        verify: bool | ssl.SSLContext = True
        if ca_file is not None:
            if not ca_file.exists():
                time.sleep(0.01)
                continue
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except ssl.SSLError:  # the emulator is still writing it
                time.sleep(0.01)
                continue
        try:
            if httpx.get(f"{endpoint}/ready", verify=verify, timeout=1.0).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    raise TimeoutError("the emulator was not ready in time")


def sample_page() -> bytes:
    """The one-page document the latency and throughput benchmarks read: the corpus's
    ``phototest.tif`` (a clean printed page), as PNG."""
    from PIL import Image

    with Image.open(CORPUS / "images" / "phototest.tif") as img:
        buffer = io.BytesIO()
        img.convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def sample_pdf(pages: int, dpi: float = 200.0) -> bytes:
    """The same page (``phototest.tif``) ``pages`` times over, as a PDF at ``dpi``."""
    from PIL import Image

    with Image.open(CORPUS / "images" / "phototest.tif") as img:
        page = img.convert("RGB")
    buffer = io.BytesIO()
    page.save(buffer, "PDF", save_all=True, append_images=[page] * (pages - 1), resolution=dpi)
    return buffer.getvalue()


def wait_all(
    clients: Sequence[httpx.Client], locations: Sequence[str], poll_seconds: float = 0.02
) -> None:
    """Poll every operation (spreading the GETs over ``clients``, as a load balancer would)
    until all have succeeded; ``RuntimeError`` if one fails."""
    pending = list(locations)
    turn = 0
    while pending:
        still = []
        for location in pending:
            client = clients[turn % len(clients)]
            turn += 1
            status = client.get(location).json()["status"]
            if status == "failed":
                raise RuntimeError(f"a job failed: {location}")
            if status != "succeeded":
                still.append(location)
        pending = still
        if pending:
            time.sleep(poll_seconds)


def cpu_count() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0))
