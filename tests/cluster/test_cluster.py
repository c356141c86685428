"""Emulator nodes that share one real Redis (``--backend redis://``): any node answers for any
operation, pages of one document are read by several nodes, limits hold across the cluster,
retention is Redis's own TTL, and Redis holds no document text and no API key."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ANALYZE, BINARY, KEY, MakeNode
from PIL import Image

from emulator.engine.fake import FakeEngine
from emulator.jobs.redis_queue import GROUP, MAX_DELIVERIES
from emulator.security.crypto import RecordCipher
from emulator.settings import Settings, SettingsError, parse_rate
from emulator.store import KeyMismatchError
from emulator.store.redis import RedisStore
from tests._redis import RedisServer

SECRET = "CONFIDENTIAL-MARKER-c1u5t3r"


def _tiff(pages: int) -> bytes:
    frames = [Image.new("RGB", (300 + 10 * i, 120), "white") for i in range(pages)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def _lines(body: dict[str, Any]) -> list[str]:
    return [page["lines"][0]["text"] for page in body["analyzeResult"]["readResults"]]


async def test_any_node_answers_for_a_job_another_node_accepted(
    make_node: MakeNode, png: Any
) -> None:
    first, second = await make_node(), await make_node()
    location = await first.submit(png(321, 123))
    body = await second.wait(location)
    assert body["status"] == "succeeded"
    assert _lines(body) == ["PAGE 321x123"]
    assert (await first.client.get(location)).json() == body
    # Deleted on one node, gone on every node.
    assert (await second.client.delete(location)).status_code == 204
    assert (await first.client.get(location)).status_code == 404


async def test_pages_of_one_document_are_read_on_several_nodes(make_node: MakeNode) -> None:
    engines = [FakeEngine(delay=0.15) for _ in range(2)]
    nodes = [await make_node(engine=engine) for engine in engines]
    location = await nodes[0].submit(_tiff(6))
    body = await nodes[1].wait(location)
    assert body["status"] == "succeeded"
    # Every page once, in the document's order, whichever node read it.
    assert _lines(body) == [f"PAGE {300 + 10 * i}x120" for i in range(6)]
    assert [page["page"] for page in body["analyzeResult"]["readResults"]] == [1, 2, 3, 4, 5, 6]
    assert all(engine.calls >= 1 for engine in engines), [e.calls for e in engines]
    assert sum(engine.calls for engine in engines) == 6


async def test_every_key_of_a_finished_job_expires_within_the_retention(
    make_node: MakeNode, redis_server: RedisServer, png: Any
) -> None:
    node = await make_node(retention=timedelta(minutes=10))
    location = await node.submit(png())
    await node.wait(location)
    job_id = location.rsplit("/", 1)[-1]
    client = redis_server.client()
    keys = [k.decode() for k in client.scan_iter(match=f"*{job_id}*")]
    # The document is gone (deleted once read); metadata and result remain, both expiring.
    assert sorted(k.split(":")[1] for k in keys) == ["job", "pages"]
    for key in keys:
        ttl = client.pttl(key)
        assert 0 < ttl <= 10 * 60 * 1000, (key, ttl)


async def test_the_sweeper_deletes_by_the_emulators_clock_too(
    make_node: MakeNode, redis_server: RedisServer, png: Any
) -> None:
    node = await make_node(retention=timedelta(minutes=10))
    location = await node.submit(png())
    await node.wait(location)
    job = node.service.store.get(location.rsplit("/", 1)[-1])
    assert job is not None and job.expires_at is not None
    assert len(node.service.store.delete_expired(job.expires_at)) == 1
    assert (await node.client.get(location)).status_code == 404
    assert not list(redis_server.client().scan_iter(match=f"*{job.id}*"))


async def test_a_job_whose_keys_redis_dropped_is_reported_once_by_one_sweep(
    make_node: MakeNode, redis_server: RedisServer, png: Any
) -> None:
    first = await make_node(retention=timedelta(minutes=10))
    second = await make_node(retention=timedelta(minutes=10))
    location = await first.submit(png())
    await first.wait(location)
    store = first.service.store
    job = store.get(location.rsplit("/", 1)[-1])
    assert job is not None and job.expires_at is not None
    # As Redis's TTL does at expires_at: the record goes, its id stays in the expiry index.
    redis_server.client().delete(store.key("job", job.id))  # type: ignore[attr-defined]
    assert [(gone.job_id, gone.job) for gone in store.delete_expired(job.expires_at)] == [
        (job.id, None)
    ]
    assert second.service.store.delete_expired(job.expires_at) == []


async def test_redis_holds_no_document_text_and_no_api_key(
    make_node: MakeNode, redis_server: RedisServer, png: Any
) -> None:
    node = await make_node(retention=timedelta(hours=1))
    queued = await make_node()  # a second node, to have a job in every state
    done = await node.submit(png(321, 123, marker=SECRET))
    await node.wait(done)
    # The cluster's workers share one queue: either node may start the job, so both hold it.
    for member in (node, queued):
        member.service.control.hold("running")
    waiting = await queued.submit(png(222, 111, marker=SECRET))
    await _held_by_either(node, queued)
    client = redis_server.client()
    dump = b""
    for key in client.scan_iter():
        kind = client.type(key).decode()
        dump += key
        if kind == "string":
            dump += client.get(key) or b""
        elif kind == "hash":
            for field, value in client.hgetall(key).items():
                dump += field + value
        elif kind == "set":
            dump += b"".join(client.smembers(key))
        elif kind == "zset":
            dump += b"".join(client.zrange(key, 0, -1))
        elif kind == "stream":
            for _id, fields in client.xrange(key):
                dump += b"".join(k + v for k, v in fields.items())
    assert dump  # there is something to look at
    for needle in (SECRET, KEY, "PAGE 321x123", "readResults", "IHDR"):
        assert needle.encode() not in dump, needle
    for member in (node, queued):
        member.service.control.release()
    assert (await node.wait(waiting))["status"] == "succeeded"


async def _held_by_either(*nodes: Any) -> None:
    """Wait (half a minute at most) until one of ``nodes`` holds a job, whichever node's
    worker took it. Each node's control is a thread's condition, and there is no waiting on
    two of them at once from the event loop: it is polled."""
    async with asyncio.timeout(30):
        while not any(member.service.control.held_by(None) for member in nodes):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_the_rate_limit_holds_across_nodes(make_node: MakeNode, png: Any) -> None:
    limited = [await make_node(rate_limit=parse_rate("3/min")) for _ in range(2)]
    answers = []
    for node in (limited[0], limited[1], limited[0], limited[1]):
        response = await node.client.post(ANALYZE, content=png(), headers=BINARY)
        answers.append(response.status_code)
    assert answers == [202, 202, 202, 429]
    refused = await limited[0].client.post(ANALYZE, content=png(), headers=BINARY)
    assert refused.status_code == 429
    assert set(refused.json()) == {"error"}
    assert int(refused.headers["Retry-After"]) >= 1


async def test_max_queue_counts_the_clusters_waiting_jobs(make_node: MakeNode, png: Any) -> None:
    nodes = [await make_node(max_queue=2) for _ in range(2)]
    for node in nodes:
        node.service.control.hold("notStarted")
    accepted = [await nodes[0].submit(png()), await nodes[1].submit(png())]
    # Each node's worker holds one job at notStarted: the cluster has two jobs waiting.
    for node in nodes:
        node.service.control.wait_held(1)
    refused = await nodes[1].client.post(ANALYZE, content=png(), headers=BINARY)
    assert refused.status_code == 429, refused.text
    assert set(refused.json()) == {"error"}
    for node in nodes:
        node.service.control.release()
    for location in accepted:
        assert (await nodes[0].wait(location))["status"] == "succeeded"
    assert (await nodes[0].client.post(ANALYZE, content=png(), headers=BINARY)).status_code == 202


async def test_a_page_abandoned_by_its_worker_is_taken_over(
    make_node: MakeNode, redis_server: RedisServer, png: Any
) -> None:
    # One node stores a job but its "worker" (a consumer that never answers) takes the page
    # and dies; a second node, with a one-second claim timeout, takes it over.
    accepting = await make_node(workers=1)
    accepting.service.queue.stop()  # this node only accepts; it reads nothing
    location = await accepting.submit(png(250, 90))
    client = redis_server.client()
    stream = "ocr-emulator:tasks"
    taken = client.xreadgroup(GROUP, "dead-node-0", {stream: ">"}, count=1)
    assert taken, "the page was queued"
    reader = await make_node(claim_timeout=timedelta(seconds=1))
    body = await reader.wait(location, patience=30)
    assert body["status"] == "succeeded"
    assert _lines(body) == ["PAGE 250x90"]
    assert client.xlen(stream) == 0  # acknowledged and removed


async def test_a_page_that_kills_every_worker_fails_its_job(
    make_node: MakeNode, redis_server: RedisServer, png: Any
) -> None:
    accepting = await make_node(workers=1)
    accepting.service.queue.stop()
    location = await accepting.submit(png())
    client = redis_server.client()
    stream = "ocr-emulator:tasks"
    entry = client.xreadgroup(GROUP, "dead-0", {stream: ">"}, count=1)[0][1][0][0]
    for index in range(MAX_DELIVERIES):  # taken over and abandoned again, each time
        client.xclaim(stream, GROUP, f"dead-{index + 1}", 0, [entry])
    reader = await make_node(claim_timeout=timedelta(milliseconds=200) * 5)
    body = await reader.wait(location, patience=30)
    assert body["status"] == "failed"
    assert reader.engine.calls == 0


def test_a_node_with_another_key_refuses_to_start(
    redis_server: RedisServer, key_file: Path, tmp_path: Path
) -> None:
    first = RedisStore(RecordCipher(key_file.read_bytes()), redis_server.url)
    first.check()
    other = RedisStore(RecordCipher.generate(), redis_server.url)
    with pytest.raises(KeyMismatchError, match="same key file"):
        other.check()
    RedisStore(RecordCipher(key_file.read_bytes()), redis_server.url).check()  # same key: fine


def test_a_redis_backend_needs_the_clusters_key_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="--encryption-key-file"):
        Settings(api_keys=("k",), backend="redis://127.0.0.1:6379/0")
    with pytest.raises(SettingsError, match="--backend must be"):
        Settings(api_keys=("k",), backend="http://x", encryption_key_file=tmp_path / "k")
    with pytest.raises(SettingsError, match="--data-dir"):
        Settings(
            api_keys=("k",),
            backend="redis://h:1/0",
            encryption_key_file=tmp_path / "k",
            data_dir=tmp_path,
        )


async def test_redis_down_gives_503_and_the_node_serves_again_when_it_is_back(
    make_node: MakeNode, redis_server: RedisServer, png: Any
) -> None:
    node = await make_node()
    location = await node.submit(png(200, 60))
    await node.wait(location)
    redis_server.stop()
    try:
        for method, path in (("POST", ANALYZE), ("GET", location), ("GET", "/ready")):
            response = await node.client.request(method, path, content=png(), headers=BINARY)
            assert response.status_code == 503, (method, path, response.text)
            body = response.json()
            assert body["code"] == "ServiceUnavailable"
            assert int(response.headers["Retry-After"]) >= 1
        status = (await node.client.get("/status")).json()
        assert "unavailable" in (status["error"] or "")
    finally:
        redis_server.start()
    # Same port, empty Redis (no persistence): the node takes work again without a restart.
    for _ in range(100):
        if (await node.client.get("/ready")).status_code == 200:
            break
        await asyncio.sleep(0.05)
    fresh = await node.submit(png(210, 70))
    assert _lines(await node.wait(fresh)) == ["PAGE 210x70"]


async def test_accepted_jobs_survive_a_redis_restart_with_persistence(
    make_node: MakeNode, tmp_path: Path, png: Any
) -> None:
    server = RedisServer(tmp_path / "aof", persistent=True)
    server.start()
    try:
        node = await make_node(backend=server.url)
        node.service.control.hold("notStarted")
        locations = [await node.submit(png(width, 50)) for width in (201, 202, 203)]
        node.service.control.wait_held(1)
        server.restart(down_for=0.5)
        node.service.control.release()
        bodies = []
        for location in locations:
            for _ in range(600):
                response = await node.client.get(location)
                if response.status_code == 200 and response.json()["status"] in (
                    "succeeded",
                    "failed",
                ):
                    break
                await asyncio.sleep(0.05)
            bodies.append(response.json())
        assert [b["status"] for b in bodies] == ["succeeded"] * 3
        assert [_lines(b) for b in bodies] == [["PAGE 201x50"], ["PAGE 202x50"], ["PAGE 203x50"]]
    finally:
        server.stop()


async def test_an_unknown_operation_is_404_on_every_node(make_node: MakeNode) -> None:
    node = await make_node()
    response = await node.client.get(f"/vision/v3.2/read/analyzeResults/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


async def test_sync_analyze_on_one_node_is_answered_when_another_reads_it(
    make_node: MakeNode, png: Any
) -> None:
    accepting = await make_node()
    accepting.service.queue.stop()  # reads nothing: the page must be read elsewhere
    reader = await make_node()
    response = await accepting.client.post(
        "/vision/v3.2/read/syncAnalyze", content=png(333, 99), headers=BINARY
    )
    assert response.status_code == 200, response.text
    assert _lines(response.json()) == ["PAGE 333x99"]
    assert reader.engine.calls == 1
    assert accepting.service.store.unfinished() == []


def test_the_command_refuses_a_key_that_is_not_the_clusters(
    redis_server: RedisServer, key_file: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    RedisStore(RecordCipher(key_file.read_bytes()), redis_server.url).check()
    other = tmp_path / "other.key"
    other.write_bytes(bytes(range(32)))
    command = [sys.executable, "-m", "emulator", "--port", "0", "--api-key", "k"]
    command += ["--backend", redis_server.url, "--encryption-key-file", str(other)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "differs from the key the other nodes" in done.stderr
    assert "Traceback" not in done.stderr
    missing = subprocess.run(command[:-2], capture_output=True, text=True, timeout=120, check=False)
    assert missing.returncode == 2
    assert "--encryption-key-file" in missing.stderr


async def test_document_intelligence_with_a_searchable_pdf_across_nodes(
    make_node: MakeNode, redis_server: RedisServer, png: Any
) -> None:
    accepting = await make_node(retention=timedelta(minutes=5))
    accepting.service.queue.stop()
    await make_node(retention=timedelta(minutes=5))  # the reader (the same --retention)
    response = await accepting.client.post(
        "/documentintelligence/documentModels/prebuilt-read:analyze",
        params={"api-version": "2024-11-30", "output": "pdf"},
        content=png(321, 123),
        headers=BINARY,
    )
    assert response.status_code == 202, response.text
    location = response.headers["Operation-Location"]
    body = await accepting.wait(location)
    assert body["analyzeResult"]["content"] == "PAGE 321x123"
    pdf = await accepting.client.get(location.replace("?", "/pdf?"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    job_id = location.split("/analyzeResults/")[1].split("?")[0]
    client = redis_server.client()
    files = f"ocr-emulator:files:{job_id}".encode()
    assert b"%PDF" not in b"".join(client.hgetall(files).values())  # sealed
    assert 0 < client.pttl(files) <= 5 * 60 * 1000


async def test_the_billing_meter_is_the_clusters_and_holds_no_key(
    make_node: MakeNode, redis_server: RedisServer, multipage_tiff: Any
) -> None:
    first, second = await make_node(), await make_node()
    await first.wait(await first.submit(multipage_tiff(3)))
    await second.wait(await second.submit(multipage_tiff(2)))
    for node in (first, second):
        usage = (await node.client.get("/_emulator/usage")).json()
        assert usage["keys"][0]["transactions"] == 5
        assert usage["keys"][0]["operations"] == 2
    meter = redis_server.client().hgetall("ocr-emulator:usage")
    assert meter and all(KEY.encode() not in field for field in meter)
    first.service.clear()
    assert second.service.usage()["total"] == {"transactions": 0, "operations": 0}


async def test_a_callers_reset_clears_only_its_own_jobs_meter_and_window_across_the_cluster(
    make_node: MakeNode, png: Any
) -> None:
    other_key = {"Ocp-Apim-Subscription-Key": "another-cluster-key-987"}
    keys = (KEY, other_key["Ocp-Apim-Subscription-Key"])
    first = await make_node(api_keys=keys, rate_limit=parse_rate("5/min"))
    second = await make_node(api_keys=keys, rate_limit=parse_rate("5/min"))
    mine_at = await first.submit(png(60, 60))
    mine = await first.wait(mine_at)
    theirs_at = (
        await second.client.post(ANALYZE, content=png(60, 60), headers={**BINARY, **other_key})
    ).headers["Operation-Location"]
    for _ in range(4):  # uses up the first key's window: 5 analyze calls a minute
        await first.submit(png(60, 60))
    assert (
        await first.client.post(ANALYZE, content=png(60, 60), headers=BINARY)
    ).status_code == 429
    # Reset through the other node: the cluster's store, meter and windows are shared.
    answer = await second.client.post("/_emulator/reset")
    assert answer.status_code == 200 and answer.json()["deleted"] == 5
    assert mine["status"] == "succeeded"
    assert (await first.client.get(mine_at)).status_code == 404
    # The other key's job is kept, and billed once it has been read (a page is billed when
    # it is done, so wait for it: on a loaded machine it may still be running here).
    theirs = await second.wait(theirs_at, headers=other_key)
    assert theirs["status"] == "succeeded"
    usage = (await first.client.get("/_emulator/usage", headers=other_key)).json()
    billed = {k["caller"]: k["transactions"] for k in usage["keys"]}
    assert billed[False] == 0 and billed[True] == 1
    # The window was emptied too: the first key may submit again.
    await first.submit(png(60, 60))
