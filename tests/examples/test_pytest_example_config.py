"""``pytest examples/pytest_example``, as the docs tell a user to run it from a checkout, is
configured by the example's own ``pytest.ini`` and starts without a single warning, also
where only the emulator extra is installed (no pytest-asyncio, no pytest-timeout, whose
options the repository's own ``pyproject.toml`` sets)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The dev extra's plugins that the emulator extra does not bring.
DEV_ONLY = ["-p", "no:asyncio", "-p", "no:timeout", "-p", "no:pytest_httpx"]


@pytest.mark.parametrize("plugins", [[], DEV_ONLY], ids=["dev-install", "emulator-extra-only"])
def test_the_pytest_example_collects_without_warnings(plugins: list[str]) -> None:
    pytest_command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error"]
    done = subprocess.run(
        [*pytest_command, *plugins, "--collect-only", "-q", "examples/pytest_example"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Unknown config option" not in output
    assert "warning" not in output.lower()
    assert "4 tests collected" in output
