"""Operating a cluster: ``/metrics`` scraped on every node shows the shared queue draining and
the pages each node read; the JSON logs have a line for every request and for every job state
change, with the request id that submitted the job, and no key or document content; a node
stopped with SIGTERM hands the page it was reading back to the others at once."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import ANALYZE, BINARY, KEY, MakeNode, Node
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from emulator.engine.fake import FakeEngine
from emulator.observability.logs import JsonFormatter
from tests._process import ready_url
from tests._redis import RedisServer
from tests.emulator import _slow_node as slow_node

MARKER = "CONFIDENTIAL-MARKER-0p5"
DOCUMENTS = 4
PAGES = 3


def _tiff(pages: int, number: int) -> bytes:
    """A ``pages``-page TIFF whose own bytes hold :data:`MARKER` (its description tag)."""
    frames = [Image.new("RGB", (300 + 10 * i + number, 120), "white") for i in range(pages)]
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "TIFF",
        save_all=True,
        append_images=frames[1:],
        tiffinfo={270: f"{MARKER} {number}"},
    )
    return buffer.getvalue()


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every node's log lines at INFO, as ``--log-format json`` writes them."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def _scrape(node: Node) -> dict[str, float]:
    """The node's unlabelled samples, and ``ocr_emulator_jobs`` as ``jobs:<state>``."""
    response = await node.client.get("/metrics")
    assert response.status_code == 200, response.text
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "ocr_emulator_jobs":
                values[f"jobs:{sample.labels['state']}"] = sample.value
            elif not sample.labels:
                values[sample.name] = sample.value
    return values


async def test_metrics_show_the_queue_draining_and_logs_every_request_and_state_change(
    make_node: MakeNode, json_lines: io.StringIO
) -> None:
    engines = [FakeEngine(delay=0.1) for _ in range(2)]
    nodes = [await make_node(engine=engine, metrics=True) for engine in engines]
    responses: list[httpx.Response] = []
    submitted: dict[str, str] = {}  # operation id -> the request id that submitted it
    documents = [_tiff(PAGES, number) for number in range(DOCUMENTS)]
    for number, document in enumerate(documents):
        response = await nodes[number % 2].client.post(ANALYZE, content=document, headers=BINARY)
        assert response.status_code == 202, response.text
        responses.append(response)
        operation_id = response.headers["Operation-Location"].rsplit("/", 1)[-1]
        submitted[operation_id] = response.headers["apim-request-id"]

    queued: list[float] = []
    deadline = time.monotonic() + 60
    while True:
        scrapes = [await _scrape(node) for node in nodes]
        queued.append(scrapes[0]["ocr_emulator_queue_pages"])
        done = sum(s["ocr_emulator_pages_read_total"] for s in scrapes)
        if done == DOCUMENTS * PAGES and scrapes[0]["ocr_emulator_queue_pages"] == 0:
            break
        assert time.monotonic() < deadline, scrapes
        await asyncio.sleep(0.05)
    assert max(queued) > 0 and queued[-1] == 0, queued
    final = [await _scrape(node) for node in nodes]
    for scrape in final:  # the cluster's queue and jobs, the same seen from either node
        assert scrape["ocr_emulator_queue_depth"] == 0 and scrape["ocr_emulator_queue_pages"] == 0
        assert scrape["jobs:notStarted"] == 0 and scrape["jobs:running"] == 0
    # The pages each node read, counted where it read them, add up to those submitted.
    per_node = [s["ocr_emulator_pages_read_total"] for s in final]
    assert per_node == [float(engine.calls) for engine in engines]
    assert sum(per_node) == DOCUMENTS * PAGES and all(count >= 1 for count in per_node)
    assert [s["ocr_emulator_engine_seconds_count"] for s in final] == per_node

    for number, operation_id in enumerate(submitted):
        node = nodes[(number + 1) % 2]  # asked on the other node
        location = f"/vision/v3.2/read/analyzeResults/{operation_id}"
        body = await node.wait(location)
        assert body["status"] == "succeeded"
        responses.append(await node.client.get(location))
        responses.append(await node.client.delete(location))
    await asyncio.sleep(0.1)  # the last access line is written as its answer ends

    text = json_lines.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    access = [line["request_id"] for line in lines if line["logger"] == "emulator.access"]
    for response in responses:
        assert access.count(response.headers["apim-request-id"]) == 1
    for operation_id, request_id in submitted.items():
        states = [
            (line["state"], line["request_id"])
            for line in lines
            if line.get("operation") == operation_id
        ]
        assert [state for state, _ in states] == ["notStarted", "running", "succeeded", "deleted"]
        assert {rid for _, rid in states} == {request_id}
    secrets = [KEY, MARKER, "PAGE 30"]
    for document in documents:
        secrets += [document[8:40].hex(), base64.b64encode(document[8:40]).decode()]
    for secret in secrets:
        assert secret not in text, secret


def _start_node(redis_url: str, key_file: Path, page_seconds: float) -> subprocess.Popen[str]:
    return slow_node.start(
        page_seconds,
        *("--api-key", KEY, "--backend", redis_url, "--encryption-key-file", str(key_file)),
        *("--claim-timeout", "30s", "--shutdown-timeout", "0", "--log-format", "json"),
    )


@pytest.mark.timeout(180)
async def test_a_node_stopped_with_sigterm_hands_its_page_back_at_once(
    make_node: MakeNode, redis_server: RedisServer, key_file: Path
) -> None:
    leaving = _start_node(redis_server.url, key_file, page_seconds=20.0)
    try:
        url = ready_url(leaving, 120.0)
        headers = {"Ocp-Apim-Subscription-Key": KEY}
        async with httpx.AsyncClient(base_url=url, headers=headers) as client:
            response = await client.post(ANALYZE, content=_tiff(2, 0), headers=BINARY)
            assert response.status_code == 202
            location = response.headers["Operation-Location"]
            path = location.split(url, 1)[1]
            for _ in range(600):  # until a page is in the leaving node's hands
                if (await client.get(path)).json()["status"] == "running":
                    break
                await asyncio.sleep(0.05)
        started = time.monotonic()
        leaving.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.to_thread(leaving.communicate, timeout=60)
        stopped = time.monotonic() - started
    finally:
        leaving.kill()
    assert leaving.returncode == 0, stderr[-2000:]
    assert stopped < 10, stopped  # not the 20 s its page would have taken
    # Another node reads both pages now: the page in hand was handed back, not left to be
    # taken over after the 30 s claim timeout.
    staying = await make_node()
    started = time.monotonic()
    body = await staying.wait(path, patience=20)
    assert body["status"] == "succeeded"
    assert time.monotonic() - started < 20
    assert staying.engine.calls == 2
