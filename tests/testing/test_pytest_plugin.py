"""The plugin as installed: loaded through the ``pytest11`` entry point in a fresh pytest
process, light at import time, and clear when the emulator extra is missing."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

USER_TEST = """
import io

from PIL import Image, ImageDraw, ImageFont


def page(text):
    image = Image.new("RGB", (420, 100), "white")
    ImageDraw.Draw(image).text((20, 20), text, fill="black", font=ImageFont.load_default(48))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


seen = []


def test_reads_text(ocr_emulator):
    seen.append(ocr_emulator)
    with ocr_emulator.client() as client:
        assert "PYTEST" in client.read(page("PYTEST")).text.upper()


def test_the_same_emulator_serves_the_whole_session(ocr_emulator):
    assert seen == [ocr_emulator]
    assert ocr_emulator.endpoint.startswith("http://127.0.0.1:")
"""


def test_the_entry_point_names_the_plugin_module() -> None:
    [entry] = [e for e in entry_points(group="pytest11") if e.name == "ocr_emulator"]
    assert entry.value == "emulator.pytest_plugin"


def test_a_user_test_file_gets_the_fixture_from_the_entry_point(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    # A subprocess, so the plugin comes from the installed entry point and nothing else.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_reads_text PASSED*"])


def test_the_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="def test_x(ocr_emulator):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:ocr_emulator")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'ocr_emulator' not found*"])


def test_without_the_emulator_extra_pytest_works_and_the_fixture_says_what_to_install(
    pytester: pytest.Pytester,
) -> None:
    # `pip install ocr-sdk` without the extra: none of the emulator's dependencies import.
    # They are blocked before pytest starts, so the plugin itself loads in that state too.
    pytester.makepyfile(
        test_user="def test_x(ocr_emulator):\n    pass\n\ndef test_y():\n    pass\n"
    )
    blocked = ["starlette", "uvicorn", "numpy", "PIL", "rapidocr", "onnxruntime", "cryptography"]
    code = (
        f"import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None\n"
        "import pytest\nsys.exit(pytest.main(['-p', 'no:cacheprovider']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=pytester.path,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # 1: a test errored; not 3 or 4 (pytest broken)
    assert "1 passed, 1 error" in output
    assert "the ocr_emulator fixtures need the emulator extra" in output
    assert "pip install 'ocr-sdk[emulator]'" in output
    assert "Traceback" not in output


def test_the_options_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--ocr-emulator-workers*", "*--ocr-emulator-tier*"])


def test_importing_the_plugin_pulls_in_nothing_heavy() -> None:
    heavy = ["numpy", "PIL", "rapidocr", "onnxruntime", "starlette", "uvicorn", "ocr_sdk"]
    code = (
        "import sys, emulator.pytest_plugin, ocr_sdk.testing\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules and m != 'ocr_sdk'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_shipped_pytest_example_passes() -> None:
    # examples/pytest_example is documentation that CI runs; keep it passing here too.
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/pytest_example"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
