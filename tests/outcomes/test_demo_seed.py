"""The demo's education lead and cohort (`ehr_simulator/outcomes.py`): one valid demo token at
a time, and the synthetic cohort seeded once per database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ehr_simulator.outcomes import _COHORT, seed_demo_outcomes
from service.memory.models import PracticeTally
from service.outcomes.credentials import lead_by_token


async def test_a_new_demo_run_revokes_the_last_token_and_seeds_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    first = await seed_demo_outcomes(sessions, now)
    second = await seed_demo_outcomes(sessions, now)
    async with sessions() as session:
        assert await lead_by_token(session, first) is None
        assert await lead_by_token(session, second) is not None
        rows = await session.scalar(select(func.count()).select_from(PracticeTally))
    assert rows == 2 * len(_COHORT)  # before and after per learner, not twice
