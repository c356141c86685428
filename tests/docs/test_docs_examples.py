"""Every ```python block of README.md and docs/*.md runs, against a real emulator, so that a
documented example that breaks fails the suite.

Each block runs in a fresh namespace, in a scratch folder holding the documents the examples
name (``invoice.pdf``, ``scan.png``, ``tests/data/slip.png``...: the shipped sample page, and
generated slips that read ``ORDER 4711`` and ``Total 42.00``), with what its page has set up
around it:

* ``OCR_ENDPOINT`` and ``OCR_API_KEY`` point at an emulator in this process (real OCR), which
  accepts every key the docs use (``my-key``, ``k``, ``any-key``, ``<key>``);
* the addresses the examples use, ``http://127.0.0.1:5000`` and Azure's placeholder
  ``https://myresource.cognitiveservices.azure.com``, are replaced by that emulator's: the
  same code runs against either;
* the names the prose introduces: ``endpoint``, ``key``, ``client`` (an open ``OcrClient``)
  and ``result`` (the ``ReadResult`` of ``scan.tif``), and the imports of the page's earlier
  blocks;
* a block with top-level ``await`` runs in an event loop; the ``test_*`` functions and
  ``unittest.TestCase`` classes a block defines (docs/testing.md) are then run, with the
  fixtures ``ocr_emulator`` (the emulator's handle) and ``slip`` (a slip's PNG bytes).

A block that cannot run is compiled only, and says why in an HTML comment just before its
fence, which shows up as the skip reason::

    <!-- docs-check: skip a signature, not code to run -->
    ```python
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import io
import re
import shutil
import unittest
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from emulator.app import create_app, rapid_engine_factory
from emulator.http.tls import generate_local_ca
from emulator.server import run_in_thread
from emulator.settings import Settings
from emulator.testing import RunningEmulator
from ocr_sdk import OcrClient, ReadResult

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SAMPLE = ROOT / "examples" / "sample.tif"
#: The keys the docs use; the first is the one ``client`` and the environment use.
DOC_KEYS = ("my-key", "k", "any-key", "<key>")
#: Addresses in the docs that stand for "your emulator" or "your Azure resource".
PLACEHOLDER_ENDPOINTS = ("http://127.0.0.1:5000", "https://myresource.cognitiveservices.azure.com")

FENCE = re.compile(r"^```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!--\s*docs-check:\s*(?P<directive>\S+)\s*(?P<reason>.*?)\s*-->")


@dataclass(frozen=True)
class Block:
    """One ```python block: where it is, its code, and why it is not run (None: it runs)."""

    page: Path
    line: int
    code: str
    skip: str | None
    index: int

    @property
    def name(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"


def python_blocks(page: Path) -> list[Block]:
    """The page's ```python blocks, each with the docs-check marker on the last non-blank line
    before it, if any. Raises ``ValueError`` for a malformed marker or one before no block."""
    text = page.read_text(encoding="utf-8")
    blocks: list[Block] = []
    marked: set[int] = set()  # where the lines that carry a block's marker start
    for fence in FENCE.finditer(text):
        if fence["lang"] not in ("python", "py"):
            continue
        head = text[: fence.start()].rstrip()
        start = head.rfind("\n") + 1
        marker = MARKER.fullmatch(head[start:].strip())
        skip: str | None = None
        if marker:
            marked.add(start)
            if marker["directive"] != "skip" or not marker["reason"]:
                raise ValueError(
                    f"{page.name}: a docs-check marker reads 'docs-check: skip REASON', "
                    f"not {marker[0]!r}"
                )
            skip = marker["reason"]
        line = text.count("\n", 0, fence.start()) + 2  # the block's first line of code
        blocks.append(Block(page, line, fence["body"], skip, len(blocks)))
    for stray in MARKER.finditer(text):
        if text.rfind("\n", 0, stray.start()) + 1 not in marked:
            line = text.count("\n", 0, stray.start()) + 1
            raise ValueError(f"{page.name}:{line}: a docs-check marker before no python block")
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in python_blocks(page)]


# --- the documents and the emulator the examples use --------------------------------------------


def printed(text: str) -> bytes:
    """A PNG of one printed line, as a scanner would produce it."""
    image = Image.new("RGB", (40 + 30 * len(text), 110), "white")
    ImageDraw.Draw(image).text((20, 25), text, fill="black", font=ImageFont.load_default(size=48))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with every document the examples name."""
    folder = tmp_path_factory.mktemp("documents")
    with Image.open(SAMPLE) as sample:
        page = sample.convert("RGB")
    shutil.copy(SAMPLE, folder / "scan.tif")
    page.save(folder / "scan.png")
    page.save(folder / "page.png")
    page.save(folder / "receipt.jpg")
    for name in ("invoice.pdf", "scan.pdf", "big.pdf", "report.pdf"):
        page.save(folder / name, resolution=200.0)
    (folder / "scans").mkdir()
    page.crop((0, 70, page.width, 195)).save(folder / "scans" / "strip-1.png")
    page.crop((0, 180, page.width, 300)).save(folder / "scans" / "strip-2.png")
    (folder / "tests" / "data").mkdir(parents=True)
    (folder / "tests" / "data" / "slip.png").write_bytes(printed("ORDER 4711"))
    (folder / "tests" / "data" / "invoice.png").write_bytes(printed("Total 42.00"))
    (folder / "ca.pem").write_bytes(generate_local_ca()[0])
    return folder


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    """The real emulator (RapidOCR in a worker thread), accepting the docs' keys."""
    settings = Settings(api_keys=DOC_KEYS, port=0, workers=1)
    app = create_app(settings, engine_factory=rapid_engine_factory)
    with run_in_thread(settings, app=app) as endpoint:
        yield RunningEmulator(endpoint, app, settings)


@pytest.fixture(scope="module")
def scan_result(emulator: RunningEmulator, documents: Path) -> ReadResult:
    with OcrClient(emulator.endpoint, emulator.api_key) as client:
        return client.read(documents / "scan.tif")


# --- running a block ----------------------------------------------------------------------------


def earlier_imports(block: Block) -> str:
    """The import statements of the blocks before ``block`` on its page that run."""
    lines: list[str] = []
    for earlier in python_blocks(block.page)[: block.index]:
        if earlier.skip is None:
            tree = ast.parse(earlier.code)
            lines += [
                ast.unparse(node)
                for node in tree.body
                if isinstance(node, ast.Import | ast.ImportFrom)
            ]
    return "\n".join(lines)


def run_block(block: Block, namespace: dict[str, Any]) -> None:
    """Run ``block`` in ``namespace``; a block with top-level ``await`` in an event loop."""
    code = block.code
    for placeholder in PLACEHOLDER_ENDPOINTS:
        code = code.replace(placeholder, namespace["endpoint"])
    exec(compile(earlier_imports(block), block.name, "exec"), namespace)
    compiled = compile(
        code, str(block.page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    # Line numbers in a traceback are the page's own.
    compiled = compiled.replace(co_firstlineno=block.line)
    if compiled.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(compiled, namespace))
    else:
        exec(compiled, namespace)


def run_defined_tests(
    namespace: dict[str, Any], fixtures: dict[str, Any], emulator: RunningEmulator
) -> None:
    """Run the ``test_*`` functions and ``unittest.TestCase`` classes ``namespace`` holds."""
    for name, value in list(namespace.items()):
        if name.startswith("test_") and inspect.isfunction(value):
            arguments = {
                parameter: fixtures[parameter] for parameter in inspect.signature(value).parameters
            }
            try:
                value(**arguments)
            finally:
                emulator.release()
                emulator.reset()
        elif (
            inspect.isclass(value)
            and issubclass(value, unittest.TestCase)
            and value is not unittest.TestCase
        ):
            suite = unittest.defaultTestLoader.loadTestsFromTestCase(value)
            outcome = unittest.TextTestRunner(stream=io.StringIO()).run(suite)
            assert outcome.wasSuccessful(), outcome.failures + outcome.errors


def check(
    block: Block,
    work: Path,
    emulator: RunningEmulator,
    scan_result: ReadResult,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run ``block`` in the folder ``work``, then the tests it defines; raises what fails."""
    monkeypatch.chdir(work)
    monkeypatch.setenv("OCR_ENDPOINT", emulator.endpoint)
    monkeypatch.setenv("OCR_API_KEY", emulator.api_key)
    with OcrClient(emulator.endpoint, emulator.api_key) as client:
        namespace: dict[str, Any] = {
            "__name__": "__docs__",
            "endpoint": emulator.endpoint,
            "key": emulator.api_key,
            "client": client,
            "result": scan_result,
        }
        try:
            run_block(block, namespace)
            fixtures = {"ocr_emulator": emulator, "slip": printed("ORDER 4711")}
            run_defined_tests(namespace, fixtures, emulator)
        finally:
            emulator.release()
            emulator.reset()


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[block.name for block in ALL_BLOCKS])
def test_documented_python_runs(
    block: Block,
    documents: Path,
    emulator: RunningEmulator,
    scan_result: ReadResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compile(block.code, block.name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if block.skip is not None:
        pytest.skip(f"{block.name} compiled, not run: {block.skip}")
    work = shutil.copytree(documents, tmp_path / "work")
    check(block, work, emulator, scan_result, monkeypatch)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("from ocr_sdk import read_everything\n", ImportError),
        ("with OcrClient() as client:\n    client.read('missing.png')\n", FileNotFoundError),
        (
            "def test_reads_the_order(ocr_emulator, slip):\n"
            "    with ocr_emulator.client() as client:\n"
            "        assert '9999' in client.read(slip).text\n",
            AssertionError,
        ),
    ],
    ids=["bad-import", "bad-call", "failing-test-function"],
)
def test_a_broken_example_fails_the_check(
    code: str,
    error: type[Exception],
    documents: Path,
    emulator: RunningEmulator,
    scan_result: ReadResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"```python\nfrom ocr_sdk import OcrClient\n```\n\n```python\n{code}```\n")
    block = python_blocks(page)[1]
    work = shutil.copytree(documents, tmp_path / "work")
    with pytest.raises(error):
        check(block, work, emulator, scan_result, monkeypatch)


def test_the_docs_were_found() -> None:
    assert len(ALL_BLOCKS) >= 20
    assert {block.page.name for block in ALL_BLOCKS} >= {"README.md", "sdk.md", "testing.md"}


@pytest.mark.parametrize(
    ("markdown", "problem"),
    [
        ("<!-- docs-check: skip -->\n```python\nx = 1\n```\n", "skip REASON"),
        ("<!-- docs-check: run fast -->\n```python\nx = 1\n```\n", "skip REASON"),
        ("<!-- docs-check: skip a reason -->\n\ntext\n```python\nx = 1\n```\n", "no python"),
    ],
)
def test_a_malformed_or_stray_marker_is_an_error(
    markdown: str, problem: str, tmp_path: Path
) -> None:
    page = tmp_path / "page.md"
    page.write_text(markdown)
    with pytest.raises(ValueError, match=problem):
        python_blocks(page)


def test_a_marker_gives_its_reason(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- docs-check: skip needs Azure -->\n\n```python\nx = 1\n```\n")
    [block] = python_blocks(page)
    assert (block.skip, block.line, block.code) == ("needs Azure", 4, "x = 1\n")
