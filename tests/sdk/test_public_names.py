"""The SDK's public surface, pinned: what ``ocr_sdk`` exports, the module paths programs import
writers from (``ocr_sdk.searchable_pdf`` and the rest, now re-exporting ``ocr_sdk.output``),
and that the layers import downwards only (the client and the models never load the writers).

``tests/sdk/test_client.py`` pins the same ``__all__`` and the cost of ``import ocr_sdk``; this
file is the one place that lists every public path, so a move that drops a name fails here.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import ocr_sdk

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ocr_sdk"

#: ``ocr_sdk.__all__`` as it was when the writers moved to ``ocr_sdk.output``, in its order.
ALL = [
    "__version__",
    # clients and pollers
    "OcrClient",
    "AsyncOcrClient",
    "ReadPoller",
    "AsyncReadPoller",
    "RetryPolicy",
    "BatchItem",
    # bearer tokens
    "TokenCredential",
    "AsyncTokenCredential",
    "TOKEN_SCOPE",
    # wire models
    "ReadOperationResult",
    "AnalyzeResult",
    "ReadResult",
    "Page",
    "Line",
    "Word",
    "Appearance",
    "Style",
    "ImageAnalysisResult",
    "ImageReadResult",
    "ImageBlock",
    "ImageLine",
    "ImageWord",
    "ImagePoint",
    "ImageMetadata",
    "OperationStatus",
    "TextUnit",
    "TextStyleName",
    # errors
    "OcrError",
    "AuthenticationError",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitError",
    "ServiceError",
    "OperationFailedError",
    "PollingTimeoutError",
    "OcrConnectionError",
    "InsecureTransportError",
]

#: Public module paths, the names each exports (its ``__all__``), and where the code lives now
#: (``None``: the module itself).
MODULES: dict[str, tuple[list[str], str | None]] = {
    "ocr_sdk.searchable_pdf": (
        ["DEFAULT_DPI", "PDF_EXTRA_HINT", "image_page_size", "write_searchable_pdf"],
        "ocr_sdk.output.searchable_pdf",
    ),
    "ocr_sdk.markdown": (
        [
            "PAGE_BREAK",
            "ParagraphRule",
            "escape",
            "group_paragraphs",
            "markdown_from_paragraphs",
            "to_markdown",
        ],
        "ocr_sdk.output.markdown",
    ),
    "ocr_sdk.page_text": (
        ["Polygon", "TextBox", "TextLine", "TextPage", "TextWord", "text_page", "text_pages"],
        "ocr_sdk.output.text",
    ),
    "ocr_sdk.testing": (["EMULATOR_EXTRA_HINT", "run_emulator"], None),
    "ocr_sdk.cli": (["main", "build_parser", "expand_inputs", "DOCUMENT_SUFFIXES"], None),
}

#: Names imported from those modules outside their ``__all__`` (by the tests, docs or emulator).
EXTRA_NAMES = {"ocr_sdk.cli": ["UsageError", "output_names"]}

#: Never loaded by ``import ocr_sdk``: array and image libraries, the PDF renderer, the emulator.
HEAVY = ["numpy", "PIL", "pypdfium2", "pikepdf", "emulator"]


def _loaded_after(code: str, watched: list[str]) -> list[str]:
    """Which of ``watched`` a fresh interpreter has in ``sys.modules`` after running ``code``."""
    report = f"print(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\n{report}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_all_is_exactly_todays_list() -> None:
    assert ocr_sdk.__all__ == ALL


@pytest.mark.parametrize("name", ALL)
def test_every_name_imports_from_the_package(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from ocr_sdk import {name}", namespace)
    assert namespace[name] is getattr(ocr_sdk, name)


@pytest.mark.parametrize("path", list(MODULES))
def test_old_module_paths_export_their_names(path: str) -> None:
    names, home = MODULES[path]
    module = importlib.import_module(path)
    assert list(module.__all__) == names
    for name in names + EXTRA_NAMES.get(path, []):
        assert getattr(module, name) is not None, f"{path}.{name}"
    if home is not None:
        moved = importlib.import_module(home)
        assert sorted(moved.__all__) == sorted(names)
        for name in names:
            assert getattr(module, name) is getattr(moved, name), f"{path}.{name}"
        assert home in (module.__doc__ or ""), f"{path} should say where its code lives"


def test_importing_the_sdk_loads_no_heavy_library_and_no_writer() -> None:
    watched = [*HEAVY, "ocr_sdk.output"]
    assert _loaded_after("import ocr_sdk", watched) == []
    assert _loaded_after("from ocr_sdk import *", watched) == []


def test_the_client_and_models_do_not_load_the_writers() -> None:
    code = (
        "from ocr_sdk import OcrClient, AsyncOcrClient, ReadResult\n"
        "import ocr_sdk._models, ocr_sdk._base_client, ocr_sdk._polling, ocr_sdk._retry\n"
        "OcrClient('https://example.invalid', 'key').close()"
    )
    assert _loaded_after(code, [*HEAVY, "ocr_sdk.output"]) == []


def test_the_writers_load_no_heavy_library_and_not_the_models() -> None:
    code = "import ocr_sdk.output.searchable_pdf, ocr_sdk.output.markdown, ocr_sdk.output.text"
    assert _loaded_after(code, [*HEAVY, "pydantic", "ocr_sdk._models", "httpx"]) == []
    assert _loaded_after("import ocr_sdk.output.notebook", [*HEAVY, "ocr_sdk._models"]) == []


def _module_level_imports(path: Path) -> set[str]:
    """The ``ocr_sdk`` modules ``path`` imports when it is imported (``TYPE_CHECKING`` blocks
    and imports inside functions left out), as absolute dotted names."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            for alias in node.names:
                found.add(module if node.module else f"{module}.{alias.name}")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "ocr_sdk" or name.startswith("ocr_sdk.")}


def test_imports_point_down_only() -> None:
    """``ocr_sdk/output/`` builds on the core (the models, formats); the core never imports it.
    Only the command line (a consumer of both) and the old writer paths (re-exports) do."""
    above_output = {"cli.py", "searchable_pdf.py", "markdown.py", "page_text.py"}
    for path in sorted(PACKAGE.glob("*.py")):
        imported = _module_level_imports(path)
        if path.name not in above_output:
            assert not {m for m in imported if m.startswith("ocr_sdk.output")}, path.name
    for path in sorted((PACKAGE / "output").glob("*.py")):
        imported = _module_level_imports(path)
        outside = {m for m in imported if not m.startswith("ocr_sdk.output")}
        assert outside <= {"ocr_sdk._formats"}, f"{path.name}: {sorted(outside)}"
