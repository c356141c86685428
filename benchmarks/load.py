"""Load: hundreds of submissions from tens of concurrent clients against a small job queue.

Starts the emulator on a loopback port (never anything else) with a small ``--max-queue``,
then ``--clients`` threads, each with its own ``ocr_sdk.OcrClient``, read ``--submissions``
documents between them. The queue fills, and the emulator must refuse with ``429`` and a
``Retry-After`` rather than lose or stall anything; the SDK waits what it is told and
submits again. Every request is counted on the client side (a counting transport under the
SDK), and the emulator's store is inspected afterwards. The run checks that:

* every submission was either accepted (``202``) or refused with ``429`` + ``Retry-After``;
* every document ended with a result (the SDK's retries carried every one through);
* accepted submissions = documents = distinct operation ids = succeeded jobs in the store
  (nothing lost, nothing duplicated);
* no job is left ``notStarted`` or ``running``.

It prints the counts and exits 1 if any check fails. It is bounded in count
(``--submissions``) and time (``--time-limit``, after which it stops and reports)::

    .venv/bin/python benchmarks/load.py                        # fake engine: the server alone
    .venv/bin/python benchmarks/load.py --engine real          # RapidOCR on small images

``--engine fake`` isolates the server (HTTP, queue, store, retries) from OCR cost; its
``--fake-delay`` (seconds per page) keeps workers busy long enough for the queue to fill.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from PIL import Image, ImageDraw

from emulator.app import create_app, rapid_engine_factory
from emulator.engine.fake import FakeEngine
from emulator.jobs import EngineFactory
from emulator.jobs.service import ReadService
from emulator.server import run_in_thread
from emulator.settings import Settings
from ocr_sdk import OcrClient, OcrError, RetryPolicy

ANALYZE_SUFFIX = "/read/analyze"


@dataclass
class Counts:
    """What the clients saw, request by request, and what the store holds afterwards."""

    documents: int = 0
    finished: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    submit_statuses: dict[int, int] = field(default_factory=dict)
    refused_without_retry_after: int = 0
    retry_after_values: dict[str, int] = field(default_factory=dict)
    poll_statuses: dict[int, int] = field(default_factory=dict)
    operation_ids: int = 0
    distinct_operation_ids: int = 0
    store_jobs: int = 0
    store_statuses: dict[str, int] = field(default_factory=dict)
    unfinished_after: int = 0
    seconds: float = 0.0
    timed_out: bool = False


class CountingTransport(httpx.HTTPTransport):
    """The SDK's transport, counting each analyze answer and each poll answer."""

    def __init__(self, counts: Counts, lock: threading.Lock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counts = counts
        self.lock = lock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send, then record the status (and, for a refused submission, its Retry-After)."""
        response = super().handle_request(request)
        with self.lock:
            if request.method == "POST" and request.url.path.endswith(ANALYZE_SUFFIX):
                statuses = self.counts.submit_statuses
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code == 429:
                    retry_after = response.headers.get("Retry-After")
                    if retry_after is None:
                        self.counts.refused_without_retry_after += 1
                    else:
                        values = self.counts.retry_after_values
                        values[retry_after] = values.get(retry_after, 0) + 1
            elif request.method == "GET":
                polls = self.counts.poll_statuses
                polls[response.status_code] = polls.get(response.status_code, 0) + 1
        return response


def small_document(number: int) -> bytes:
    """A small PNG with one printed line, different for every submission."""
    image = Image.new("RGB", (360, 80), "white")
    ImageDraw.Draw(image).text((10, 25), f"LOAD TEST {number:05d}", fill="black")
    image = image.resize((720, 160))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def run(args: argparse.Namespace) -> Counts:
    """Run the load and return the counts (the checks are in :func:`verdict`)."""
    engine_factory: EngineFactory
    if args.engine == "fake":
        delay = args.fake_delay
        engine_factory = lambda _threads: FakeEngine(delay=delay)  # noqa: E731
    else:
        engine_factory = rapid_engine_factory
    key = "load-benchmark-key"
    settings = Settings(
        api_keys=(key,),
        host="127.0.0.1",  # loopback only, whatever else is configured
        port=0,
        workers=args.workers,
        max_queue=args.max_queue,
        log_level="warning",
    )
    app = create_app(settings, engine_factory=engine_factory)
    counts = Counts()
    lock = threading.Lock()
    deadline = time.monotonic() + args.time_limit
    operation_ids: list[str] = []
    # Long enough to outlast any queue: the point is that every document gets through.
    policy = RetryPolicy(max_retries=1000, max_backoff=2.0, max_retry_after=120.0)
    started = time.monotonic()
    with run_in_thread(settings, app=app, timeout=180) as endpoint:
        clients = [
            OcrClient(
                endpoint.url,
                key,
                retry=policy,
                polling_interval=0.1,
                transport=CountingTransport(counts, lock),
                timeout=60,
            )
            for _ in range(args.clients)
        ]

        def read(number: int) -> str | None:
            if time.monotonic() > deadline:
                return None
            client = clients[number % len(clients)]
            return client.read(small_document(number)).operation_id

        try:
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                futures = [pool.submit(read, n) for n in range(args.submissions)]
                for future in as_completed(futures):
                    counts.documents += 1
                    try:
                        operation_id = future.result()
                    except OcrError as error:
                        name = type(error).__name__
                        counts.errors[name] = counts.errors.get(name, 0) + 1
                        continue
                    if operation_id is None:
                        counts.timed_out = True
                        continue
                    counts.finished += 1
                    operation_ids.append(operation_id)
        finally:
            for client in clients:
                client.close()
        counts.seconds = round(time.monotonic() - started, 1)
        service: ReadService = app.state.service
        jobs = [service.store.get(operation_id) for operation_id in set(operation_ids)]
        counts.store_jobs = sum(job is not None for job in jobs)
        counts.store_statuses = dict(
            collections.Counter(job.status for job in jobs if job is not None)
        )
        counts.unfinished_after = len(service.store.unfinished())
    counts.operation_ids = len(operation_ids)
    counts.distinct_operation_ids = len(set(operation_ids))
    return counts


def verdict(counts: Counts, submissions: int) -> list[str]:
    """The checks that failed (empty if the load was held)."""
    failed = []
    accepted = counts.submit_statuses.get(202, 0)
    other = {s: n for s, n in counts.submit_statuses.items() if s not in (202, 429)}
    if counts.timed_out:
        failed.append("the time limit ended the run before every document was read")
    if other:
        failed.append(f"submissions answered other than 202/429: {other}")
    if counts.refused_without_retry_after:
        failed.append(f"{counts.refused_without_retry_after} 429s without Retry-After")
    if counts.errors:
        failed.append(f"documents that ended in an error: {counts.errors}")
    if not counts.finished == counts.documents == submissions:
        failed.append(f"{counts.finished} of {submissions} documents finished")
    if not accepted == counts.distinct_operation_ids == counts.operation_ids == counts.finished:
        failed.append(
            f"accepted {accepted}, operation ids {counts.operation_ids} "
            f"({counts.distinct_operation_ids} distinct), finished {counts.finished}"
        )
    if counts.store_statuses != {"succeeded": counts.finished}:
        failed.append(f"jobs in the store: {counts.store_statuses}")
    if counts.unfinished_after:
        failed.append(f"{counts.unfinished_after} jobs left notStarted or running")
    return failed


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the load, print the counts and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["fake", "real"], default="fake")
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--max-queue", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fake-delay", type=float, default=0.02, help="seconds per page")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = parser.parse_args(argv)
    counts = run(args)
    failed = verdict(counts, args.submissions)
    if args.json:
        print(json.dumps({**asdict(counts), "failed": failed}, indent=2))
    else:
        print(
            f"engine={args.engine} clients={args.clients} submissions={args.submissions} "
            f"max_queue={args.max_queue} workers={args.workers} in {counts.seconds}s"
        )
        print(f"  submissions answered: {dict(sorted(counts.submit_statuses.items()))}")
        print(f"  429 Retry-After values: {dict(sorted(counts.retry_after_values.items()))}")
        print(f"  429 without Retry-After: {counts.refused_without_retry_after}")
        print(f"  polls answered: {dict(sorted(counts.poll_statuses.items()))}")
        print(
            f"  documents finished: {counts.finished}/{args.submissions}; "
            f"operation ids {counts.operation_ids} ({counts.distinct_operation_ids} distinct); "
            f"errors {counts.errors or 0}"
        )
        print(
            f"  store afterwards: {counts.store_statuses}; "
            f"left notStarted/running: {counts.unfinished_after}"
        )
        print("  HELD" if not failed else "  FAILED: " + "; ".join(failed))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
