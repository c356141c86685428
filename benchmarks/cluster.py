"""Cluster: pages per second of one and two emulator nodes sharing one Redis, and what the
Redis backend costs a one-page job over the in-process memory backend, in the same run.

Each node is pinned to its own core (``taskset``) with one worker, so on this 2-core machine
two nodes can at best double one. Work is spread over the nodes round-robin, as a load
balancer would. Two workloads:

* one 20-page PDF (the corpus's ``phototest.tif`` page, 20 times): its pages are split into
  one-page tasks, so two nodes read one document together;
* 40 one-page jobs (the same page, PNG), submitted at once.

Then the overhead: the same one-page job, one at a time, on one node with the memory backend
and on one node with the Redis backend (polled every 20 ms, median of ``--repeat``). Goal:
Redis / memory <= 1.05.

Last, failover: two nodes with ``--claim-timeout 5s`` read a 6-page PDF; the node holding a
page is SIGKILLed; printed is how long after the kill the job still succeeded (the claim
timeout plus the rest of the pages on one node).

Needs ``redis-server`` (Debian ``redis-server``); the benchmark starts its own on a free port.

    .venv/bin/python benchmarks/cluster.py [--repeat 15] [--jobs 40] [--pdf-pages 20]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import (
    API_KEY,
    Emulator,
    cpu_count,
    free_port,
    median,
    run_emulator,
    sample_page,
    sample_pdf,
    wait_all,
)

ANALYZE = "/vision/v3.2/read/analyze"
KEY = {"Ocp-Apim-Subscription-Key": API_KEY}
HEADERS = {**KEY, "Content-Type": "application/octet-stream"}


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A private ``redis-server`` on a free loopback port, no persistence; its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            != b"PONG"
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def nodes(count: int, backend: str | None, key_file: Path) -> Iterator[list[Emulator]]:
    """``count`` nodes, node ``i`` pinned to core ``i``, one worker each."""
    args = ["--workers", "1", "--encryption-key-file", str(key_file)]
    if backend is not None:
        args += ["--backend", backend]
    with contextlib.ExitStack() as stack:
        started = [
            stack.enter_context(run_emulator(*args, prefix=["taskset", "-c", str(i % cpu_count())]))
            for i in range(count)
        ]
        yield started


def _run(clients: Sequence[httpx.Client], documents: Sequence[bytes]) -> float:
    """Submit ``documents`` round-robin over the nodes, wait for all; seconds taken."""
    started = time.perf_counter()
    locations = []
    for index, document in enumerate(documents):
        response = clients[index % len(clients)].post(ANALYZE, content=document, headers=HEADERS)
        response.raise_for_status()
        locations.append(response.headers["Operation-Location"])
    wait_all(clients, locations)
    return time.perf_counter() - started


def _one_job(client: httpx.Client, document: bytes) -> float:
    started = time.perf_counter()
    response = client.post(ANALYZE, content=document, headers=HEADERS)
    response.raise_for_status()
    wait_all([client], [response.headers["Operation-Location"]])
    return time.perf_counter() - started


def _held_by(url: str, pid: int) -> int:
    """Pages the node with ``pid`` holds right now (its consumers' pending entries)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        consumers = client.xinfo_consumers("ocr-emulator:tasks", "workers")
    except redis.exceptions.ResponseError:
        return 0
    finally:
        client.close()
    return sum(int(c["pending"]) for c in consumers if f"-{pid}-" in c["name"].decode())


def _failover(url: str, key_file: Path, claim_timeout: float) -> tuple[float, int]:
    """Seconds from the SIGKILL of a node holding a page to the job's success, and pages."""
    pages = 6
    args = ["--workers", "1", "--encryption-key-file", str(key_file), "--backend", url]
    args += ["--claim-timeout", f"{claim_timeout:g}s"]
    with contextlib.ExitStack() as stack:
        started = [
            stack.enter_context(run_emulator(*args, prefix=["taskset", "-c", str(i)]))
            for i in range(2)
        ]
        clients = [
            stack.enter_context(httpx.Client(base_url=n.endpoint, headers=KEY, timeout=60))
            for n in started
        ]
        _run(clients, [sample_page()] * 2)
        response = clients[1].post(ANALYZE, content=sample_pdf(pages), headers=HEADERS)
        response.raise_for_status()
        victim = started[0].process
        while _held_by(url, victim.pid) == 0:
            time.sleep(0.005)
        victim.kill()
        killed = time.perf_counter()
        wait_all(clients[1:], [response.headers["Operation-Location"]])
        return time.perf_counter() - killed, pages


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="one-page jobs per backend")
    parser.add_argument("--jobs", type=int, default=40, help="one-page jobs at once")
    parser.add_argument("--pdf-pages", type=int, default=20, help="pages of the long PDF")
    parser.add_argument("--claim-timeout", type=float, default=5.0, help="for the failover")
    args = parser.parse_args(argv)
    if shutil.which("taskset") is None:
        raise SystemExit("taskset (util-linux) is needed to pin each node to a core")

    page = sample_page()
    pdf = sample_pdf(args.pdf_pages)
    print(f"{cpu_count()} cores; each node pinned to one core, one worker")
    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / "cluster.key"
        key_file.write_bytes(os.urandom(32))
        with redis_server(Path(tmp)) as url:
            rates: dict[tuple[str, int], float] = {}
            for count in (1, 2):
                with nodes(count, url, key_file) as started:
                    clients = [
                        httpx.Client(base_url=n.endpoint, headers=KEY, timeout=60) for n in started
                    ]
                    _run(clients, [page] * count)  # warm every node's engine
                    seconds = _run(clients, [pdf])
                    rates[("pdf", count)] = args.pdf_pages / seconds
                    seconds = _run(clients, [page] * args.jobs)
                    rates[("jobs", count)] = args.jobs / seconds
                    for client in clients:
                        client.close()
            print()
            print("| workload | 1 node | 2 nodes | 2 / 1 |")
            print("|---|---|---|---|")
            for name, label in (
                ("pdf", f"one {args.pdf_pages}-page PDF"),
                ("jobs", f"{args.jobs} one-page jobs"),
            ):
                one, two = rates[(name, 1)], rates[(name, 2)]
                print(f"| {label} | {one:.2f} pages/s | {two:.2f} pages/s | {two / one:.2f} |")

            latencies: dict[str, list[float]] = {"memory": [], "redis": []}
            with (
                nodes(1, None, key_file) as (memory,),
                nodes(1, url, key_file) as (shared,),
                httpx.Client(base_url=memory.endpoint, headers=KEY, timeout=60) as on_memory,
                httpx.Client(base_url=shared.endpoint, headers=KEY, timeout=60) as on_redis,
            ):
                _one_job(on_memory, page)
                _one_job(on_redis, page)
                # Interleaved, so drift of the machine's speed hits both alike.
                for _ in range(args.repeat):
                    latencies["memory"].append(_one_job(on_memory, page))
                    latencies["redis"].append(_one_job(on_redis, page))
            failover, failover_pages = _failover(url, key_file, args.claim_timeout)
    memory_ms = median(latencies["memory"]) * 1000
    redis_ms = median(latencies["redis"]) * 1000
    print()
    print(f"one-page job, median of {args.repeat}, each node on its own core:")
    print(f"  memory backend {memory_ms:.0f} ms, Redis backend {redis_ms:.0f} ms")
    print(f"  Redis / memory = {redis_ms / memory_ms:.3f} (goal <= 1.05)")
    print()
    print(
        f"failover: a node SIGKILLed while it held a page of a {failover_pages}-page PDF; the job "
        f"succeeded {failover:.1f} s later (--claim-timeout {args.claim_timeout:g}s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
