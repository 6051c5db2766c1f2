"""Exactly-once on PostgreSQL under concurrency: 50 identical claims at once give one entry
and 50 equal responses, repeated 100 times; also with the per-learner lock disabled, so that
only the unique constraints and the savepoint re-read stand between us and a duplicate."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from service.credit import ledger
from service.credit import service as credit
from service.credit.models import LedgerEntry
from service.credit.rules import CreditRules
from service.db.engine import async_url, make_sessionmaker, transaction
from service.errors import Unprocessable
from tests.credit.factories import NOW, make_item, make_patch, make_profile, ready_cycle

pytestmark = pytest.mark.postgres
Sessions = async_sessionmaker[AsyncSession]
TASKS = 50
ROUNDS = 100


@pytest.fixture
async def pg_sessions(postgres_url: str) -> AsyncIterator[Sessions]:
    # 20 connections for 50 tasks; no pre-ping: the test measures claims, not the pool
    engine = create_async_engine(async_url(postgres_url), pool_size=20, max_overflow=0)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _claim(
    sessions: Sessions, learner: str, cycle_id: uuid.UUID, key: str, rules: CreditRules
) -> Any:
    try:
        async with transaction(sessions) as session:
            return await credit.claim(
                session, learner, cycle_id, idempotency_key=key, rules=rules, now=NOW
            )
    except Unprocessable as exc:
        return exc


async def _entries(sessions: Sessions, learner: str) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(LedgerEntry).where(LedgerEntry.learner == learner)
        return int((await session.execute(query)).scalar_one())


async def _round(sessions: Sessions, rules: CreditRules, learner: str) -> None:
    cycle_id = await ready_cycle(sessions, learner)
    results = await asyncio.gather(
        *(_claim(sessions, learner, cycle_id, "same-key", rules) for _ in range(TASKS))
    )
    assert all(r == results[0] for r in results)
    assert isinstance(results[0], credit.ClaimResult)
    assert await _entries(sessions, learner) == 1


@pytest.mark.parametrize("locked", [True, False], ids=["learner-lock", "constraints-only"])
async def test_concurrent_identical_claims_make_one_entry(
    pg_sessions: Sessions, rules: CreditRules, locked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not locked:
        monkeypatch.setattr(ledger, "_CLAIM_CONTEXT", ledger.claim_context_query(lock=False))
    rounds = ROUNDS if locked else ROUNDS // 10
    for i in range(rounds):
        await _round(pg_sessions, rules, f"lrn_round_{locked}_{i}")


async def test_same_key_different_cycle_concurrently(
    pg_sessions: Sessions, rules: CreditRules
) -> None:
    learner = "lrn_two_cycles"
    first = await ready_cycle(pg_sessions, learner)
    async with transaction(pg_sessions) as session:
        other = await credit.start_cycle(
            session, learner_key=learner, item=make_item(), card_uuid=None, now=NOW
        )
        await credit.update_cycle(session, learner, other.id, make_patch(), now=NOW)
    results = await asyncio.gather(
        *(_claim(pg_sessions, learner, first if i % 2 else other.id, "k", rules) for i in range(20))
    )
    winners = [r for r in results if isinstance(r, credit.ClaimResult)]
    losers = [r for r in results if isinstance(r, Unprocessable)]
    assert len(winners) + len(losers) == 20
    assert winners
    assert losers
    assert len({w.entry.id for w in winners}) == 1
    assert all(exc.status_code == 422 for exc in losers)
    assert await _entries(pg_sessions, learner) == 1


async def test_cap_holds_under_concurrent_claims_of_one_learner(
    pg_sessions: Sessions, rules: CreditRules
) -> None:
    learner = "lrn_cap_race"
    cycles = [await ready_cycle(pg_sessions, learner) for _ in range(44)]  # 22 credits asked
    async with transaction(pg_sessions) as session:
        await credit.update_profile(session, learner, make_profile(), now=NOW)

    async def one(cycle_id: uuid.UUID) -> object:
        try:
            return await _claim(pg_sessions, learner, cycle_id, f"key-{cycle_id}", rules)
        except credit.ClaimRefused as exc:
            return exc

    results = await asyncio.gather(*(one(c) for c in cycles))
    granted = [r for r in results if isinstance(r, credit.ClaimResult)]
    refused = [r for r in results if isinstance(r, credit.ClaimRefused)]
    assert len(granted) == 40  # 20 credits, the cap, never more
    assert len(refused) == 4
    assert all(r.codes == ["cap-reached"] for r in refused)
