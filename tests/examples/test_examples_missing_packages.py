"""An example run without a package it needs says, in one line, what to install, and exits
with status 1: no ``ModuleNotFoundError`` traceback.

The package is hidden from the script by a stand-in of the same name, earlier on its
``PYTHONPATH``, that fails to import as a missing one does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EMULATOR_HINT = "needs the emulator extra: pip install 'ocr-sdk[emulator]'"


def run_without(package: str, script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<script>`` as if ``package`` were not installed."""
    stand_in = tmp_path / "hidden" / package
    stand_in.mkdir(parents=True)
    message = f"No module named {package!r}"
    (stand_in / "__init__.py").write_text(
        f"raise ModuleNotFoundError({message!r}, name={package!r})\n"
    )
    environment = {k: v for k, v in os.environ.items() if k not in ("OCR_ENDPOINT", "OCR_API_KEY")}
    environment["PYTHONPATH"] = str(tmp_path / "hidden")
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=EXAMPLES.parent,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], script: str, hint: str) -> None:
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    assert lines[0].startswith(f"{script}: ")
    assert hint in lines[0]


def test_the_official_client_example_names_microsofts_package(tmp_path: Path) -> None:
    done = run_without("azure", "azure_client.py", tmp_path)
    install = "pip install azure-cognitiveservices-vision-computervision==0.9.1"
    assert_one_line(done, "azure_client.py", f"needs Microsoft's client: {install}")


@pytest.mark.parametrize(
    "script", ["quickstart.py", "async_read.py", "resume.py", "batch.py", "azure_client.py"]
)
def test_without_the_emulator_extra_an_example_says_to_install_it(
    script: str, tmp_path: Path
) -> None:
    done = run_without("uvicorn", script, tmp_path)
    assert_one_line(done, script, EMULATOR_HINT)


def test_the_batch_example_needs_pillow_only_to_cut_its_sample(tmp_path: Path) -> None:
    done = run_without("PIL", "batch.py", tmp_path)
    assert_one_line(done, "batch.py", "needs Pillow: pip install pillow")
