"""Three emulator node processes on one real Redis, the real OCR engine in each: one node is
SIGKILLed while it reads a page, and every job still ends ``succeeded`` with the right text,
read from whichever node is asked; its pages are taken over after ``--claim-timeout``."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from _e2e_support import ready_url
from PIL import Image

from tests._redis import RedisServer
from tests.conftest import encode, text_image

ANALYZE = "/vision/v3.2/read/analyze"
FINISHED = {"succeeded", "failed"}
WORDS = ["AMBER", "BASALT", "CEDAR", "DELTA", "EMBER", "FJORD", "GRANITE", "HARBOR"]


def _start(redis_url: str, key_file: Path, key: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OCR_EMULATOR_")}
    return subprocess.Popen(
        [
            sys.executable, "-m", "emulator", "--port", "0", "--workers", "1",
            "--api-key", key, "--backend", redis_url, "--encryption-key-file", str(key_file),
            "--claim-timeout", "3s", "--log-level", "info",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )  # fmt: skip


def _page(word: str, number: int) -> Image.Image:
    return text_image([f"{word} {number}", "TOTAL 4711 EUR"], size=(700, 200))


def _poll(client: httpx.Client, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while True:
        body: dict[str, Any] = client.get(path).json()
        if body["status"] in FINISHED:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def _texts(body: dict[str, Any]) -> list[list[str]]:
    return [
        [line["text"] for line in page["lines"]] for page in body["analyzeResult"]["readResults"]
    ]


def _held_by(redis_server: RedisServer, pid: int) -> int:
    """How many pages the node with ``pid`` holds right now (its consumers' pending)."""
    client = redis_server.client()
    try:
        consumers = client.xinfo_consumers("ocr-emulator:tasks", "workers")
    except Exception:
        return 0
    return sum(int(c["pending"]) for c in consumers if f"-{pid}-" in c["name"].decode())


@pytest.mark.timeout(600)
def test_a_node_killed_mid_page_loses_no_job(
    processes: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    try:
        key = "cluster-e2e-" + secrets.token_hex(8)
        key_file = tmp_path / "cluster.key"
        key_file.write_bytes(os.urandom(32))
        nodes = [_start(redis_server.url, key_file, key) for _ in range(3)]
        processes.extend(nodes)
        urls = [ready_url(node) for node in nodes]
        headers = {"Ocp-Apim-Subscription-Key": key}
        binary = {**headers, "Content-Type": "application/octet-stream"}
        clients = [httpx.Client(base_url=url, headers=headers, timeout=30) for url in urls]

        # Six one-page jobs, one to each node in turn, and a four-page TIFF.
        expected: dict[str, list[list[str]]] = {}
        for number, word in enumerate(WORDS[:6], start=21):
            client = clients[number % 3]
            response = client.post(ANALYZE, content=encode(_page(word, number)), headers=binary)
            assert response.status_code == 202, response.text
            expected[urlsplit(response.headers["Operation-Location"]).path] = [
                [f"{word} {number}", "TOTAL 4711 EUR"]
            ]
        frames = [_page(word, 31 + i) for i, word in enumerate(WORDS[4:8])]
        tiff = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])
        response = clients[1].post(ANALYZE, content=tiff, headers=binary)
        assert response.status_code == 202, response.text
        expected[urlsplit(response.headers["Operation-Location"]).path] = [
            [f"{word} {31 + i}", "TOTAL 4711 EUR"] for i, word in enumerate(WORDS[4:8])
        ]

        # Kill node 0 while it holds a page.
        victim = nodes[0]
        deadline = time.monotonic() + 120
        while _held_by(redis_server, victim.pid) == 0:
            assert time.monotonic() < deadline, "node 0 never took a page"
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(10) == -signal.SIGKILL

        # Every job ends succeeded with its text, read from either surviving node.
        for number, (path, pages) in enumerate(expected.items()):
            body = _poll(clients[1 + number % 2], path)
            assert body["status"] == "succeeded", body
            assert _texts(body) == pages
            assert clients[2 - number % 2].get(path).json() == body

        # The survivors' pages were all acknowledged; the victim's were taken over.
        client = redis_server.client()
        assert client.xlen("ocr-emulator:tasks") == 0
        assert client.scard("ocr-emulator:waiting") == 0
        # Every key of every job expires; none holds the text read or the API key.
        needles = [key.encode(), b"TOTAL 4711", *(word.encode() for word in WORDS)]
        job_keys = 0
        for name in client.scan_iter():
            assert not any(needle in name for needle in needles)
            kind = client.type(name)
            values = (
                list(client.hgetall(name).values()) if kind == b"hash" else
                [client.get(name) or b""] if kind == b"string" else []
            )  # fmt: skip
            for value in values:
                assert not any(needle in value for needle in needles), name
            if name.split(b":")[1] in (b"job", b"pages", b"doc"):
                job_keys += 1
                assert client.pttl(name) > 0, name
        assert job_keys == 2 * len(expected)  # metadata and result; documents deleted
        for extra in clients:
            extra.close()
        logs = ""
        for node in nodes[1:]:
            node.send_signal(signal.SIGTERM)
            assert node.wait(30) == 0
            logs += node.stderr.read() if node.stderr else ""
        assert "took over page" in logs  # the page node 0 held was read again elsewhere
        assert key not in logs
        assert "Traceback" not in logs
    finally:
        redis_server.stop()
