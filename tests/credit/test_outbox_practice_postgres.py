"""Two workers queueing practice statements at once on PostgreSQL: every (learner, measure,
month) is queued exactly once, with both of its phases, and every row is marked published
(the rows of a batch are locked and re-read as unpublished under the lock; the outbox skips
a statement id already there)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit.models import XapiOutboxItem
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.memory.models import PracticeTally
from service.outcomes.statements import publish_closed_months
from tests.outcomes.factories import STATIN, learner, library, tally

pytestmark = pytest.mark.postgres
Sessions = async_sessionmaker[AsyncSession]
LEARNERS = 40
NOW = datetime(2026, 7, 3, tzinfo=UTC)


@pytest.fixture
async def workers(postgres_url: str) -> AsyncIterator[tuple[Sessions, Sessions]]:
    engines = [make_engine(postgres_url), make_engine(postgres_url)]
    yield make_sessionmaker(engines[0]), make_sessionmaker(engines[1])
    for engine in engines:
        await engine.dispose()


async def _drain(sessions: Sessions) -> int:
    total = 0
    while True:
        async with transaction(sessions) as session:
            groups = await publish_closed_months(session, library(), NOW, limit=7)
        total += groups
        if groups == 0:
            return total


async def test_two_workers_queue_each_month_once_with_both_phases(
    workers: tuple[Sessions, Sessions],
) -> None:
    first, second = workers
    async with transaction(first) as session:
        for n in range(LEARNERS):
            for month in ("2026-05", "2026-06"):
                tally(session, learner(n), STATIN, month, "before", 4, 1)
                tally(session, learner(n), STATIN, month, "after", 3, 2)
    await asyncio.wait_for(asyncio.gather(_drain(first), _drain(second)), timeout=60)
    async with first() as session:
        events = [row.event for row in (await session.scalars(select(XapiOutboxItem))).all()]
        unpublished = await session.scalar(
            select(func.count()).where(PracticeTally.published_at.is_(None))
        )
    assert unpublished == 0
    assert len(events) == LEARNERS * 2
    assert len({e["id"] for e in events}) == LEARNERS * 2
    for event in events:
        practice = event["result"]["extensions"]["https://w3id.org/bedside/xapi/practice"]
        assert practice == {
            "before": {"opportunities": 4, "concordant": 1},
            "after": {"opportunities": 3, "concordant": 2},
        }
