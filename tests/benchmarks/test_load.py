"""``benchmarks/load.py`` runs and holds at a small scale (fake engine), so the script that
produces the figures in docs/reliability.md keeps working."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("load_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_small_load_is_held_and_refusals_carry_retry_after(
    capsys: pytest.CaptureFixture[str],
) -> None:
    load = _load()
    status = load.main(
        ["--submissions", "40", "--clients", "10", "--max-queue", "2", "--workers", "1"]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "HELD" in out
    assert "documents finished: 40/40" in out
    assert "429 without Retry-After: 0" in out


def test_the_verdict_catches_a_lost_or_duplicated_job() -> None:
    load = _load()
    held = load.Counts(
        documents=3,
        finished=3,
        submit_statuses={202: 3, 429: 2},
        operation_ids=3,
        distinct_operation_ids=3,
        store_statuses={"succeeded": 3},
    )
    assert load.verdict(held, 3) == []
    duplicated = load.Counts(**{**held.__dict__, "submit_statuses": {202: 4}})
    assert load.verdict(duplicated, 3)
    lost = load.Counts(**{**held.__dict__, "store_statuses": {"succeeded": 2}})
    assert load.verdict(lost, 3)
    stuck = load.Counts(**{**held.__dict__, "unfinished_after": 1})
    assert load.verdict(stuck, 3)
    bare_429 = load.Counts(**{**held.__dict__, "refused_without_retry_after": 1})
    assert load.verdict(bare_429, 3)
