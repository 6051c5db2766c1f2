"""Migrations: `HEADS` is what alembic says, `upgrade_if_needed` migrates exactly when the
schema is behind, and a process starting on a current schema never imports alembic."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.db.migrate import HEADS, current_heads, upgrade_if_needed
from tests.interpreter import fresh_interpreter


def test_heads_constant_is_alembics_head() -> None:
    assert current_heads() == set(HEADS)


def test_upgrade_if_needed_migrates_only_a_schema_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bedside.db'}"
    assert upgrade_if_needed(url) is True  # empty: migrated
    assert upgrade_if_needed(url) is False  # current: nothing to do


def test_a_database_at_an_older_revision_is_migrated(tmp_path: Path) -> None:
    from alembic import command

    from service.db.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'bedside.db'}"
    command.upgrade(alembic_config(url), "0002_issued_cards")
    assert upgrade_if_needed(url) is True
    assert upgrade_if_needed(url) is False


@pytest.mark.postgres
def test_postgres_at_head_is_current(postgres_url: str) -> None:
    assert upgrade_if_needed(postgres_url) is False


def _after_a_current_check(tmp_path: Path, then: str) -> str:
    """What `then` prints in a fresh interpreter after `upgrade_if_needed` found a migrated
    SQLite file current."""
    url = f"sqlite:///{tmp_path / 'bedside.db'}"
    upgrade_if_needed(url)
    script = (
        "import sys\n"
        "from service.db.migrate import upgrade_if_needed\n"
        f"assert upgrade_if_needed({url!r}) is False\n"
        f"{then}\n"
    )
    env = {"BEDSIDE_DATABASE_URL": url, "BEDSIDE_DATA_DIR": str(tmp_path / "data")}
    return fresh_interpreter(script, env)


def test_serving_a_current_schema_never_imports_alembic(tmp_path: Path) -> None:
    then = (
        "import service.asgi\n"
        "print(sorted(name for name in sys.modules if name.startswith(('alembic', 'fpdf'))))"
    )
    assert _after_a_current_check(tmp_path, then) == "[]"


def test_a_current_sqlite_file_is_checked_without_sqlalchemy(tmp_path: Path) -> None:
    # The parent of `bedside serve --workers N` starts its workers sooner without it.
    assert _after_a_current_check(tmp_path, "print('sqlalchemy' in sys.modules)") == "False"


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///{db}?mode=ro", "postgresql://u@h/db"],
)
def test_other_urls_are_left_to_sqlalchemy(url: str, tmp_path: Path) -> None:
    from service.db.migrate import _sqlite_file_is_current

    db = tmp_path / "bedside.db"
    upgrade_if_needed(f"sqlite:///{db}")
    assert _sqlite_file_is_current(f"sqlite:///{db}") is True
    assert _sqlite_file_is_current(url.format(db=db)) is False
