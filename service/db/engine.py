"""Engines, sessions and batched writes. SQLite runs in WAL mode; PostgreSQL goes through
asyncpg."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Insert, Table, Update, bindparam, event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection


def async_url(url: str) -> str:
    """Map a configured URL onto the async driver we ship (aiosqlite or asyncpg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# No pool_pre_ping: on asyncpg it costs BEGIN, a ping and ROLLBACK (three round trips) on
# every checkout. Instead, a connection the server closed while pooled is caught for free at
# checkout (below); one it closes mid-use fails that statement, and SQLAlchemy then invalidates
# the whole pool (its disconnect handling), so the other stale connections are replaced on
# their next checkout rather than failing one request each. Recycling bounds a connection's
# age for middleboxes that drop idle connections silently (no FIN, so nothing to notice).
POOL_RECYCLE_SECONDS = 1800


def _drop_if_closed(
    _dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    """Checkout: refuse a connection whose socket the server already closed (a terminated
    backend, a restart). asyncpg notices the EOF in the event loop while the connection sits
    in the pool, so this is a flag read, no round trip; DisconnectionError makes the pool
    discard it and hand out a fresh connection instead."""
    driver = record.driver_connection
    if driver is not None and driver.is_closed():
        raise DisconnectionError("connection closed by the server while it was pooled")


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine for the configured URL; creates the SQLite file's folder if needed."""
    target = async_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        target, pool_size=pool_size, max_overflow=pool_size, pool_recycle=POOL_RECYCLE_SECONDS
    )
    event.listen(engine.sync_engine, "checkout", _drop_if_closed)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work: commits on success, rolls back on error. Services only flush."""
    async with sessions() as session, session.begin():
        yield session


# A write built once with named bind parameters, and the values of one execution.
Write = tuple[Insert | Update, Mapping[str, Any]]


def bound_insert(table: Table, prefix: str) -> Insert:
    """An INSERT of one row of every column, each bound as `prefix + column`: built once,
    so a call compiles nothing and computes no cache key; the prefix keeps the names apart
    when several writes go out as one statement (`write_together`)."""
    return insert(table).values(
        {column: bindparam(prefix + column.key, type_=column.type) for column in table.columns}
    )


def bound_values(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of a `bound_insert(table, prefix)` for a row given by column key."""
    return {prefix + key: value for key, value in values.items()}


@functools.cache
def _as_one_statement(statements: tuple[Insert | Update, ...]) -> Insert | Update:
    """The writes as one PostgreSQL statement, all but the last as data-modifying CTEs
    (PostgreSQL runs those to completion whether or not anything reads them). Cached: the
    statements are module-level constants, so this builds each combination once."""
    *first, last = statements
    return last.add_cte(*(write.cte(f"write_{index}") for index, write in enumerate(first)))


async def write_together(session: AsyncSession, writes: Sequence[Write]) -> None:
    """Run independent writes (other rows or tables, none reading another's effect) in the
    session's transaction: on PostgreSQL as one statement, one round trip instead of one per
    write; SQLite has no data-modifying CTEs, so there one by one. Bind names must differ
    between the writes, since on PostgreSQL they share one statement."""
    if session.get_bind().dialect.name != "postgresql" or len(writes) < 2:
        for statement, values in writes:
            await session.execute(statement, dict(values))
        return
    merged = {key: value for _, values in writes for key, value in values.items()}
    if len(merged) != sum(len(values) for _, values in writes):
        raise ValueError("writes sent together need distinct bind parameter names")
    await session.execute(_as_one_statement(tuple(w for w, _ in writes)), merged)
