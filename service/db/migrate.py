"""Run alembic migrations programmatically (on `bedside serve` start and in tests).

alembic (with mako and pygments) costs a process ~11 MB and 0.2 s to import: it is imported
only when there is something to migrate, never by a worker that starts on a current schema.
SQLAlchemy (~0.3 s) is imported only when the revision cannot be read without it: the
`bedside serve` parent that finds its SQLite file current starts the workers without it.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.ext.asyncio import AsyncConnection

# The scripts and the schema they are checked against live above the domain packages
# (service/migrations); to this runner they are files, not imports.
MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
# The newest revision(s): tests/test_migrations.py keeps this equal to alembic's heads.
HEADS = frozenset({"0007_outcomes_adaptive"})


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the schema to the newest revision. Safe to call on every start."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def current_heads() -> set[str]:
    """The newest revision(s), as alembic reads them from the migration scripts."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return set(script.get_heads())


async def applied_revisions(connection: AsyncConnection) -> set[str]:
    """The revisions recorded in alembic_version (none when the table is missing)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        return set()
    return {str(row[0]) for row in rows}


# A plain SQLite file URL: no query, no escapes, not in memory (anything else: SQLAlchemy).
_SQLITE_FILE = re.compile(r"sqlite(?:\+aiosqlite|\+pysqlite)?:///(?P<path>[^?#%]+)")


def _sqlite_file_is_current(database_url: str) -> bool:
    """True when `database_url` names an existing SQLite file whose alembic_version is at
    `HEADS`, read with the standard library, read-only. False when it is not or when unsure
    (another URL form, an unreadable file): the caller then asks through SQLAlchemy."""
    found = _SQLITE_FILE.fullmatch(database_url)
    if found is None or found["path"] == ":memory:":
        return False
    path = Path(found["path"])
    if not path.is_file():
        return False
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except (sqlite3.Error, ValueError):
        return False
    return {str(row[0]) for row in rows} == HEADS


async def _is_current(database_url: str) -> bool:
    from sqlalchemy.exc import DBAPIError

    from service.db.engine import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await applied_revisions(connection) == HEADS
    except (DBAPIError, OSError):
        return False  # unreachable or not created yet: let alembic say what is wrong
    finally:
        await engine.dispose()


def upgrade_if_needed(database_url: str) -> bool:
    """Migrate unless the database is already at `HEADS` (checked without alembic). True when
    a migration ran."""
    if _sqlite_file_is_current(database_url) or asyncio.run(_is_current(database_url)):
        return False
    upgrade(database_url)
    return True
