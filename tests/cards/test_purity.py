"""The core stays pure: no web, database or network imports in service/cards, and file I/O
only in loader.py (cli.py is the command-line adapter)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CARDS = Path(__file__).resolve().parents[2] / "service" / "cards"
FORBIDDEN = {
    "fastapi",
    "sqlalchemy",
    "httpx",
    "starlette",
    "redis",
    "asyncpg",
    "aiosqlite",
    "requests",
    "urllib3",
    "socket",
    "subprocess",
}
IO_MODULES = {"os", "shutil", "io", "tempfile", "glob"}
IO_CALLS = {
    "open",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "iterdir",
    "glob",
    "rglob",
    "mkdir",
    "unlink",
    "exists",
    "is_file",
    "is_dir",
    "stat",
}
ADAPTERS = {"loader.py", "cli.py"}
MODULES = sorted(path for path in CARDS.glob("*.py"))


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _io_calls(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in IO_CALLS:
                found.add(name)
    return found


def test_modules_found() -> None:
    assert {path.name for path in MODULES} >= {"library.py", "loader.py", "matching.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_no_framework_imports(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not _imports(tree) & FORBIDDEN


@pytest.mark.parametrize(
    "path", [p for p in MODULES if p.name not in ADAPTERS], ids=lambda path: path.name
)
def test_no_io_outside_loader(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not _imports(tree) & IO_MODULES
    assert not _io_calls(tree)
