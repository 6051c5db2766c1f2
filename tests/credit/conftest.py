"""Fixtures of the credit tests: a session factory on the test database, the default rules,
signing keys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit.rules import CreditRules, load_rules
from service.db.engine import make_engine, make_sessionmaker
from service.keys import SigningKeys


@pytest.fixture(scope="session")
def rules() -> CreditRules:
    return load_rules()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def signing_keys() -> SigningKeys:
    """An ES384 key set of our own, for credentials."""
    key = ECKey.generate_key("P-384", parameters={"alg": "ES384", "use": "sig"}, private=True)
    key.ensure_kid()
    return SigningKeys(KeySet([key]))
