"""The emulator's package map holds: each package imports only the ones below it.

Every ``import`` of every module under ``emulator/`` (at the top, inside a function, or under
``TYPE_CHECKING``) is read with :mod:`ast` and mapped to its unit: a package (``http``,
``jobs``, ...) or a top-level module (``settings``, ``app``, ...). :data:`ALLOWED` says which
units each may import; it is itself checked to have no cycle, so "imports only point down" is
a fact of the code, not a hope. docs/architecture.md draws the same table.
"""

from __future__ import annotations

import ast
import graphlib
import importlib
from pathlib import Path

import pytest

EMULATOR = Path(__file__).resolve().parents[2] / "emulator"

_LEAVES: frozenset[str] = frozenset()
_BELOW_THE_PIPELINE = frozenset(
    {"documents", "pages", "security", "observability", "store", "engine", "structure"}
)

#: Unit → the units it may import (besides itself).
ALLOWED: dict[str, frozenset[str]] = {
    # Leaves: import nothing of the emulator.
    "emulator": _LEAVES,  # the package's own __init__
    "errors": _LEAVES,
    "clock": _LEAVES,
    "faults": _LEAVES,
    "contract": _LEAVES,
    "observability": _LEAVES,
    "engine": frozenset({"contract"}),
    # Documents, and what is built on them.
    "documents": frozenset({"errors"}),
    "security": frozenset({"documents"}),
    "pages": frozenset({"documents", "engine", "contract"}),
    "structure": frozenset({"documents", "pages", "engine"}),
    "store": frozenset({"security", "engine", "errors"}),
    "settings": frozenset({"documents", "security", "faults"}),
    # The job pipeline: everything above, never HTTP.
    "jobs": _BELOW_THE_PIPELINE | {"settings", "errors", "clock", "contract"},
    # The HTTP edge, then the API surfaces on it.
    "http": frozenset({"jobs", "documents", "security", "observability", "store"})
    | {"settings", "faults", "errors", "clock"},
    "api": _BELOW_THE_PIPELINE | {"http", "jobs", "contract", "settings", "faults", "errors"},
    # The composition root and what runs it.
    "app": _BELOW_THE_PIPELINE
    | {"api", "http", "jobs", "contract", "settings", "faults", "errors", "clock"},
    "server": frozenset({"app", "http", "jobs", "engine", "settings", "clock"}),
    "testing": frozenset({"app", "server", "jobs", "engine", "settings", "faults", "clock"}),
    "cli": frozenset({"server", "settings", "observability", "security", "store"}),
    "pytest_plugin": frozenset({"testing"}),
    "__main__": frozenset({"cli"}),
}

#: The rules the map exists for, said once more on their own.
FORBIDDEN: dict[str, frozenset[str]] = {
    "jobs": frozenset({"http", "api", "app", "server", "testing"}),
    "documents": frozenset({"jobs", "http", "api", "security", "pages"}),
    "security": frozenset({"jobs", "http", "api"}),
    "http": frozenset({"api", "app", "server", "testing"}),
    "store": frozenset({"jobs", "http", "api"}),
}

#: Modules over :data:`LONG` lines; each says at its top why it stays one module.
LONG = 600
LONG_MODULES = {
    "documents/formats.py",
    "settings.py",
    "api/document_intelligence/results.py",
}
#: What another change owns the layout of: the engine's pipeline stages and the structure
#: finders (their long modules say why at their tops, not measured here).
NOT_MEASURED = ("engine/", "structure/")


def _module_name(path: Path) -> str:
    parts = ("emulator", *path.relative_to(EMULATOR).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "emulator"


def _imports(path: Path) -> set[str]:
    """The emulator modules (or ``emulator.<name>`` for ``from emulator import name``) that
    ``path`` imports, anywhere in it."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target == "emulator":
                found.update(f"emulator.{alias.name}" for alias in node.names)
            else:
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("emulator.")}


def _sources() -> list[Path]:
    return sorted(EMULATOR.rglob("*.py"))


def test_the_table_has_no_cycle() -> None:
    graphlib.TopologicalSorter(ALLOWED).static_order()  # raises CycleError


def test_the_table_keeps_the_rules() -> None:
    for unit, forbidden in FORBIDDEN.items():
        assert not ALLOWED[unit] & forbidden, (unit, ALLOWED[unit] & forbidden)


def test_every_unit_has_a_place_in_the_table() -> None:
    units = {_unit(_module_name(path)) for path in _sources()}
    assert units <= set(ALLOWED), sorted(units - set(ALLOWED))


@pytest.mark.parametrize("path", _sources(), ids=lambda path: str(path.relative_to(EMULATOR)))
def test_imports_point_down(path: Path) -> None:
    unit = _unit(_module_name(path))
    wrong = sorted(
        name for name in _imports(path) if _unit(name) != unit and _unit(name) not in ALLOWED[unit]
    )
    assert not wrong, f"{unit} may import {sorted(ALLOWED[unit])}, not {wrong}"


def test_every_package_names_its_concern() -> None:
    for init in EMULATOR.rglob("__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text()))
        assert docstring, f"{init.relative_to(EMULATOR)} has no docstring"


def test_no_module_is_long_without_a_reason() -> None:
    for path in _sources():
        name = path.relative_to(EMULATOR).as_posix()
        if name.startswith(NOT_MEASURED):
            continue
        lines = len(path.read_text().splitlines())
        if name in LONG_MODULES:
            docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
            assert "Why one module" in docstring, name
        else:
            assert lines <= LONG, f"{name}: {lines} lines; split it, or say why at its top"


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("emulator.server", "run_in_thread"),
        ("emulator.server", "Endpoint"),
        ("emulator.server", "bind_socket"),
        ("emulator.app", "create_app"),
        ("emulator.settings", "Settings"),
        ("emulator.cli", "main"),
        ("emulator.pytest_plugin", "ocr_emulator"),
        ("emulator.testing", "run_emulator"),
        ("emulator.jobs", "JobControl"),
    ],
)
def test_documented_paths_still_import(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name)
