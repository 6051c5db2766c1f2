"""Migrations: `HEADS` is what alembic says, `upgrade_if_needed` migrates exactly when the
schema is behind, and a process starting on a current schema never imports alembic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.db.migrate import HEADS, current_heads, upgrade_if_needed


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


def test_serving_a_current_schema_never_imports_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bedside.db'}"
    upgrade_if_needed(url)
    script = (
        "import sys\n"
        "from service.db.migrate import upgrade_if_needed\n"
        f"assert upgrade_if_needed({url!r}) is False\n"
        "import service.asgi\n"
        "print(sorted(name for name in sys.modules if name.startswith(('alembic', 'fpdf'))))\n"
    )
    env = {"BEDSIDE_DATABASE_URL": url, "BEDSIDE_DATA_DIR": str(tmp_path / "data")}
    assert _fresh_interpreter(script, env) == "[]"


def _fresh_interpreter(script: str, env: dict[str, str] | None = None) -> str:
    """What `script` prints in a new Python process (nothing imported yet), BEDSIDE_*
    variables replaced by `env`."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("BEDSIDE_")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**base, **(env or {})},
        timeout=60,
    )
    return done.stdout.strip()


def test_a_current_sqlite_file_is_checked_without_sqlalchemy(tmp_path: Path) -> None:
    # The parent of `bedside serve --workers N` starts its workers sooner without it.
    url = f"sqlite:///{tmp_path / 'bedside.db'}"
    upgrade_if_needed(url)
    script = (
        "import sys\n"
        "from service.db.migrate import upgrade_if_needed\n"
        f"assert upgrade_if_needed({url!r}) is False\n"
        "print('sqlalchemy' in sys.modules)\n"
    )
    assert _fresh_interpreter(script) == "False"


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
