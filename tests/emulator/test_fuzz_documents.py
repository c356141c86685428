"""Fuzzing with the real evaluation documents (``../shared/eval/images``): thousands of
seeded mutations (bit flips, overwritten and deleted spans, truncation, splices of two
documents, hostile integers over length fields) go through the submit and validation path
in process, a sample of the accepted ones through a worker, and a few through the real OCR
engine. Zero 5xx, zero hangs, every error body valid against the contract.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _harness import ANALYZE, BINARY, HEADERS, KEY, check_answer

from emulator.app import create_app
from emulator.engine.fake import FakeEngine
from emulator.jobs import ManualJobQueue
from emulator.server import run_in_thread
from emulator.settings import Settings
from emulator.testing import RunningEmulator

EVAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "eval" / "images"
SEED = 20261128
CASES_PER_DOCUMENT = 160  # 13 documents: about 2000 cases
RUN_EVERY = 25  # of the accepted cases, this share also goes through a worker
#: Not a benchmark: a request that takes this long is hanging.
HANG_SECONDS = 20.0

pytestmark = pytest.mark.skipif(not EVAL.is_dir(), reason="the evaluation corpus is not here")


def _documents() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(EVAL.iterdir()) if path.is_file()}


def _flip_bits(rng: random.Random, data: bytes, _other: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        position = rng.randrange(len(out))
        out[position] ^= 1 << rng.randrange(8)
    return bytes(out)


def _overwrite(rng: random.Random, data: bytes, _other: bytes) -> bytes:
    start = rng.randrange(len(data))
    length = rng.randint(1, 256)
    return data[:start] + rng.randbytes(length) + data[start + length :]


def _delete(rng: random.Random, data: bytes, _other: bytes) -> bytes:
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randint(1, 4096) :]


def _duplicate(rng: random.Random, data: bytes, _other: bytes) -> bytes:
    start = rng.randrange(len(data))
    span = data[start : start + rng.randint(1, 4096)]
    return data[:start] + span * rng.randint(2, 8) + data[start:]


def _truncate(rng: random.Random, data: bytes, _other: bytes) -> bytes:
    return data[: rng.randrange(len(data))]


def _splice(rng: random.Random, data: bytes, other: bytes) -> bytes:
    return data[: rng.randrange(len(data))] + other[rng.randrange(len(other)) :]


def _hostile_integer(rng: random.Random, data: bytes, _other: bytes) -> bytes:
    # Length, offset and count fields are 2 or 4 bytes in every one of these formats.
    value = rng.choice(
        [b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00", b"\x80\x00", b"\xff\xff"]
    )
    start = rng.randrange(len(data))
    return data[:start] + value + data[start + len(value) :]


def _zero_span(rng: random.Random, data: bytes, _other: bytes) -> bytes:
    start = rng.randrange(len(data))
    length = rng.randint(1, 65536)
    return data[:start] + bytes(min(length, len(data) - start)) + data[start + length :]


MUTATORS: list[Callable[[random.Random, bytes, bytes], bytes]] = [
    _flip_bits,
    _overwrite,
    _delete,
    _duplicate,
    _truncate,
    _splice,
    _hostile_integer,
    _zero_span,
]


def mutations(count_per_document: int, seed: int = SEED) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of reproducible mutations of every evaluation document."""
    rng = random.Random(seed)
    documents = _documents()
    names = list(documents)
    for name in names:
        data = documents[name]
        for index in range(count_per_document):
            mutate = MUTATORS[index % len(MUTATORS)]
            other = documents[rng.choice(names)]
            yield f"{name}#{index}:{mutate.__name__}", mutate(rng, data, other)


@pytest.fixture(scope="module")
def fuzz_app() -> Iterator[tuple[httpx.Client, ManualJobQueue]]:
    """The emulator on a real socket (a fake engine, jobs run when the test says)."""
    config = Settings(api_keys=(KEY,), port=0, workers=1, max_queue=100_000)
    engine = FakeEngine()
    queue = ManualJobQueue(engine, capacity=100_000)
    app = create_app(config, engine_factory=lambda _threads: engine, job_queue=queue)
    with (
        run_in_thread(config, app=app) as endpoint,
        httpx.Client(base_url=endpoint.url, headers=HEADERS, timeout=HANG_SECONDS) as client,
    ):
        yield client, queue


@pytest.mark.timeout(240)
def test_mutated_real_documents_never_cause_a_server_error_or_a_hang(
    fuzz_app: tuple[httpx.Client, ManualJobQueue], validate: Any
) -> None:
    client, queue = fuzz_app
    tally = {"cases": 0, "accepted": 0, "refused": 0, "run": 0, "succeeded": 0, "failed": 0}
    codes: dict[str, int] = {}
    for name, data in mutations(CASES_PER_DOCUMENT):
        tally["cases"] += 1
        started = time.monotonic()
        # Only the first page: a mutated page count must not turn one case into hundreds.
        response = client.post(ANALYZE, params={"pages": "1"}, content=data, headers=BINARY)
        assert time.monotonic() - started < HANG_SECONDS, name
        try:
            check_answer(response, validate)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None
        if response.status_code != 202:
            tally["refused"] += 1
            code = response.json()["code"]
            codes[code] = codes.get(code, 0) + 1
            continue
        tally["accepted"] += 1
        location = response.headers["Operation-Location"]
        if tally["accepted"] % RUN_EVERY == 0:
            # Through a worker: decoding every byte of the page must fail the job, not
            # the worker.
            started = time.monotonic()
            queue.run_all()
            assert time.monotonic() - started < HANG_SECONDS, name
            status = client.get(location).json()["status"]
            assert status in {"succeeded", "failed"}, name
            tally["run"] += 1
            tally[status] += 1
        else:
            # Not run: delete it so thousands of cases do not pile up in memory.
            assert client.delete(location).status_code == 204
            queue.run_all()  # drops the deleted job at once
    assert tally["cases"] >= 2000
    # The mutations reach both sides: not all refused at the header, not all accepted.
    assert tally["accepted"] > 100 and tally["refused"] > 100, tally
    assert tally["run"] > 5, tally
    print(f"fuzz: {tally} codes={codes}")  # shown with -s; docs/reliability.md quotes it
    assert client.get("/ready").status_code == 200


def test_mutations_are_reproducible() -> None:
    first = [data for _, data in zip(range(50), mutations(5), strict=False)]
    again = [data for _, data in zip(range(50), mutations(5), strict=False)]
    assert first == again


@pytest.mark.timeout(300)
def test_a_sample_of_mutations_through_the_real_engine(
    ocr_emulator: RunningEmulator, validate: Any
) -> None:
    """A few accepted mutations read by RapidOCR on a real socket: each ends succeeded or
    failed, and the emulator still serves afterwards."""
    wanted = 2
    accepted: list[tuple[str, str]] = []
    with httpx.Client(
        base_url=ocr_emulator.endpoint,
        headers={"Ocp-Apim-Subscription-Key": ocr_emulator.api_key},
        timeout=60,
    ) as client:
        # Flipped bits and overwritten spans keep most headers intact, so some get accepted.
        for name, data in mutations(4, seed=SEED + 1):
            if name.split(":")[1] not in {"_flip_bits", "_overwrite"}:
                continue
            response = client.post(ANALYZE, params={"pages": "1"}, content=data, headers=BINARY)
            check_answer(response, validate)
            if response.status_code == 202:
                accepted.append((name, response.headers["Operation-Location"]))
            if len(accepted) == wanted:
                break
        assert len(accepted) == wanted
        for name, location in accepted:
            deadline = time.monotonic() + 120
            while True:
                body = client.get(location).json()
                if body["status"] in {"succeeded", "failed"}:
                    break
                assert time.monotonic() < deadline, name
                time.sleep(0.1)
            if body["status"] == "succeeded":
                validate("ReadOperationResult", body)
        assert client.get("/ready").status_code == 200
    ocr_emulator.reset()
