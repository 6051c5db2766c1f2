"""Fixtures of the credit tests: a session factory on the test database, the default rules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit.rules import CreditRules, load_rules
from service.db.engine import make_engine, make_sessionmaker


@pytest.fixture(scope="session")
def rules() -> CreditRules:
    return load_rules()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()
