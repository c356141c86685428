"""The security review of issue 23, replayed at full size against a real emulator process.

Starts ``python -m emulator`` with its default settings (plus ``--job-timeout 10s``, as the
review ran its row 1) and sends, one attack after another, what the review sent: a PDF page
of 100 000 strokes, a PDF whose Flate stream inflates to gigabytes, 20/60/150 MB JSON bodies to
Document Intelligence, eight uploads that declare 400 MB, send 150 MB and go silent beside 18
request heads sent a byte a second, a TIFF of 30 000 pages, and three 10000 x 10000 pages
(row 6, the review's "also seen": the server kept 459-855 MB after them). Throughout, a well-behaved
client submits a small document every second and waits for its result, and ``/status`` is
asked ten times a second. For each attack it prints what the attacker got, the longest
``/status`` answer and the server process's peak RSS (the server alone: decoders and OCR
workers are its children and are counted apart), and at the end how many of the well-behaved
client's jobs did not succeed (the goal: none)::

    .venv/bin/python benchmarks/hostile.py              # every attack, about 4 minutes
    .venv/bin/python benchmarks/hostile.py --only 2 4   # some of them

The goals (issue 23): the server never dies, ``/status`` answers within 1 s throughout, and
its RSS stays under 1.5 GB whatever is sent. Everything runs on loopback.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "security"))

from _hostile import MB, flate_bomb, plain_png, strokes
from _support import API_KEY, run_emulator
from multipage_tiff import repeated_page_tiff

HEADERS = {"Ocp-Apim-Subscription-Key": API_KEY}
ANALYZE = "/vision/v3.2/read/analyze"
DI_ANALYZE = "/documentintelligence/documentModels/prebuilt-read:analyze"
DI_VERSION = {"api-version": "2024-11-30"}


@dataclass
class Watch:
    """Samples ``/status`` latency and the server's RSS while an attack runs."""

    endpoint: str
    pid: int
    slowest_status: float = 0.0
    peak_rss: int = 0
    status_failures: int = 0
    _running: bool = True
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for target in (self._status, self._rss):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._running = False
        for thread in self._threads:
            thread.join()

    def _status(self) -> None:
        with httpx.Client(base_url=self.endpoint, timeout=10) as http:
            while self._running:
                started = time.perf_counter()
                try:
                    ok = http.get("/status").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.slowest_status = max(self.slowest_status, time.perf_counter() - started)
                self.status_failures += not ok
                time.sleep(0.1)

    def _rss(self) -> None:
        process = psutil.Process(self.pid)
        while self._running:
            with contextlib.suppress(psutil.Error):
                self.peak_rss = max(self.peak_rss, process.memory_info().rss)
            time.sleep(0.05)


@dataclass
class Bystander:
    """A well-behaved client: a small document a second, each result awaited."""

    endpoint: str
    submitted: int = 0
    succeeded: int = 0
    refused: int = 0
    failed: list[str] = field(default_factory=list)
    _running: bool = True
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        document = plain_png("bystander")
        with httpx.Client(base_url=self.endpoint, headers=HEADERS, timeout=120) as http:
            while self._running:
                try:
                    answer = http.post(
                        ANALYZE,
                        content=document,
                        headers={"Content-Type": "application/octet-stream"},
                    )
                except httpx.HTTPError as error:
                    self.failed.append(f"submit: {type(error).__name__}")
                    continue
                if answer.status_code in (429, 503):  # told to come back: not a loss
                    self.refused += 1
                    time.sleep(float(answer.headers.get("Retry-After", "1")))
                    continue
                self.submitted += 1
                if answer.status_code != 202:
                    self.failed.append(f"submit: {answer.status_code}")
                    continue
                status = _wait(http, answer.headers["Operation-Location"])
                if status == "succeeded":
                    self.succeeded += 1
                else:
                    self.failed.append(status)
                time.sleep(1.0)


def _wait(http: httpx.Client, location: str, timeout: float = 600.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: str = http.get(location).json()["status"]
        if status in ("succeeded", "failed"):
            return status
        time.sleep(0.25)
    return "never finished"


def _submit(endpoint: str, document: bytes) -> tuple[int, str]:
    with httpx.Client(base_url=endpoint, headers=HEADERS, timeout=600) as http:
        answer = http.post(
            ANALYZE, content=document, headers={"Content-Type": "application/octet-stream"}
        )
        if answer.status_code != 202:
            return answer.status_code, answer.text[:120]
        return 202, _wait(http, answer.headers["Operation-Location"])


# --- the attacks ------------------------------------------------------------------------------


def row_1(endpoint: str) -> str:
    document = strokes(100_000)
    return f"{len(document) // 1024} KB PDF of 100 000 strokes: {_submit(endpoint, document)}"


def row_2(endpoint: str) -> str:
    document = flate_bomb(3 * 1024 * MB)
    return f"{len(document) / MB:.1f} MB PDF inflating to 3 GB: {_submit(endpoint, document)}"


def row_3(endpoint: str) -> str:
    answers = []
    page = io.BytesIO()
    Image.new("RGB", (400, 200), "white").save(page, "PNG")
    for size in (20, 60, 150):
        # base64 of noise after a real PNG: a body as large as the review's.
        noise = page.getvalue() + bytes(size * MB * 3 // 4)
        body = b'{"base64Source": "' + base64.b64encode(noise) + b'"}'
        with httpx.Client(base_url=endpoint, headers=HEADERS, timeout=600) as http:
            started = time.perf_counter()
            answer = http.post(
                DI_ANALYZE,
                params=DI_VERSION,
                content=body,
                headers={"Content-Type": "application/json"},
            )
        answers.append(f"{size} MB -> {answer.status_code} in {time.perf_counter() - started:.1f}s")
    return "JSON bodies to Document Intelligence: " + ", ".join(answers)


def _status_line(sock: socket.socket, timeout: float) -> str:
    """The status line the attacker got on ``sock`` within ``timeout`` seconds, ``closed``
    for none, or what went wrong reading it."""
    sock.settimeout(timeout)
    try:
        answer = sock.recv(200).split(b"\r\n", 1)[0].decode("latin-1")
    except OSError as error:
        answer = type(error).__name__
    return answer or "closed"


def _stalled_upload(endpoint: str, results: list[str]) -> None:
    host, port = endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"POST {ANALYZE} HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: {API_KEY}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {400 * MB}\r\n\r\n".encode()
        )
        chunk = bytes(MB)
        try:
            for _ in range(150):
                sock.sendall(chunk)
        except OSError:
            pass  # refused and closed while sending: what the attacker gets is below
        results.append(_status_line(sock, 120))


def _slow_head(endpoint: str, results: list[str]) -> None:
    host, port = endpoint.removeprefix("http://").split(":")
    head = f"GET /status HTTP/1.1\r\nHost: x\r\nX-Padding: {'a' * 200}\r\n\r\n".encode()
    with socket.create_connection((host, int(port))) as sock:
        try:
            for byte in head:
                sock.sendall(bytes([byte]))
                time.sleep(1.0)
        except OSError:
            pass
        results.append(_status_line(sock, 30))


def row_4(endpoint: str) -> str:
    uploads: list[str] = []
    heads: list[str] = []
    threads = [threading.Thread(target=_stalled_upload, args=(endpoint, uploads)) for _ in range(8)]
    threads += [threading.Thread(target=_slow_head, args=(endpoint, heads)) for _ in range(18)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return f"8 stalled 400 MB uploads: {_counts(uploads)}; 18 slow heads: {_counts(heads)}"


def row_5(endpoint: str) -> str:
    document = repeated_page_tiff(30_000)
    with httpx.Client(base_url=endpoint, headers=HEADERS, timeout=600) as http:
        started = time.perf_counter()
        answer = http.post(
            ANALYZE, content=document, headers={"Content-Type": "application/octet-stream"}
        )
        took = time.perf_counter() - started
    return f"{len(document) / MB:.1f} MB TIFF of 30 000 pages: {answer.status_code} in {took:.1f}s"


def large_pages(endpoint: str, pid: int) -> str:
    """Three 10000 x 10000 pages, one after another (the review's "also seen"): what the
    server holds once each is read."""
    image = Image.new("RGB", (10000, 10000), "white")
    draw = ImageDraw.Draw(image)
    for top in range(200, 9800, 400):
        draw.text((200, top), "A line of text on a very large page. " * 3, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    del image, draw
    server = psutil.Process(pid)
    after = []
    for _ in range(3):
        _submit(endpoint, buffer.getvalue())
        time.sleep(1.0)
        after.append(f"{server.memory_info().rss / MB:.0f}")
    return f"three 10000 x 10000 pages read; server RSS after each: {', '.join(after)} MB"


def _counts(answers: list[str]) -> str:
    seen: dict[str, int] = {}
    for answer in answers:
        seen[answer] = seen.get(answer, 0) + 1
    return ", ".join(f"{count} x {answer!r}" for answer, count in sorted(seen.items()))


ROWS: dict[int, Callable[[str], str]] = {1: row_1, 2: row_2, 3: row_3, 4: row_4, 5: row_5}
#: Row 6: the review's "also seen", large pages within the limits.
LARGE_PAGES = 6


@contextlib.contextmanager
def watching(endpoint: str, pid: int) -> Iterator[Watch]:
    watch = Watch(endpoint, pid)
    watch.start()
    try:
        yield watch
    finally:
        watch.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", type=int, nargs="*", help="rows of the review to replay")
    args = parser.parse_args(argv)
    rows = args.only or [*sorted(ROWS), LARGE_PAGES]
    worst_status = 0.0
    worst_rss = 0
    with run_emulator("--job-timeout", "10s", timeout=300) as emulator:
        bystander = Bystander(emulator.endpoint)
        bystander.start()
        for row in rows:
            with watching(emulator.endpoint, emulator.process.pid) as watch:
                started = time.perf_counter()
                if row == LARGE_PAGES:
                    outcome = large_pages(emulator.endpoint, emulator.process.pid)
                else:
                    outcome = ROWS[row](emulator.endpoint)
                took = time.perf_counter() - started
            worst_status = max(worst_status, watch.slowest_status)
            worst_rss = max(worst_rss, watch.peak_rss)
            alive = emulator.process.poll() is None
            print(
                f"row {row}: {outcome}\n"
                f"        {took:.0f}s; /status slowest {watch.slowest_status * 1000:.0f} ms "
                f"({watch.status_failures} failed); server RSS peak {watch.peak_rss / MB:.0f} MB; "
                f"server {'alive' if alive else 'DEAD'}",
                flush=True,
            )
        bystander.stop()
        alive = emulator.process.poll() is None
    print(
        f"bystander: {bystander.submitted} accepted, {bystander.succeeded} succeeded, "
        f"{bystander.refused} told to retry, lost or failed: {bystander.failed or 'none'}"
    )
    held = worst_status < 1.0 and worst_rss < 1536 * MB and alive and not bystander.failed
    print(
        f"goals: /status within 1 s: {worst_status * 1000:.0f} ms; RSS under 1.5 GB: "
        f"{worst_rss / MB:.0f} MB; server alive: {alive}; nothing lost: {not bystander.failed}"
        f" -> {'held' if held else 'NOT HELD'}"
    )
    return 0 if held else 1


if __name__ == "__main__":
    raise SystemExit(main())
