"""Shared fixtures: settings in a temporary data dir, a migrated database per test (SQLite by
default; PostgreSQL when BEDSIDE_TEST_DATABASE_URL names one), a running app and its client.

PostgreSQL- and Redis-backed tests skip on a laptop without them, but fail under CI=true.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from service.app import create_app
from service.db.migrate import upgrade
from service.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get(
    "BEDSIDE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BEDSIDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_DATABASE_URL = os.environ.get("BEDSIDE_TEST_DATABASE_URL")  # run the suite on PostgreSQL


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), 1):
            return True
    except OSError:
        return False


def require_service(url: str, what: str) -> None:
    """Skip when a backing service is absent; under CI=true its absence is a failure."""
    if _reachable(url):
        return
    if IN_CI:
        pytest.fail(f"{what} at {url} is required under CI=true but is not reachable")
    pytest.skip(f"{what} not reachable at {url}")


def _sync_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _run_sql(url: str, sql: str) -> None:
    import asyncio

    import asyncpg

    async def _run() -> None:
        conn = await asyncpg.connect(_sync_url(url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_run())


def reset_postgres(url: str) -> None:
    """Drop everything in the public schema and migrate it afresh."""
    _run_sql(url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(url)


def _private_database(url: str) -> str | None:
    """A fresh database of our own on the same server, so that concurrent test runs never
    reset each other's schema; None when we may not create databases."""
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"bedside_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        _run_sql(url, f'CREATE DATABASE "{name}"')
    except asyncpg.PostgresError:
        return None
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _postgres_migrated() -> Iterator[str]:
    require_service(POSTGRES_URL, "PostgreSQL")
    private = _private_database(POSTGRES_URL)
    url = private or POSTGRES_URL
    reset_postgres(url)
    yield url
    if private:
        from sqlalchemy.engine import make_url

        name = make_url(private).database
        _run_sql(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_all(url: str) -> None:
    from service.migrations.schema import Base

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    if tables:
        _run_sql(url, f"TRUNCATE {tables} CASCADE")


@pytest.fixture
def postgres_url(_postgres_migrated: str) -> Iterator[str]:
    """A migrated, empty PostgreSQL database (tables truncated after each test)."""
    yield _postgres_migrated
    truncate_all(_postgres_migrated)


@pytest.fixture
def redis_url() -> Iterator[str]:
    require_service(REDIS_URL, "Redis")
    yield REDIS_URL
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The test's database: a fresh SQLite file, or PostgreSQL when the run targets it."""
    if TEST_DATABASE_URL:
        url: str = request.getfixturevalue("postgres_url")
        return url
    url = f"sqlite:///{tmp_path / 'bedside.db'}"
    upgrade(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_url="https://bedside.test",
        secret_key="test-secret-key-that-is-long-enough-0123456789",  # type: ignore[arg-type]
        admin_token="test-admin-token",  # type: ignore[arg-type]
        cookie_secure=True,
    )


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real application behind an in-process ASGI transport, lifespan included."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
