"""The renderers under service/credit/exports stay pure: no database, no session, no module
that reads the ledger. `service/credit/records.py` loads what they render."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

EXPORTS = Path(__file__).resolve().parents[2] / "service" / "credit" / "exports"
MODULES = sorted(EXPORTS.glob("*.py"))
DRIVERS = {"sqlalchemy", "asyncpg", "aiosqlite", "psycopg", "psycopg2", "alembic"}
# what a renderer may import from this project: the rules, the API schemas, our public keys'
# type, and other renderers (anything else of `service` reads, writes or opens a session)
ALLOWED = {"service.credit.rules", "service.credit.schemas", "service.keys"}


def _imports(tree: ast.AST) -> set[str]:
    """Every module a file imports, anywhere in it (`from a import b` names `a` and `a.b`)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "renderers import absolutely"
            assert node.module is not None
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _allowed(name: str) -> bool:
    """Whether a renderer may import `name` (a module, or a name from one)."""
    if not (name == "service" or name.startswith("service.")):
        return True  # the standard library and third-party renderers (fpdf2, joserfc)
    if name in {"service", "service.credit", "service.credit.exports"}:
        return True  # the packages themselves: what is taken from them is checked apart
    return name.startswith("service.credit.exports.") or any(
        name == module or name.startswith(f"{module}.") for module in ALLOWED
    )


def test_every_renderer_is_checked() -> None:
    assert {path.stem for path in MODULES} >= {"certificates", "credentials", "pars", "xapi"}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_renderer_imports_no_database_or_ledger_reader(path: Path) -> None:
    imported = _imports(ast.parse(path.read_text(encoding="utf-8")))
    assert not {name for name in imported if name.split(".")[0] in DRIVERS}
    stray = sorted(name for name in imported if not _allowed(name))
    assert not stray, f"{path.name} imports {stray}"


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select",
        "import sqlalchemy.orm",
        "from sqlalchemy.ext.asyncio import AsyncSession",
        "from service.credit import ledger",
        "from service.credit.models import LedgerEntry",
        "from service.credit.records import list_entries",
        "from service.credit.transcript import totals",
        "from service.db.base import utcnow",
        "def render():\n    from service.credit import outbox",
    ],
)
def test_the_check_catches_a_reader_import(source: str) -> None:
    imported = _imports(ast.parse(source))
    assert any(name.split(".")[0] in DRIVERS or not _allowed(name) for name in imported)
