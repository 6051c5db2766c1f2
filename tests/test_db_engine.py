"""The PostgreSQL engine without pool_pre_ping: connections the server drops are replaced
without turning into failed requests, and a checkout costs no round trip."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db.engine import make_engine, make_sessionmaker, transaction

pytestmark = pytest.mark.postgres


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _backend_pid(engine: AsyncEngine) -> int:
    """One unit of work, as a request runs it: the server process that served it."""
    async with transaction(make_sessionmaker(engine)) as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(url: str, pids: set[int]) -> None:
    """Kill the backends as an operator or a restart would, and wait until they are gone and
    the clients' event loop had the time to read the EOF (as between two requests)."""
    admin = await asyncpg.connect(_plain(url))
    try:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", pids)
        for _ in range(200):
            alive = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", list(pids)
            )
            if alive == 0:
                break
            await asyncio.sleep(0.01)
    finally:
        await admin.close()
    await asyncio.sleep(0.1)


async def _fill_pool(engine: AsyncEngine, size: int) -> set[int]:
    """Open `size` connections at once and return them to the pool: their backends' pids."""
    sessions = make_sessionmaker(engine)
    gate = asyncio.Event()

    async def hold() -> int:
        async with sessions() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await gate.wait()
            return pid

    tasks = [asyncio.create_task(hold()) for _ in range(size)]
    await asyncio.sleep(0.2)
    gate.set()
    return set(await asyncio.gather(*tasks))


async def test_a_connection_killed_in_the_pool_is_replaced_at_checkout(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pool_size=1)
    try:
        first = await _backend_pid(engine)
        await _terminate(postgres_url, {first})
        second = await _backend_pid(engine)  # no error: the dead connection was not used
        assert second != first
    finally:
        await engine.dispose()


async def test_a_server_restart_fails_no_request_that_starts_after_it(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pool_size=4)
    try:
        pids = await _fill_pool(engine, 4)
        assert len(pids) == 4
        await _terminate(postgres_url, pids)
        served = await asyncio.gather(*(_backend_pid(engine) for _ in range(8)))
        assert not set(served) & pids
    finally:
        await engine.dispose()


async def _killed_mid_request(engine: AsyncEngine, url: str, pids: list[int]) -> None:
    """A unit of work whose backend is terminated between two of its statements."""
    async with transaction(make_sessionmaker(engine)) as session:
        pids.append(int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
        await _terminate(url, set(pids))
        await session.execute(text("SELECT 1"))


async def test_a_connection_killed_mid_request_fails_that_request_only(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pool_size=2)
    killed: list[int] = []
    try:
        with pytest.raises(DBAPIError) as failure:
            await _killed_mid_request(engine, postgres_url, killed)
        assert failure.value.connection_invalidated
        served = await asyncio.gather(*(_backend_pid(engine) for _ in range(4)))
        assert not set(served) & set(killed)
    finally:
        await engine.dispose()


async def test_a_checkout_costs_no_ping(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(postgres_url, pool_size=1)
    pings: list[object] = []
    dialect = engine.sync_engine.dialect
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn))
    try:
        for _ in range(3):
            await _backend_pid(engine)
        assert pings == []
    finally:
        await engine.dispose()
