"""``pytest -n N``: the ``ocr_emulator`` fixture gives every xdist worker one shared emulator.

Each test here runs a real pytest-xdist session in a subprocess: real worker processes, one
real emulator process, the real engine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.testing.shared import _alive  # a zombie (ended, not yet reaped) is not alive

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]

# Run by every worker (--dist each). The workers meet at barriers made of files in the
# directory they share, so each step happens while the others' jobs are held.
WORKER_TEST = r"""
import json
import os
import sys
import time
from pathlib import Path

import pytest

from ocr_sdk import NotFoundError

BLANK = Path(__file__).with_name("blank.png").read_bytes()
HEAVY = ("numpy", "PIL", "cv2", "starlette", "uvicorn", "onnxruntime", "rapidocr")


def arrive(shared, step):
    (shared / f"{step}-{os.environ['PYTEST_XDIST_WORKER']}").touch()


def wait_for(shared, step, count):
    deadline = time.monotonic() + 120
    while len(list(shared.glob(f"{step}-*"))) < count:
        assert time.monotonic() < deadline, f"the other workers never reached {step}"
        time.sleep(0.05)


def test_each_worker_keeps_its_own_jobs(ocr_emulator, tmp_path_factory):
    shared = tmp_path_factory.getbasetemp().parent
    me = os.environ["PYTEST_XDIST_WORKER"]
    workers = int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    state = json.loads((shared / "ocr-emulator-http.json").read_text())
    (shared / f"seen-{me}.json").write_text(
        json.dumps({"pid": state["pid"], "endpoint": ocr_emulator.endpoint,
                    "heavy": [m for m in HEAVY if m in sys.modules]})
    )
    with ocr_emulator.client() as client:
        ocr_emulator.hold_jobs()
        mine = client.begin_read(BLANK)
        arrive(shared, "held")
        wait_for(shared, "held", workers)
        if me == "gw0":
            ocr_emulator.reset()
            with pytest.raises(NotFoundError):
                client.get_read_result(mine.operation_id)
            assert client.read(BLANK).operation.status == "succeeded"
            arrive(shared, "reset")
        else:
            wait_for(shared, "reset", 1)
            # gw0's reset left this worker's job alone: still there, still held.
            assert client.get_read_result(mine.operation_id).status == "notStarted"
            assert ocr_emulator.wait_for_held(1, timeout=10) == [mine.operation_id]
            ocr_emulator.release()
            assert mine.result().operation.status == "succeeded"
        billed = [k for k in ocr_emulator.usage()["keys"] if k["caller"]]
        assert [k["transactions"] for k in billed] == [1]
"""


def test_three_workers_share_one_emulator_and_keep_their_jobs_apart(
    pytester: pytest.Pytester, png: Callable[..., bytes]
) -> None:
    pytester.makepyfile(test_workers=WORKER_TEST)
    (pytester.path / "blank.png").write_bytes(png(120, 60))
    base = pytester.path / "base"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "3", "--dist", "each", f"--basetemp={base}"
    )
    result.assert_outcomes(passed=3)
    seen = [json.loads(path.read_text()) for path in sorted(base.glob("seen-*.json"))]
    assert len(seen) == 3
    assert len({s["pid"] for s in seen}) == 1 and len({s["endpoint"] for s in seen}) == 1
    # The engine and the server live in the emulator's process alone: a worker imports
    # none of what they need.
    assert [s["heavy"] for s in seen] == [[], [], []]
    # The last worker to finish stopped it.
    assert not _alive(seen[0]["pid"])
    assert not (base / "ocr-emulator-http.json").exists()


def test_the_fixture_suite_passes_under_xdist_against_the_shared_emulators(
    tmp_path: Path,
) -> None:
    # The fixture's own tests (plain and TLS variants, holds, failures, resets after every
    # test) as a user's suite would run them with -n 2.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            f"--basetemp={tmp_path / 'base'}",
            "-q",
            "tests/testing/test_emulator_fixture.py",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert " passed" in output and "failed" not in output
    logs = sorted((tmp_path / "base").glob("ocr-emulator-*.log"))
    assert [p.name for p in logs] == ["ocr-emulator-http.log", "ocr-emulator-https.log"]


def test_per_worker_gives_each_worker_its_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_own="""
import os

def test_own(ocr_emulator, tmp_path_factory):
    shared = tmp_path_factory.getbasetemp().parent
    (shared / f"kind-{os.environ['PYTEST_XDIST_WORKER']}").write_text(type(ocr_emulator).__name__)
    assert ocr_emulator.service is not None
"""
    )
    base = pytester.path / "base"
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--dist",
        "each",
        "--ocr-emulator-per-worker",
        f"--basetemp={base}",
    )
    result.assert_outcomes(passed=2)
    assert {p.read_text() for p in base.glob("kind-*")} == {"RunningEmulator"}
