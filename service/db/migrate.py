"""Run alembic migrations programmatically (on `bedside serve` start and in tests).

alembic (with mako and pygments) costs a process ~11 MB and 0.2 s to import: it is imported
only when there is something to migrate, never by a worker that starts on a current schema.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest revision(s): tests/test_migrations.py keeps this equal to alembic's heads.
HEADS = frozenset({"0003_credit"})


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
    try:
        rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        return set()
    return {str(row[0]) for row in rows}


async def _is_current(database_url: str) -> bool:
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
    if asyncio.run(_is_current(database_url)):
        return False
    upgrade(database_url)
    return True
